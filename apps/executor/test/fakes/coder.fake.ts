import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import ssh2 from 'ssh2';

/**
 * A loopback Coder v2 REST API as documented (docs/reference/api: workspaces, builds, users,
 * templates): `Coder-Session-Token` auth on every route but `/buildinfo`; workspace create answers
 * 201 with the workspace and its `latest_build`; a start build's job goes pending → running →
 * succeeded (or failed / canceled) across polls, then the agent goes created → starting → ready;
 * a second build while one is active is 409; deletes are builds with `transition: "delete"`;
 * errors are `codersdk.Response` bodies.
 *
 * It stands in for the template too: it declares its own parameters (the names terraform/ will
 * declare, spelled here independently of the executor's constant, so a rename fails the tests),
 * and when the start job succeeds it writes the received one-time public key into the
 * authorized_keys file of the real sshd the test runs, and reports that sshd as resource metadata.
 */
export interface FakeCoderOptions {
  sessionToken: string;
  templateId: string;
  templateVersionId: string;
  organizationId: string;
  username: string;
  ssh: { host: string; port: number; hostKeyFingerprint: string; authorizedKeysFile: string };
}

/** How the next workspaces behave (read at create time). */
export interface FakeCoderScenario {
  /** Polls spent in each of pending and running. Default 2. */
  pollsPerState?: number;
  outcome?: 'succeeded' | 'failed' | 'canceled';
  /** `never`: stays `starting` forever. Default `ready` after two polls. */
  agent?: 'ready' | 'never' | 'start_error';
  /** `other`: the template installs some other key instead of the one it was given. */
  authorizedKey?: 'one-time' | 'other';
  fingerprint?: 'right' | 'wrong' | 'none';
  /** A hostile server: 401 bodies repeat the presented token. */
  echoTokenInErrors?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface FakeWorkspaceState {
  id: string;
  name: string;
  owner: string;
  createdAt: string;
  deleted: boolean;
  parameters: Record<string, string>;
}

export interface FakeCoder {
  url: string;
  scenario: FakeCoderScenario;
  requests: RecordedRequest[];
  /** Workspace-create bodies that were accepted. */
  creates: Array<{ path: string; body: Record<string, unknown> }>;
  /** Every accepted delete build, in order. */
  deletes: Array<{ workspaceId: string; name: string }>;
  /** Requests refused for a missing or wrong token. */
  unauthorized: number;
  workspaces(): FakeWorkspaceState[];
  /** A workspace made outside the executor (e.g. a person's), already running. */
  seed(name: string, owner?: string): FakeWorkspaceState;
  close(): Promise<void>;
}

/** The template's `data "coder_parameter"` names. */
const templateParameters = [
  'vigil_incident_id',
  'vigil_execution_id',
  'vigil_service',
  'vigil_egress',
  'vigil_credentials',
  'vigil_ssh_public_key',
  'vigil_ssh_allowed_from',
];

/** Another key the "template" may wrongly install (never the executor's). */
const otherKey = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'not-the-run-key' }).public;
const wrongFingerprint = 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU';

interface Build {
  id: string;
  number: number;
  transition: 'start' | 'stop' | 'delete';
  job: { id: string; status: string; error?: string };
  polls: number;
  agentPolls: number;
  createdAt: string;
}

interface Ws extends FakeWorkspaceState {
  builds: Build[];
  scenario: Required<FakeCoderScenario>;
}

