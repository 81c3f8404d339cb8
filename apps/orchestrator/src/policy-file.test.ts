import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isVigilError } from '@vigil/errors';
import { loadPolicy, policyFrom, PolicyFile } from './policy-file.js';

describe('the policy file', () => {
  it('without one, a human approves every fix, with the DESIGN.md thresholds', async () => {
    const policy = await loadPolicy(undefined);
    expect(policy.autonomyFor('payment-api', 'HighLatency', 'postgres.terminate_backend')).toBe('approve');
    expect(policy.thresholdsFor('payment-api')).toMatchObject({ autoMinConfidence: 0.9, autoMinMatch: 0.85, autoRisks: ['LOW'] });
  });

  it('the strictest level that applies wins: an action cannot lift its alert', () => {
    const policy = policyFrom(
      PolicyFile.parse({
        defaults: { autonomy: 'auto' },
        services: {
          'payment-api': {
            autonomy: { default: 'approve', alerts: { HighLatency: 'shadow' }, actions: { 'postgres.terminate_backend': 'auto' } },
          },
        },
      }),
    );
    expect(policy.autonomyFor('payment-api', 'HighLatency', 'postgres.terminate_backend')).toBe('shadow');
    expect(policy.autonomyFor('payment-api', 'DiskFull', 'postgres.terminate_backend')).toBe('auto');
    expect(policy.autonomyFor('payment-api', 'DiskFull', 'redis.unlink_keys')).toBe('approve');
    expect(policy.autonomyFor('checkout', undefined, 'x.y')).toBe('auto');
  });

  it('per-service thresholds override the defaults', () => {
    const policy = policyFrom(
      PolicyFile.parse({ defaults: { thresholds: { maxAutoPerHour: 5 } }, services: { api: { thresholds: { autoMinConfidence: 0.97 } } } }),
    );
    expect(policy.thresholdsFor('api')).toMatchObject({ autoMinConfidence: 0.97, maxAutoPerHour: 5 });
    expect(policy.thresholdsFor('other')).toMatchObject({ autoMinConfidence: 0.9, maxAutoPerHour: 5 });
  });

  it('a bad file stops start-up naming the field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-policy-'));
    const file = join(dir, 'policy.yaml');
    await writeFile(file, 'services:\n  api:\n    autonomy:\n      default: yolo\n');
    const error = await loadPolicy(file).catch((e: unknown) => e);
    expect(isVigilError(error, 'CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toContain('services.api.autonomy.default');
    await expect(loadPolicy(join(dir, 'missing.yaml'))).rejects.toThrow(/cannot be read/);
  });
});
