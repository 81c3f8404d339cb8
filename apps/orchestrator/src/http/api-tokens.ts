import { createHash, timingSafeEqual } from 'node:crypto';

/** `ana:tok1,ben:tok2` → token → person. A malformed pair is a configuration error. */
export function parseApiTokens(pairs: readonly string[]): Map<string, string> {
  const tokens = new Map<string, string>();
  for (const pair of pairs) {
    const at = pair.indexOf(':');
    const name = pair.slice(0, at).trim();
    const token = pair.slice(at + 1).trim();
    if (at <= 0 || token.length < 16)
      throw new Error('each ORCHESTRATOR_API_TOKENS entry must be name:token with a token of at least 16 characters');
    tokens.set(token, name);
  }
  return tokens;
}

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/** The person whose token this `Authorization: Bearer` header carries, compared in constant time. */
export function matchToken(header: string | undefined, tokens: ReadonlyMap<string, string>): string | undefined {
  const presented = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
  if (presented === undefined) return undefined;
  const mine = digest(presented);
  let who: string | undefined;
  for (const [token, name] of tokens) if (timingSafeEqual(mine, digest(token))) who = name;
  return who;
}
