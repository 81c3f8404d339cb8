import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * `ana:tok1,ben:tok2` → token → person. A malformed pair is a configuration error naming the
 * variable (`label` is what the left side is called in its message: `name`, `person`).
 */
export function parseApiTokens(pairs: readonly string[], variable: string, label = 'name'): Map<string, string> {
  const tokens = new Map<string, string>();
  for (const pair of pairs) {
    const at = pair.indexOf(':');
    const who = pair.slice(0, at).trim();
    const token = pair.slice(at + 1).trim();
    if (at <= 0 || token.length < 16)
      throw new Error(`each ${variable} entry must be ${label}:token with a token of at least 16 characters`);
    tokens.set(token, who);
  }
  return tokens;
}

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * The person whose token this `Authorization: Bearer` header carries. Every configured token is
 * compared, each in constant time over equal-length digests, so the answer's timing says nothing
 * about which token was nearly right.
 */
export function matchToken(header: string | undefined, tokens: ReadonlyMap<string, string>): string | undefined {
  const presented = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
  if (presented === undefined) return undefined;
  const mine = digest(presented);
  let who: string | undefined;
  for (const [token, person] of tokens) if (timingSafeEqual(mine, digest(token))) who = person;
  return who;
}
