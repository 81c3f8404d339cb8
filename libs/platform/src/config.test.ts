import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isVigilError } from '@vigil/errors';
import { describeConfig, env, loadConfig, secret } from './config.js';

const shape = {
  ORCHESTRATOR_PORT: env.port(7402),
  DEADLINE_MS: env.durationMs(30_000),
  DRY_RUN: env.flag(false),
  ROUTING_KEYS: env.list(),
  NATS_URL: env.url(['nats']).optional(),
  SLACK_SIGNING_SECRET: secret(z.string().min(32).optional()),
};

function configError(source: Record<string, string>): Error & { details?: { variables: string[] } } {
  try {
    loadConfig(shape, source);
  } catch (error) {
    expect(isVigilError(error, 'CONFIG_INVALID')).toBe(true);
    return error as Error & { details?: { variables: string[] } };
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('loadConfig', () => {
  it('applies defaults and parses each kind of value', () => {
    expect(loadConfig(shape, {})).toEqual({
      ORCHESTRATOR_PORT: 7402,
      DEADLINE_MS: 30_000,
      DRY_RUN: false,
      ROUTING_KEYS: [],
    });
    expect(
      loadConfig(shape, { ORCHESTRATOR_PORT: '9000', DRY_RUN: 'yes', ROUTING_KEYS: 'a, b,,c', NATS_URL: 'nats://h:4222,nats://g:4222' }),
    ).toMatchObject({ ORCHESTRATOR_PORT: 9000, DRY_RUN: true, ROUTING_KEYS: ['a', 'b', 'c'], NATS_URL: 'nats://h:4222,nats://g:4222' });
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig(shape, { ORCHESTRATOR_PORT: '' }).ORCHESTRATOR_PORT).toBe(7402);
  });

  it('reports every bad variable at once, by name and value', () => {
    const error = configError({ ORCHESTRATOR_PORT: 'eighty', DEADLINE_MS: '-5', NATS_URL: 'http://x' });
    expect(error.message).toContain('ORCHESTRATOR_PORT');
    expect(error.message).toContain('"eighty"');
    expect(error.message).toContain('DEADLINE_MS');
    expect(error.message).toContain('NATS_URL');
    expect(error.message).toContain('a nats URL');
    expect(error.details?.variables.sort()).toEqual(['DEADLINE_MS', 'NATS_URL', 'ORCHESTRATOR_PORT']);
  });

  it('never echoes a secret, even a bad one', () => {
    const error = configError({ SLACK_SIGNING_SECRET: 'too-short-but-still-secret' });
    expect(error.message).toContain('SLACK_SIGNING_SECRET');
    expect(error.message).toContain('value hidden');
    expect(error.message).not.toContain('too-short-but-still-secret');
  });

  it('describes the configuration with secrets replaced', () => {
    const config = loadConfig(shape, { SLACK_SIGNING_SECRET: 's'.repeat(40) });
    const described = describeConfig(shape, config);
    expect(described.SLACK_SIGNING_SECRET).toBe('[secret]');
    expect(described.ORCHESTRATOR_PORT).toBe(7402);
    expect(JSON.stringify(described)).not.toContain('s'.repeat(40));
  });
});