export async function startFakeCoder(options: FakeCoderOptions): Promise<FakeCoder> {
  const workspaces = new Map<string, Ws>();
  const buildIndex = new Map<string, { ws: Ws; build: Build }>();
  const ownerId = randomUUID();
  const fake: FakeCoder = {
    url: '',
    scenario: {},
    requests: [],
    creates: [],
    deletes: [],
    unauthorized: 0,
    workspaces: () =>
      [...workspaces.values()].map(({ id, name, owner, createdAt, deleted, parameters }) => ({
        id,
        name,
        owner,
        createdAt,
        deleted,
        parameters,
      })),
    seed: (name, owner = options.username) => {
      const ws = newWorkspace(name, owner, {});
      const build = ws.builds[0]!;
      build.job.status = 'succeeded';
      build.agentPolls = 99;
      return fake.workspaces().find((w) => w.id === ws.id)!;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };

  const resolved = (s: FakeCoderScenario): Required<FakeCoderScenario> => ({
    pollsPerState: s.pollsPerState ?? 2,
    outcome: s.outcome ?? 'succeeded',
    agent: s.agent ?? 'ready',
    authorizedKey: s.authorizedKey ?? 'one-time',
    fingerprint: s.fingerprint ?? 'right',
    echoTokenInErrors: s.echoTokenInErrors ?? false,
  });

  function newBuild(ws: Ws, transition: Build['transition']): Build {
    const build: Build = {
      id: randomUUID(),
      number: ws.builds.length + 1,
      transition,
      job: { id: randomUUID(), status: 'pending' },
      polls: 0,
      agentPolls: 0,
      createdAt: new Date().toISOString(),
    };
    ws.builds.push(build);
    buildIndex.set(build.id, { ws, build });
    return build;
  }

  function newWorkspace(name: string, owner: string, parameters: Record<string, string>): Ws {
    const ws: Ws = {
      id: randomUUID(),
      name,
      owner,
      createdAt: new Date().toISOString(),
      deleted: false,
      parameters,
      builds: [],
      scenario: resolved(fake.scenario),
    };
    workspaces.set(ws.id, ws);
    newBuild(ws, 'start');
    return ws;
  }

  /** One poll of a start build: the provisioner and the agent move on. */
  function advance(ws: Ws, build: Build): void {
    if (build.transition !== 'start' || ws.deleted) return;
    const s = ws.scenario;
    if (build.job.status === 'pending' || build.job.status === 'running') {
      build.polls += 1;
      if (build.polls >= 2 * s.pollsPerState) {
        build.job.status = s.outcome;
        if (s.outcome === 'failed') build.job.error = 'terraform apply: docker_container.workspace: image not found';
        if (s.outcome === 'succeeded') installKey(ws);
      } else if (build.polls >= s.pollsPerState) build.job.status = 'running';
      return;
    }
    if (build.job.status === 'succeeded') build.agentPolls += 1;
  }

  /** What the template's startup script does: authorize exactly the key it was given. */
  function installKey(ws: Ws): void {
    const key = ws.scenario.authorizedKey === 'other' ? otherKey : (ws.parameters.vigil_ssh_public_key ?? '');
    const from = ws.parameters.vigil_ssh_allowed_from;
    writeFileSync(options.ssh.authorizedKeysFile, `restrict${from ? `,from="${from}"` : ''} ${key}\n`, { mode: 0o600 });
  }

  function agentState(ws: Ws, build: Build): string {
    if (ws.scenario.agent === 'never') return build.agentPolls > 0 ? 'starting' : 'created';
    if (build.agentPolls === 0) return 'created';
    if (build.agentPolls === 1) return 'starting';
    return ws.scenario.agent === 'start_error' ? 'start_error' : 'ready';
  }

  function buildStatus(ws: Ws, build: Build): string {
    const job = build.job.status;
    if (build.transition === 'delete') return job === 'succeeded' ? 'deleted' : job === 'pending' || job === 'running' ? 'deleting' : job;
    if (job === 'pending') return 'pending';
    if (job === 'running') return 'starting';
    if (job === 'succeeded') return build.transition === 'start' ? 'running' : 'stopped';
    return job;
  }

  function buildJson(ws: Ws, build: Build): Record<string, unknown> {
    const s = ws.scenario;
    const provisioned = build.transition === 'start' && build.job.status === 'succeeded';
    const metadata = [
      { key: 'ssh_host', value: options.ssh.host, sensitive: false },
      { key: 'ssh_port', value: String(options.ssh.port), sensitive: false },
      ...(s.fingerprint === 'none'
        ? []
        : [
            {
              key: 'ssh_host_key_fingerprint',
              value: s.fingerprint === 'wrong' ? wrongFingerprint : options.ssh.hostKeyFingerprint,
              sensitive: false,
            },
          ]),
    ];
    const lifecycle = agentState(ws, build);
    return {
      id: build.id,
      created_at: build.createdAt,
      updated_at: new Date().toISOString(),
      workspace_id: ws.id,
      workspace_name: ws.name,
      workspace_owner_id: ownerId,
      workspace_owner_name: ws.owner,
      template_version_id: options.templateVersionId,
      template_version_name: 'v1',
      build_number: build.number,
      transition: build.transition,
      initiator_id: ownerId,
      initiator_name: ws.owner,
      reason: 'initiator',
      job: {
        id: build.job.id,
        created_at: build.createdAt,
        status: build.job.status,
        ...(build.job.error ? { error: build.job.error } : {}),
        file_id: randomUUID(),
        tags: { scope: 'organization' },
        queue_position: 0,
        queue_size: 0,
      },
      resources: provisioned
        ? [
            {
              id: randomUUID(),
              job_id: build.job.id,
              workspace_transition: 'start',
              type: 'docker_container',
              name: 'workspace',
              hide: false,
              icon: '',
              daily_cost: 0,
              metadata,
              agents: [
                {
                  id: `${ws.id.slice(0, 8)}-agent`,
                  name: 'main',
                  status: lifecycle === 'created' ? 'connecting' : 'connected',
                  lifecycle_state: lifecycle,
                  operating_system: 'linux',
                  architecture: 'amd64',
                  health: { healthy: lifecycle === 'ready' },
                },
              ],
            },
          ]
        : [],
      status: buildStatus(ws, build),
      daily_cost: 0,
    };
  }

  function workspaceJson(ws: Ws): Record<string, unknown> {
    return {
      id: ws.id,
      created_at: ws.createdAt,
      updated_at: new Date().toISOString(),
      owner_id: ownerId,
      owner_name: ws.owner,
      organization_id: options.organizationId,
      organization_name: 'coder',
      template_id: options.templateId,
      template_name: 'vigil-run',
      template_active_version_id: options.templateVersionId,
      latest_build: buildJson(ws, ws.builds.at(-1)!),
      outdated: false,
      name: ws.name,
      ttl_ms: 0,
      health: { healthy: true, failing_agents: [] },
      automatic_updates: 'never',
    };
  }

  function handleCreate(path: string, body: Record<string, unknown>, owner: string, send: Send): void {
    const name = typeof body.name === 'string' ? body.name : '';
    const validations: Array<{ field: string; detail: string }> = [];
    if (!/^[a-zA-Z0-9]+(?:-[a-zA-Z0-9]+)*$/.test(name) || name.length > 32 || name === 'new' || name === 'create') {
      validations.push({ field: 'name', detail: 'Validation failed for tag "workspace_name" with value: ' + JSON.stringify(name) });
    }
    const hasTemplate = typeof body.template_id === 'string';
    const hasVersion = typeof body.template_version_id === 'string';
    if (hasTemplate === hasVersion) {
      send(400, { message: 'Either template_id or template_version_id must be specified, not both.' });
      return;
    }
    if (
      (hasTemplate && body.template_id !== options.templateId) ||
      (hasVersion && body.template_version_id !== options.templateVersionId)
    ) {
      send(400, {
        message: 'Template not found.',
        validations: [{ field: hasTemplate ? 'template_id' : 'template_version_id', detail: 'template not found' }],
      });
      return;
    }
    const values = Array.isArray(body.rich_parameter_values)
      ? (body.rich_parameter_values as Array<{ name?: unknown; value?: unknown }>)
      : [];
    const parameters: Record<string, string> = {};
    for (const v of values) {
      if (typeof v.name !== 'string' || typeof v.value !== 'string')
        validations.push({ field: 'rich_parameter_values', detail: 'name and value must be strings' });
      else if (!templateParameters.includes(v.name))
        validations.push({ field: v.name, detail: `parameter "${v.name}" is not present in the template` });
      else parameters[v.name] = v.value;
    }
    for (const required of templateParameters) {
      if (!(required in parameters)) validations.push({ field: required, detail: `required parameter value is missing: "${required}"` });
    }
    if (validations.length) {
      send(400, { message: 'Invalid workspace request.', validations });
      return;
    }
    if ([...workspaces.values()].some((w) => !w.deleted && w.owner === owner && w.name === name)) {
      send(409, {
        message: `Workspace "${name}" already exists.`,
        validations: [{ field: 'name', detail: 'This value is already in use and should be unique.' }],
      });
      return;
    }
    const ws = newWorkspace(name, owner, parameters);
    fake.creates.push({ path, body });
    send(201, workspaceJson(ws));
  }

  function handleBuild(ws: Ws, body: Record<string, unknown>, send: Send): void {
    const transition = body.transition;
    if (transition !== 'start' && transition !== 'stop' && transition !== 'delete') {
      send(400, { message: 'Invalid request body.', validations: [{ field: 'transition', detail: 'must be start, stop or delete' }] });
      return;
    }
    const latest = ws.builds.at(-1)!;
    if (['pending', 'running', 'canceling'].includes(latest.job.status)) {
      send(409, { message: 'A workspace build is already active.' });
      return;
    }
    const build = newBuild(ws, transition);
    if (transition === 'delete') {
      fake.deletes.push({ workspaceId: ws.id, name: ws.name });
      // The provisioner tears the workspace down a moment later; its sshd key goes with it.
      setTimeout(() => {
        build.job.status = 'succeeded';
        ws.deleted = true;
        writeFileSync(options.ssh.authorizedKeysFile, '', { mode: 0o600 });
      }, 5);
    }
    send(201, buildJson(ws, build));
  }

  function route(req: IncomingMessage, raw: string, send: Send): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (method === 'GET' && path === '/api/v2/buildinfo') {
      send(200, {
        external_url: fake.url,
        version: 'v2.24.1+fake',
        dashboard_url: fake.url,
        telemetry: false,
        workspace_proxy: false,
        upgrade_message: '',
        deployment_id: ownerId,
      });
      return;
    }
    const presented = req.headers['coder-session-token'];
    if (presented !== options.sessionToken) {
      fake.unauthorized += 1;
      const echoed = fake.scenario.echoTokenInErrors ? ` (token ${String(presented)})` : '';
      send(401, { message: 'You must be authenticated to use this endpoint.', detail: `API key is invalid${echoed}.` });
      return;
    }
    let body: Record<string, unknown> = {};
    if (raw) {
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        send(400, { message: 'Request body must be valid JSON.' });
        return;
      }
    }
    const me = (u: string) => u === 'me' || u === options.username;
    let m: RegExpMatchArray | null;
    if (method === 'GET' && path === '/api/v2/users/me') {
      send(200, { id: ownerId, username: options.username, email: `${options.username}@example.com`, status: 'active', roles: [] });
    } else if (method === 'GET' && (m = path.match(/^\/api\/v2\/templates\/([^/]+)$/))) {
      if (m[1] === options.templateId)
        send(200, { id: options.templateId, name: 'vigil-run', active_version_id: options.templateVersionId });
      else send(404, { message: 'Resource not found or you do not have access to this resource' });
    } else if (method === 'GET' && (m = path.match(/^\/api\/v2\/templateversions\/([^/]+)$/))) {
      if (m[1] === options.templateVersionId) send(200, { id: options.templateVersionId, template_id: options.templateId, name: 'v1' });
      else send(404, { message: 'Resource not found or you do not have access to this resource' });
    } else if (method === 'POST' && (m = path.match(/^\/api\/v2\/users\/([^/]+)\/workspaces$/))) {
      if (!me(decodeURIComponent(m[1]!))) send(404, { message: 'Resource not found or you do not have access to this resource' });
      else handleCreate(path, body, options.username, send);
    } else if (method === 'POST' && (m = path.match(/^\/api\/v2\/organizations\/([^/]+)\/members\/([^/]+)\/workspaces$/))) {
      if (m[1] !== options.organizationId || !me(decodeURIComponent(m[2]!)))
        send(404, { message: 'Resource not found or you do not have access to this resource' });
      else handleCreate(path, body, options.username, send);
    } else if (method === 'GET' && (m = path.match(/^\/api\/v2\/users\/([^/]+)\/workspace\/([^/]+)$/))) {
      const ws = [...workspaces.values()].find(
        (w) => !w.deleted && me(decodeURIComponent(m![1]!)) && w.name === decodeURIComponent(m![2]!),
      );
      if (ws) send(200, workspaceJson(ws));
      else send(404, { message: 'Resource not found or you do not have access to this resource' });
    } else if (method === 'GET' && path === '/api/v2/workspaces') {
      const terms = Object.fromEntries(
        (url.searchParams.get('q') ?? '')
          .split(/\s+/)
          .filter(Boolean)
          .map((t) => t.split(':', 2) as [string, string]),
      );
      const owner = terms.owner === 'me' ? options.username : terms.owner;
      const all = [...workspaces.values()].filter(
        (w) => !w.deleted && (!owner || w.owner === owner) && (!terms.name || w.name.includes(terms.name)),
      );
      const offset = Number(url.searchParams.get('offset') ?? 0);
      const limit = Number(url.searchParams.get('limit') ?? 0) || all.length;
      send(200, { workspaces: all.slice(offset, offset + limit).map(workspaceJson), count: all.length });
    } else if ((m = path.match(/^\/api\/v2\/workspaces\/([^/]+)(\/builds)?$/))) {
      const ws = workspaces.get(m[1]!);
      if (!ws || ws.deleted) send(404, { message: 'Resource not found or you do not have access to this resource' });
      else if (method === 'GET' && !m[2]) send(200, workspaceJson(ws));
      else if (method === 'POST' && m[2]) handleBuild(ws, body, send);
      else send(405, { message: 'Method not allowed' });
    } else if ((m = path.match(/^\/api\/v2\/workspacebuilds\/([^/]+)(\/cancel)?$/))) {
      const found = buildIndex.get(m[1]!);
      if (!found) send(404, { message: 'Resource not found or you do not have access to this resource' });
      else if (method === 'GET' && !m[2]) {
        advance(found.ws, found.build);
        send(200, buildJson(found.ws, found.build));
      } else if (method === 'PATCH' && m[2]) {
        if (!['pending', 'running'].includes(found.build.job.status)) send(400, { message: 'Job has already completed!' });
        else {
          found.build.job.status = 'canceled';
          send(200, { message: 'Job has been marked as canceled...' });
        }
      } else send(405, { message: 'Method not allowed' });
    } else {
      send(404, { message: `Route ${method} ${path} not found` });
    }
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      fake.requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body: raw });
      route(req, raw, sender(res));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

type Send = (status: number, body: unknown) => void;

const sender =
  (res: ServerResponse): Send =>
  (status, body) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };
