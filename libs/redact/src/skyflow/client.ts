import { VigilError } from '@vigil/errors';

/** The body of `POST {vaultURL}/v1/detect/deidentify/string` (generated client type `DeidentifyStringRequest`). */
export interface DeidentifyStringRequest {
  vault_id: string;
  text: string;
  entity_types?: string[];
  token_type?: { default: 'entity_only' | 'entity_unq_counter' | 'vault_token' };
}

export interface SkyflowDetectClientOptions {
  /** `https://{clusterId}.vault.skyflowapis.com`; a path prefix is kept (urlJoin, as the SDK does). */
  vaultURL: string;
  /** An API key or a bearer token: both travel as `Authorization: Bearer …`. */
  apiKey: string;
  timeoutMs: number;
}

export interface SkyflowDetectClient {
  /** The parsed JSON body of a 2xx answer; a `VigilError` for everything else. */
  deidentifyString(request: DeidentifyStringRequest, signal?: AbortSignal): Promise<unknown>;
}

/**
 * Skyflow Detect over HTTP, shaped after skyflow-node v2's generated `Strings.deidentifyString`
 * (same path, headers, JSON body, status classification). The SDK itself is not used: the npm
 * registry this project installs from has skyflow-node only up to 1.14.3, which predates Detect
 * (see the README). No retries here: a retryable `VigilError` goes back to the caller, whose bus
 * redelivers with backoff. Errors carry the status and request id, never the text or the key.
 */
export function createSkyflowDetectClient(options: SkyflowDetectClientOptions): SkyflowDetectClient {
  const base = options.vaultURL.endsWith('/') ? options.vaultURL : `${options.vaultURL}/`;
  const url = new URL('v1/detect/deidentify/string', base);
  return {
    async deidentifyString(request, signal) {
      const timeout = AbortSignal.timeout(options.timeoutMs);
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: { authorization: `Bearer ${options.apiKey}`, 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify(request),
          // A redirect would carry the key somewhere we did not configure.
          redirect: 'error',
          signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
        });
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        if (timeout.aborted)
          throw new VigilError('SKYFLOW_TIMEOUT', `Skyflow Detect did not answer within ${options.timeoutMs} ms`, { retryable: true });
        throw new VigilError('SKYFLOW_UNREACHABLE', `Skyflow Detect at ${url.origin} could not be reached`, {
          retryable: true,
          cause: err,
        });
      }
      const details = { status: response.status, requestId: response.headers.get('x-request-id') ?? undefined };
      let body: unknown;
      try {
        body = await response.json();
      } catch {
        if (signal?.aborted) throw signal.reason;
        if (timeout.aborted)
          throw new VigilError('SKYFLOW_TIMEOUT', `Skyflow Detect did not answer within ${options.timeoutMs} ms`, { retryable: true });
        body = undefined;
      }
      if (response.ok) {
        if (body === undefined)
          throw new VigilError('SKYFLOW_RESPONSE_INVALID', `Skyflow Detect answered ${response.status} without a JSON body`, { details });
        return body;
      }
      throw statusError(response, { ...details, ...vendorCodes(body) });
    },
  };
}

/** 401/403: the key; 429: slow down; 408 and 5xx: try again later; any other 4xx: our request is wrong. */
function statusError(response: Response, details: Record<string, unknown>): VigilError {
  const s = response.status;
  if (s === 401 || s === 403)
    return new VigilError('SKYFLOW_UNAUTHORIZED', `Skyflow Detect refused the credentials (${s}): check SKYFLOW_API_KEY`, { details });
  if (s === 429) {
    const seconds = Number(response.headers.get('retry-after'));
    return new VigilError('SKYFLOW_RATE_LIMITED', 'Skyflow Detect is rate limiting (429)', {
      retryable: true,
      ...(Number.isFinite(seconds) && seconds > 0 ? { retryAfterMs: seconds * 1000 } : {}),
      details,
    });
  }
  if (s === 408 || s >= 500) return new VigilError('SKYFLOW_UNAVAILABLE', `Skyflow Detect failed (${s})`, { retryable: true, details });
  return new VigilError(
    'SKYFLOW_REQUEST_REJECTED',
    `Skyflow Detect rejected the request (${s}): check SKYFLOW_VAULT_ID and the entity types`,
    {
      details,
    },
  );
}

/**
 * The vendor's machine-readable codes from `{ error: { grpc_code, http_status, … } }`. Its
 * `message` is left out on purpose: it may quote the text that was sent.
 */
function vendorCodes(body: unknown): Record<string, unknown> {
  const error = (body as { error?: { grpc_code?: unknown; http_status?: unknown } } | undefined)?.error;
  return {
    ...(typeof error?.grpc_code === 'number' ? { grpcCode: error.grpc_code } : {}),
    ...(typeof error?.http_status === 'string' ? { httpStatus: error.http_status.slice(0, 64) } : {}),
  };
}
