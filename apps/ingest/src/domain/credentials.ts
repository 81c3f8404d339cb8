import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Compares a presented credential with the configured ones in constant time. Both sides are
 * hashed first, so neither the content nor the length of a secret leaks through timing.
 */
export function matchesAny(presented: string, accepted: readonly string[]): boolean {
  const digest = createHash('sha256').update(presented).digest();
  let match = false;
  for (const candidate of accepted) {
    // No early exit: every configured value is compared.
    match = timingSafeEqual(digest, createHash('sha256').update(candidate).digest()) || match;
  }
  return match;
}

export type SignatureVerdict = 'valid' | 'missing' | 'malformed' | 'mismatch';

/**
 * PagerDuty v3 webhook signatures: `X-PagerDuty-Signature` holds one or more comma-separated
 * `v1=<hex HMAC-SHA256 of the raw body>` values (several during secret rotation); any match
 * with any configured secret is valid. Entries of other versions are ignored.
 */
export function verifyPagerDutySignature(rawBody: Buffer, header: string | undefined, secrets: readonly string[]): SignatureVerdict {
  if (header === undefined || header.trim() === '') return 'missing';
  // Entries that are not a well-formed v1 signature are skipped: one bad entry beside a good
  // one (rotation tooling, a proxy) must not void the good one.
  const signatures = header
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.startsWith('v1='))
    .map((part) => part.slice(3))
    .filter((s) => /^[0-9a-f]{64}$/i.test(s));
  if (signatures.length === 0) return 'malformed';
  let valid = false;
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(rawBody).digest();
    for (const signature of signatures) {
      valid = timingSafeEqual(expected, Buffer.from(signature.toLowerCase(), 'hex')) || valid;
    }
  }
  return valid ? 'valid' : 'mismatch';
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
