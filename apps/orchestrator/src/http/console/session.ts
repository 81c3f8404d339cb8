import { createHmac, timingSafeEqual } from 'node:crypto';
import { matchToken } from '@vigil/platform';
import type { FastifyRequest } from 'fastify';

export const COOKIE = 'vigil_console';

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) {
      try {
        return decodeURIComponent(part.slice(at + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

export interface Credential {
  presented: boolean;
  who?: string;
  /** The token itself: forwarded to the approver as the person's own, never shown or logged. */
  token?: string;
}

/** The person behind a request: a Bearer header as for the API, or the console's cookie. */
export function credentialOf(request: FastifyRequest, tokens: ReadonlyMap<string, string>): Credential {
  const header = request.headers.authorization;
  const token = header !== undefined ? /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim() : cookieValue(request.headers.cookie, COOKIE);
  if (header === undefined && token === undefined) return { presented: false };
  const who = token === undefined ? undefined : matchToken(`Bearer ${token}`, tokens);
  return who === undefined || token === undefined ? { presented: true } : { presented: true, who, token };
}

export function sessionCookie(request: FastifyRequest, value: string, maxAgeSeconds?: number): string {
  return [
    `${COOKIE}=${encodeURIComponent(value)}`,
    'Path=/console',
    'HttpOnly',
    'SameSite=Strict',
    ...(request.protocol === 'https' ? ['Secure'] : []),
    ...(maxAgeSeconds !== undefined ? [`Max-Age=${maxAgeSeconds}`] : []),
  ].join('; ');
}

/**
 * The token every console form carries (CSRF), bound to the session: an HMAC of a fixed label
 * under the person's own token. Another site can neither read it from the page nor compute it,
 * and it needs no server-side state, so every copy of the orchestrator accepts it.
 */
export function formTokenFor(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('vigil-console-form/1').digest('base64url');
}

export function isFormTokenValid(sessionToken: string, presented: unknown): boolean {
  if (typeof presented !== 'string') return false;
  const expected = Buffer.from(formTokenFor(sessionToken));
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * A state-changing request must come from the console's own pages: when the browser says where
 * it came from (Origin, Sec-Fetch-Site), that must be this host. Behind a proxy, the proxy must
 * pass the Host header through unchanged.
 */
export function isSameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return false;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}
