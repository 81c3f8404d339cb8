import type { HttpResult } from '../domain/http-assessment.js';
import { messageOf } from './postgres.js';

/** One GET of the health URL: status and latency; no redirects followed, the body discarded. */
export async function checkHealth(url: string, timeoutMs: number): Promise<HttpResult> {
  const started = performance.now();
  try {
    const response = await fetch(url, { method: 'GET', redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return { url, status: response.status, latencyMs: performance.now() - started };
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    const reason = timedOut
      ? `timed out after ${timeoutMs}ms`
      : messageOf(error instanceof Error && error.cause instanceof Error ? error.cause : error);
    return { url, latencyMs: performance.now() - started, error: reason };
  }
}
