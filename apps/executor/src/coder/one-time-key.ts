import ssh2 from 'ssh2';
import { VigilError } from '@vigil/errors';

/**
 * A one-time ed25519 key pair that ssh2 can read back. ssh2's generator now and then (about 1 in
 * 250 here) writes an OpenSSH private key its own parser rejects as malformed; such a pair is
 * made again rather than failing the run.
 */
export function oneTimeKeyPair(comment: string): { private: string; public: string } {
  for (let attempt = 0; attempt < 10; attempt += 1) {
    const keys = ssh2.utils.generateKeyPairSync('ed25519', { comment });
    if (!(ssh2.utils.parseKey(keys.private) instanceof Error)) return keys;
  }
  throw new VigilError('CODER_KEY_FAILED', 'could not make a readable one-time SSH key pair', { retryable: true });
}
