import { errors, request, type Dispatcher } from 'undici';
import type { VerificationCheck } from '@vigil/events';
import type { Attempt } from '../domain/verdict.js';

export type HttpCheck = Extract<VerificationCheck, { kind: 'http' }>;

export interface HttpProbeOptions {
  /** Connection pool shared by every probe of the process. */
  dispatcher: Dispatcher;
  /** The longest any probe waits for a complete answer; a check's `maxLatencyMs` shortens it. */
  timeoutMs: number;
}

/** Enough of a body to find `bodyContains` in a health page and quote it; the rest is not read. */
const maxBodyBytes = 64 * 1024;
const excerptChars = 300;

/**
 * One HTTP probe with undici: status, latency (to the end of the body, up to 64 KiB), body text.
 * A probe never waits past the check's `maxLatencyMs` (it would fail anyway) nor past `timeoutMs`.
 * Every failure is the service's: a refused connection, a reset or a timeout is what a user sees.
 */
export async function runHttpCheck(check: HttpCheck, options: HttpProbeOptions): Promise<Attempt> {
  const limitMs = Math.min(options.timeoutMs, check.maxLatencyMs ?? Number.POSITIVE_INFINITY);
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const fail = (error: string, status?: number, body?: string): Attempt => ({
    check: check.name,
    passed: false,
    latencyMs: elapsed(),
    failure: {
      blame: 'service',
      check: check.name,
      error,
      ...(status === undefined ? {} : { status }),
      ...(body ? { excerpt: excerpt(body) } : {}),
    },
  });
  let status: number;
  let body: string;
  try {
    const response = await request(check.url, {
      method: check.method,
      dispatcher: options.dispatcher,
      signal: AbortSignal.timeout(limitMs),
      headersTimeout: limitMs,
      bodyTimeout: limitMs,
      headers: { 'user-agent': 'vigil-verifier', accept: '*/*' },
    });
    status = response.statusCode;
    body = await readCapped(response.body);
  } catch (error) {
    if (isTimeout(error)) {
      const why = limitMs === check.maxLatencyMs ? `maxLatencyMs ${check.maxLatencyMs}` : 'the probe timeout';
      return fail(`no complete answer within ${limitMs} ms (${why})`);
    }
    return fail(describe(error));
  }
  const latencyMs = elapsed();
  if (status !== check.expectStatus) return fail(`status ${status}, expected ${check.expectStatus}`, status, body);
  if (check.maxLatencyMs !== undefined && latencyMs > check.maxLatencyMs) {
    return fail(`took ${latencyMs} ms, over maxLatencyMs ${check.maxLatencyMs}`, status);
  }
  if (check.bodyContains !== undefined && !body.includes(check.bodyContains)) {
    return fail(`body does not contain ${JSON.stringify(check.bodyContains)}`, status, body);
  }
  return { check: check.name, passed: true, latencyMs };
}

async function readCapped(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= maxBodyBytes) {
      // Enough read; dropping the rest closes this connection instead of draining a huge body.
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, maxBodyBytes).toString('utf8');
}

/** The start of the body, whitespace folded: what a reader needs to see what came back. */
function excerpt(body: string): string {
  return body.replace(/\s+/g, ' ').trim().slice(0, excerptChars);
}

function isTimeout(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    error.name === 'TimeoutError' ||
    error.name === 'AbortError' ||
    error instanceof errors.HeadersTimeoutError ||
    error instanceof errors.BodyTimeoutError ||
    error instanceof errors.RequestAbortedError
  );
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code ?? (error.cause as { code?: unknown } | undefined)?.code;
  const message = error.message || error.name;
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}
