/**
 * The console's one call to the approver: a person's decision on a plan, sent with that person's
 * own token. The approver authenticates the token against APPROVER_API_TOKENS and records who
 * decided; the orchestrator holds no approver credential of its own and asserts nobody's identity.
 */
export interface DecisionRequest {
  incidentId: string;
  planHash: string;
  decision: 'approve' | 'deny';
  reason?: string;
  /** The signed-in person's token, forwarded as `Authorization: Bearer`; never logged, never in a URL. */
  token: string;
}

/** What the console tells the person: a fixed kind to branch on and the approver's own words. */
export type DecisionResult =
  | { kind: 'sent'; outcome: 'approved' | 'denied' | 'counted' | 'duplicate'; message: string }
  | { kind: 'refused'; status: number; message: string }
  | { kind: 'unreachable'; message: string };

const outcomes = new Set(['approved', 'denied', 'counted', 'duplicate']);

export function createApproverClient(options: { url: string; timeoutMs: number }) {
  const base = options.url.endsWith('/') ? options.url : `${options.url}/`;
  return {
    url: options.url,
    async decide(request: DecisionRequest): Promise<DecisionResult> {
      let response: Response;
      try {
        response = await fetch(new URL(`approvals/${encodeURIComponent(request.incidentId)}/decision`, base), {
          method: 'POST',
          headers: { authorization: `Bearer ${request.token}`, 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({
            planHash: request.planHash,
            decision: request.decision,
            via: 'web',
            ...(request.reason ? { reason: request.reason } : {}),
          }),
          signal: AbortSignal.timeout(options.timeoutMs),
          redirect: 'error',
        });
      } catch (error) {
        const cause = (error as Error).name === 'TimeoutError' ? `no answer within ${options.timeoutMs} ms` : (error as Error).message;
        return { kind: 'unreachable', message: `cannot reach the approver at ${options.url}: ${cause}` };
      }
      const body = (await response.json().catch(() => ({}))) as { outcome?: string; message?: string; error?: string };
      const said = body.message ?? body.error ?? `HTTP ${response.status}`;
      if ((response.status === 200 || response.status === 202) && body.outcome && outcomes.has(body.outcome)) {
        return { kind: 'sent', outcome: body.outcome as 'approved' | 'denied' | 'counted' | 'duplicate', message: said };
      }
      switch (response.status) {
        case 401:
          return {
            kind: 'refused',
            status: 403,
            message:
              'the approver does not accept your console token: give this person the same token in APPROVER_API_TOKENS, or decide on the approver’s own page or with `vigil approve`',
          };
        case 503:
          return { kind: 'refused', status: 503, message: `the approver refuses every decision: ${said}` };
        case 403:
        case 404:
        case 409:
          return { kind: 'refused', status: response.status === 404 ? 409 : response.status, message: said };
        default:
          return { kind: 'unreachable', message: `the approver answered HTTP ${response.status}: ${said}` };
      }
    },
  };
}

export type ApproverClient = ReturnType<typeof createApproverClient>;
