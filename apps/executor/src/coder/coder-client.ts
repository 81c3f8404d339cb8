import type { z } from 'zod';
import { VigilError } from '@vigil/errors';
import {
  buildInfo,
  coderResponse,
  user,
  workspace,
  workspaceBuild,
  workspacesResponse,
  type BuildInfo,
  type CoderUser,
  type CreateWorkspaceBuildRequest,
  type CreateWorkspaceRequest,
  type Workspace,
  type WorkspaceBuild,
  type WorkspacesResponse,
} from './coder-api.js';

export interface CoderClientOptions {
  /** The deployment's access URL, e.g. `https://coder.example.com`. */
  url: string;
  /** Secret: sent only in the `Coder-Session-Token` header, never in a message or a log. */
  sessionToken: string;
  /** Per request. */
  requestTimeoutMs: number;
}

/**
 * The Coder v2 REST calls the executor makes. There is no published TypeScript SDK, so this
 * speaks the documented protocol with fetch. Every failure is a VigilError whose code says what
 * happened (`CODER_UNAUTHORIZED`, `CODER_CONFLICT`, `CODER_NOT_FOUND`, `CODER_UNAVAILABLE`, …);
 * no message ever carries the session token.
 */
export interface CoderClient {
  buildInfo(signal?: AbortSignal): Promise<BuildInfo>;
  me(signal?: AbortSignal): Promise<CoderUser>;
  /** Template or template version must exist: `GET /templates/{id}` or `/templateversions/{id}`. */
  checkTemplate(template: { templateId?: string; templateVersionId?: string }, signal?: AbortSignal): Promise<void>;
  /** `organization` set: the organization-member route; otherwise `/users/{user}/workspaces`. */
  createWorkspace(owner: { user: string; organization?: string }, body: CreateWorkspaceRequest, signal?: AbortSignal): Promise<Workspace>;
  getWorkspace(id: string, signal?: AbortSignal): Promise<Workspace>;
  /** `GET /users/{user}/workspace/{name}`. */
  getWorkspaceByName(owner: string, name: string, signal?: AbortSignal): Promise<Workspace>;
  listWorkspaces(query: { q: string; limit: number; offset: number }, signal?: AbortSignal): Promise<WorkspacesResponse>;
  getBuild(id: string, signal?: AbortSignal): Promise<WorkspaceBuild>;
  createBuild(workspaceId: string, body: CreateWorkspaceBuildRequest, signal?: AbortSignal): Promise<WorkspaceBuild>;
  cancelBuild(buildId: string, signal?: AbortSignal): Promise<void>;
}

export function createCoderClient(options: CoderClientOptions): CoderClient {
  const base = new URL('/api/v2/', options.url.endsWith('/') ? options.url : `${options.url}/`);
  const token = options.sessionToken;
  /** Belt and braces: whatever a server echoes back, the token never leaves in a message. */
  const clean = (text: string): string => (token ? text.split(token).join('[redacted]') : text);

  async function call<T>(method: string, path: string, schema: z.ZodType<T> | undefined, body?: unknown, signal?: AbortSignal): Promise<T> {
    const url = new URL(path, base);
    const label = `Coder ${method} /api/v2/${path.split('?')[0]}`;
    const timeout = AbortSignal.timeout(options.requestTimeoutMs);
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          'Coder-Session-Token': token,
          Accept: 'application/json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      if (signal?.aborted) throw new VigilError('CODER_ABORTED', `${label}: aborted`, { cause: err });
      const reason = timeout.aborted ? `no answer within ${options.requestTimeoutMs} ms` : describe(err);
      throw new VigilError('CODER_UNREACHABLE', clean(`${label}: ${reason}`), { retryable: true });
    }
    const text = await response.text();
    if (!response.ok) throw failure(label, response, text);
    if (!schema) return undefined as T;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new VigilError('CODER_BAD_RESPONSE', `${label}: answered ${response.status} with a body that is not JSON`, { retryable: true });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
      throw new VigilError('CODER_BAD_RESPONSE', clean(`${label}: unexpected answer (${issues})`), { retryable: false });
    }
    return parsed.data;
  }

  function failure(label: string, response: Response, text: string): VigilError {
    let message = '';
    let detail = '';
    let validations: string[] = [];
    try {
      const body = coderResponse.parse(JSON.parse(text));
      message = body.message ?? '';
      detail = body.detail ?? '';
      validations = (body.validations ?? []).map((v) => `${v.field}: ${v.detail}`);
    } catch {
      message = text.slice(0, 200);
    }
    const status = response.status;
    const said = [message, detail, validations.join('; ')].filter(Boolean).join(' — ');
    const summary = clean(`${label}: ${status}${said ? ` ${said}` : ''}`);
    const retryAfter = Number(response.headers.get('retry-after'));
    const details = { status, ...(validations.length ? { validations } : {}) };
    if (status === 401 || status === 403) return new VigilError('CODER_UNAUTHORIZED', summary, { details });
    if (status === 404) return new VigilError('CODER_NOT_FOUND', summary, { details });
    if (status === 409) return new VigilError('CODER_CONFLICT', summary, { details });
    if (status === 400) return new VigilError('CODER_BAD_REQUEST', summary, { details });
    if (status === 429 || status >= 500)
      return new VigilError('CODER_UNAVAILABLE', summary, {
        retryable: true,
        details,
        ...(retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
      });
    return new VigilError('CODER_API_ERROR', summary, { details });
  }

  const seg = encodeURIComponent;
  return {
    buildInfo: (signal) => call('GET', 'buildinfo', buildInfo, undefined, signal),
    me: (signal) => call('GET', 'users/me', user, undefined, signal),
    async checkTemplate(template, signal) {
      if (template.templateVersionId)
        await call('GET', `templateversions/${seg(template.templateVersionId)}`, undefined, undefined, signal);
      else if (template.templateId) await call('GET', `templates/${seg(template.templateId)}`, undefined, undefined, signal);
    },
    createWorkspace: (owner, body, signal) =>
      call(
        'POST',
        owner.organization
          ? `organizations/${seg(owner.organization)}/members/${seg(owner.user)}/workspaces`
          : `users/${seg(owner.user)}/workspaces`,
        workspace,
        body,
        signal,
      ),
    getWorkspace: (id, signal) => call('GET', `workspaces/${seg(id)}`, workspace, undefined, signal),
    getWorkspaceByName: (owner, name, signal) => call('GET', `users/${seg(owner)}/workspace/${seg(name)}`, workspace, undefined, signal),
    listWorkspaces: (query, signal) =>
      call(
        'GET',
        `workspaces?${new URLSearchParams({ q: query.q, limit: String(query.limit), offset: String(query.offset) }).toString()}`,
        workspacesResponse,
        undefined,
        signal,
      ),
    getBuild: (id, signal) => call('GET', `workspacebuilds/${seg(id)}`, workspaceBuild, undefined, signal),
    createBuild: (workspaceId, body, signal) => call('POST', `workspaces/${seg(workspaceId)}/builds`, workspaceBuild, body, signal),
    cancelBuild: (buildId, signal) => call('PATCH', `workspacebuilds/${seg(buildId)}/cancel`, undefined, undefined, signal),
  };
}

function describe(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `connection failed (${cause.code})`;
  return err instanceof Error ? err.message : String(err);
}
