import { CircuitOpenError, ProviderUnavailableError, type ModelProvider } from './provider.js';

export interface BreakerOptions {
  /** Consecutive unavailable answers that open the circuit. */
  failureThreshold: number;
  /** How long an open circuit skips the provider before one trial call. */
  cooldownMs: number;
  now?: () => number;
}

/**
 * Skips a provider that keeps failing, so every incident does not wait out the same timeout:
 * closed → (N consecutive unavailable answers) → open for the cooldown, or the provider's own
 * retry-after if longer → one trial call (half-open) → closed on success, open again on failure.
 * Only unavailability counts; a configuration error is not the provider being down.
 */
export function withCircuitBreaker(provider: ModelProvider, options: BreakerOptions): ModelProvider & { readonly state: string } {
  const now = options.now ?? Date.now;
  let failures = 0;
  let openUntil = 0;
  let trialInFlight = false;
  const state = (): 'closed' | 'open' | 'half-open' =>
    failures < options.failureThreshold ? 'closed' : now() < openUntil ? 'open' : 'half-open';
  const refusal = (): string | undefined => {
    const current = state();
    return current === 'open' || (current === 'half-open' && trialInFlight) ? `circuit open after ${failures} failures` : undefined;
  };
  return {
    name: provider.name,
    get state() {
      return state();
    },
    refusal,
    async complete(request, signal) {
      const refused = refusal();
      if (refused) throw new CircuitOpenError(provider.name, refused);
      const current = state();
      const trial = current === 'half-open';
      if (trial) trialInFlight = true;
      try {
        const answer = await provider.complete(request, signal);
        failures = 0;
        return answer;
      } catch (err) {
        if (err instanceof ProviderUnavailableError) {
          failures = trial ? Math.max(failures, options.failureThreshold) : failures + 1;
          if (failures >= options.failureThreshold) openUntil = now() + Math.max(options.cooldownMs, err.retryAfterMs ?? 0);
        }
        throw err;
      } finally {
        if (trial) trialInFlight = false;
      }
    },
  };
}
