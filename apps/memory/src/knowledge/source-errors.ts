import { VigilError } from '@vigil/errors';
import { failureForStatus } from './port.js';

const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
]);

function networkCodeOf(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && networkCodes.has(code)) return code;
  }
  return undefined;
}

/** A vendor's words, shortened, with the credential cut out in case the vendor echoes it. */
export function vendorDetail(text: string, secret: string | undefined): string {
  const clean = secret ? text.split(secret).join('[secret]') : text;
  return clean.length > 300 ? `${clean.slice(0, 300)}…` : clean;
}

/**
 * What a failed vendor call means, as a `VigilError` with a knowledge-source code: the deadline
 * (the signal was aborted), an HTTP status (`statusOf` reads it from the vendor's error), or the
 * network. Messages never carry the credential, even when the vendor quotes it back; the original
 * error is not kept as `cause`, because HTTP clients keep the request (and its auth header) on it.
 */
export function sourceFailure(
  source: string,
  error: unknown,
  signal: AbortSignal,
  secret: string | undefined,
  statusOf: (error: unknown) => { status: number; detail: string } | undefined,
): VigilError {
  if (signal.aborted) {
    return signal.reason instanceof VigilError
      ? signal.reason
      : new VigilError('KNOWLEDGE_SOURCE_TIMEOUT', `${source} did not answer in time`, { retryable: true });
  }
  const http = statusOf(error);
  if (http) {
    const code = failureForStatus(http.status);
    return new VigilError(code, `${source} answered ${http.status}: ${vendorDetail(http.detail, secret)}`, {
      retryable: code !== 'KNOWLEDGE_SOURCE_UNAUTHORIZED' && code !== 'KNOWLEDGE_SOURCE_REJECTED',
      details: { status: http.status },
    });
  }
  const network = networkCodeOf(error);
  if (network) return new VigilError('KNOWLEDGE_SOURCE_UNAVAILABLE', `${source} could not be reached (${network})`, { retryable: true });
  const message = error instanceof Error ? error.message : String(error);
  return new VigilError('KNOWLEDGE_SOURCE_FAILED', `${source} failed: ${vendorDetail(message, secret)}`, { retryable: true });
}
