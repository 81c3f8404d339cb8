import ssh2 from 'ssh2';
import { expect, it } from 'vitest';
import { oneTimeKeyPair } from './one-time-key.js';

it('every one-time key pair can be read back (ssh2 alone gets about 1 in 250 wrong)', () => {
  for (let i = 0; i < 1500; i += 1) {
    const keys = oneTimeKeyPair(`vigil-run-${i}`);
    expect(ssh2.utils.parseKey(keys.private)).not.toBeInstanceOf(Error);
    expect(keys.public).toMatch(/^ssh-ed25519 /);
  }
});
