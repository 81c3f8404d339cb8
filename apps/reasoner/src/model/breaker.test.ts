import { describe, expect, it } from 'vitest';
import { withCircuitBreaker } from './breaker.js';
import { ProviderUnavailableError, type ModelProvider, type ModelResponse } from './provider.js';

const ok: ModelResponse = { text: 'ok', usage: { inputTokens: 1, outputTokens: 1 } };
const request = { system: 's', messages: [], tool: { name: 't', description: 'd', inputSchema: {} } };

function scripted(outcomes: Array<'ok' | 'down' | 'bad' | { retryAfterMs: number }>): ModelProvider & { calls: number } {
  const p = {
    name: 'fake:model',
    calls: 0,
    async complete() {
      const next = outcomes[p.calls++] ?? 'ok';
      if (next === 'ok') return ok;
      if (next === 'bad') throw new Error('401 invalid key');
      throw new ProviderUnavailableError('fake:model', 'HTTP 529', next === 'down' ? undefined : next.retryAfterMs);
    },
  };
  return p;
}

describe('the circuit breaker', () => {
  it('opens after N consecutive unavailable answers, skips the provider, then lets one trial through', async () => {
    let t = 0;
    const inner = scripted(['down', 'down', 'down', 'ok']);
    const b = withCircuitBreaker(inner, { failureThreshold: 3, cooldownMs: 1000, now: () => t });
    for (let i = 0; i < 3; i++) await expect(b.complete(request)).rejects.toThrow(/HTTP 529/);
    expect(b.state).toBe('open');
    await expect(b.complete(request)).rejects.toThrow(/circuit open after 3 failures/);
    expect(inner.calls).toBe(3);
    t = 1000;
    expect(b.state).toBe('half-open');
    await expect(b.complete(request)).resolves.toEqual(ok);
    expect(b.state).toBe('closed');
  });

  it('a failed trial opens it again for a full cooldown; a success in between resets the count', async () => {
    let t = 0;
    const inner = scripted(['down', 'ok', 'down', 'down', 'down']);
    const b = withCircuitBreaker(inner, { failureThreshold: 2, cooldownMs: 500, now: () => t });
    await expect(b.complete(request)).rejects.toThrow();
    await b.complete(request);
    await expect(b.complete(request)).rejects.toThrow();
    expect(b.state).toBe('closed');
    await expect(b.complete(request)).rejects.toThrow();
    expect(b.state).toBe('open');
    t = 500;
    await expect(b.complete(request)).rejects.toThrow(/HTTP 529/);
    expect(b.state).toBe('open');
    t = 999;
    expect(b.state).toBe('open');
    t = 1000;
    expect(b.state).toBe('half-open');
  });

  it("honours a provider's retry-after when it is longer than the cooldown", async () => {
    let t = 0;
    const b = withCircuitBreaker(scripted([{ retryAfterMs: 60_000 }]), { failureThreshold: 1, cooldownMs: 1000, now: () => t });
    await expect(b.complete(request)).rejects.toThrow();
    t = 59_999;
    expect(b.state).toBe('open');
    t = 60_000;
    expect(b.state).toBe('half-open');
  });

  it('does not count configuration errors as the provider being down', async () => {
    const inner = scripted(['bad', 'bad', 'bad']);
    const b = withCircuitBreaker(inner, { failureThreshold: 1, cooldownMs: 1000 });
    for (let i = 0; i < 3; i++) await expect(b.complete(request)).rejects.toThrow(/401/);
    expect(b.state).toBe('closed');
    expect(inner.calls).toBe(3);
  });
});
