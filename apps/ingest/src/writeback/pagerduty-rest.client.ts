import { VigilError } from '@vigil/errors';

export interface PagerDutyRestOptions {
  /** Base URL, e.g. `https://api.pagerduty.com` (a loopback fake in tests). */
  apiUrl: string;
  /** REST API key. Sent only in the Authorization header; never logged, never in an error. */
  apiKey: string;
  /** Email of a valid PagerDuty user: required by PagerDuty on notes and incident updates. */
  fromEmail: string;
  /** Per-request timeout. Default 10 s. */
  timeoutMs?: number;
}

/** The two REST API v2 calls write-back needs. */
export interface PagerDutyRest {
  addNote(pdIncidentId: string, content: string): Promise<void>;
  resolve(pdIncidentId: string, resolution: string): Promise<void>;
}

/** Used when a 429 carries neither Retry-After nor ratelimit-reset. */
const defaultRateLimitWaitMs = 20_000;

/**
 * PagerDuty REST API v2 over fetch. Errors are VigilErrors: `PD_RATE_LIMITED` (429, retryable,
 * with retryAfterMs), `PD_UNAVAILABLE` (5xx, timeout, network; retryable), `PD_REJECTED` (any
 * other 4xx, e.g. 404 incident gone; not retryable).
 */
export function createPagerDutyRest(options: PagerDutyRestOptions): PagerDutyRest {
  const base = options.apiUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 10_000;
  const send = async (method: 'POST' | 'PUT', path: string, body: unknown): Promise<void> => {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Token token=${options.apiKey}`,
          from: options.fromEmail,
          accept: 'application/vnd.pagerduty+json;version=2',
          'content-type': 'application/json',
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const timedOut = error instanceof Error && error.name === 'TimeoutError';
      throw new VigilError(
        'PD_UNAVAILABLE',
        `PagerDuty ${method} ${path} ${timedOut ? `timed out after ${timeoutMs} ms` : 'failed to connect'}`,
        {
          retryable: true,
          cause: error,
        },
      );
    }
    if (response.ok) {
      await response.body?.cancel();
      return;
    }
    const text = await response.text().catch(() => '');
    const pdError = parseError(text);
    const details = { status: response.status, ...(pdError?.code === undefined ? {} : { pdCode: pdError.code }) };
    const what = `PagerDuty ${method} ${path} answered ${response.status}${pdError?.message ? ` (${pdError.message})` : ''}`;
    if (response.status === 429) {
      const retryAfterMs = retryAfter(response.headers) ?? defaultRateLimitWaitMs;
      throw new VigilError('PD_RATE_LIMITED', what, { retryable: true, retryAfterMs, details });
    }
    if (response.status >= 500 || response.status === 408) throw new VigilError('PD_UNAVAILABLE', what, { retryable: true, details });
    throw new VigilError('PD_REJECTED', what, { retryable: false, details });
  };
  return {
    addNote: (id, content) => send('POST', `/incidents/${encodeURIComponent(id)}/notes`, { note: { content } }),
    resolve: (id, resolution) =>
      send('PUT', `/incidents/${encodeURIComponent(id)}`, { incident: { type: 'incident_reference', status: 'resolved', resolution } }),
  };
}

function parseError(text: string): { message?: string; code?: number } | undefined {
  try {
    const json = JSON.parse(text) as { error?: { message?: unknown; code?: unknown } };
    const message = typeof json.error?.message === 'string' ? json.error.message.slice(0, 200) : undefined;
    const code = typeof json.error?.code === 'number' ? json.error.code : undefined;
    return { ...(message === undefined ? {} : { message }), ...(code === undefined ? {} : { code }) };
  } catch {
    return undefined;
  }
}

/** Retry-After (seconds or an HTTP date), else PagerDuty's `ratelimit-reset` (seconds). */
export function retryAfter(headers: Headers, now = Date.now()): number | undefined {
  const value = headers.get('retry-after') ?? headers.get('ratelimit-reset');
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
