import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'vigil.js');

function redactVia(args: string[], input: string): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, 'redact', ...args], { env: { PATH: process.env.PATH ?? '' } });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout }));
    child.stdin.end(input);
  });
}

describe('vigil redact', () => {
  it('replaces personal data and secrets on stdin, keeping the facts', async () => {
    const result = await redactVia([], 'user ana@example.com, dsn postgres://app:pw123@db:5432/x, pid 4242, from 10.0.0.5');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('user [EMAIL_1], dsn postgres://app:[PASSWORD_1]@db:5432/x, pid 4242, from 10.0.0.5');
  });

  it('--json prints the text and each entity with its type and span; --ips redacts addresses', async () => {
    const result = await redactVia(['--json', '--ips'], 'from 10.0.0.5 by ana@example.com');
    expect(JSON.parse(result.stdout)).toEqual({
      text: 'from [IP_ADDRESS_1] by [EMAIL_1]',
      entities: [
        { type: 'IP_ADDRESS', start: 5, end: 19 },
        { type: 'EMAIL', start: 23, end: 32 },
      ],
    });
  });
});
