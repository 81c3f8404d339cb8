import { VigilError } from '@vigil/errors';

/** A thin client of the orchestrator's incident API, for the CLI. */
export function orchestratorClient(baseUrl: string, token: string | undefined) {
  const request = async <T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> => {
    let response: Response;
    try {
      response = await fetch(new URL(path, baseUrl), {
        method: init.method ?? 'GET',
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      });
    } catch (error) {
      throw new VigilError(
        'ORCHESTRATOR_UNREACHABLE',
        `cannot reach the orchestrator at ${baseUrl} (set ORCHESTRATOR_URL): ${(error as Error).message}`,
        { cause: error },
      );
    }
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok) {
      const detail = typeof body.error === 'string' ? body.error : response.statusText;
      const hint = response.status === 401 ? ' (set VIGIL_API_TOKEN)' : '';
      throw new VigilError(`HTTP_${response.status}`, `${detail}${hint}`);
    }
    return body as T;
  };
  return {
    list: (filter: { stage?: string; service?: string; limit?: number }) => {
      const query = new URLSearchParams();
      for (const [key, value] of Object.entries(filter)) if (value !== undefined) query.set(key, String(value));
      return request<{ incidents: Array<Record<string, unknown>> }>(`/incidents?${query}`);
    },
    show: (id: string) => request<Record<string, unknown>>(`/incidents/${encodeURIComponent(id)}`),
    exportRecord: (id: string) => request<Record<string, unknown>>(`/incidents/${encodeURIComponent(id)}/export`),
    replay: (id: string, policy?: unknown) =>
      policy === undefined
        ? request<Record<string, unknown>>(`/incidents/${encodeURIComponent(id)}/replay`)
        : request<Record<string, unknown>>(`/incidents/${encodeURIComponent(id)}/replay`, { method: 'POST', body: { policy } }),
  };
}
