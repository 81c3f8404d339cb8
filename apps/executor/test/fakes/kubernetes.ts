import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback Kubernetes API server for apps/v1 Deployments, as the real one answers:
 * `GET|PATCH /apis/apps/v1/namespaces/{ns}/deployments/{name}` and
 * `GET|PATCH|PUT .../deployments/{name}/scale` (autoscaling/v1 Scale). Bearer auth (401 Status
 * without it); errors are `Status` objects (`kind: Status`, `reason`, `code`, `details`).
 * PATCH accepts JSON patch, JSON merge patch and strategic merge patch (applied as a merge patch:
 * lists are replaced rather than merged by key, which our patches never touch); any other
 * Content-Type is a 415. Every write bumps `metadata.resourceVersion`; a change to `spec` bumps
 * `metadata.generation`. A `resourceVersion` in a write that is not the current one is a 409.
 * The controller is instant: after a spec change the status shows the rollout complete.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface FakeDeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
}

export interface FakeDeploymentSeed {
  namespace: string;
  name: string;
  replicas: number;
  paused?: boolean;
  /** Defaults to a finished rollout of `replicas`. */
  status?: FakeDeploymentStatus;
}

export interface RecordedRequest {
  method: string;
  path: string;
  contentType: string | undefined;
  authorized: boolean;
  body: unknown;
}

export interface FakeKubernetes {
  url: string;
  token: string;
  /** Every request, in order, accepted or not. */
  requests: RecordedRequest[];
  addDeployment(seed: FakeDeploymentSeed): void;
  /** A copy of the stored Deployment object, as a GET would return it. */
  deployment(namespace: string, name: string): DeploymentObject | undefined;
  /** Overwrites the status, e.g. to show a rollout in progress. */
  setStatus(namespace: string, name: string, status: FakeDeploymentStatus): void;
  /** Someone else scaling the deployment (a new resourceVersion and generation). */
  setReplicas(namespace: string, name: string, replicas: number): void;
  /** Runs `hook` once, just before the next write request is handled: a race with another client. */
  beforeNextWrite(hook: () => void): void;
  close(): Promise<void>;
}

export interface DeploymentObject extends JsonObject {
  metadata: JsonObject & { name: string; namespace: string; generation: number; resourceVersion: string };
  spec: JsonObject & { replicas: number };
  status: JsonObject;
}

const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json'];

class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: JsonObject,
  ) {
    super(message);
  }
}

const statusBody = (e: StatusError): JsonObject => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message: e.message,
  reason: e.reason,
  ...(e.details ? { details: e.details } : {}),
  code: e.code,
});

const notFound = (name: string): StatusError =>
  new StatusError(404, 'NotFound', `deployments.apps "${name}" not found`, { name, group: 'apps', kind: 'deployments' });

const isObject = (value: unknown): value is JsonObject => value !== null && typeof value === 'object' && !Array.isArray(value);
const clone = <T>(value: T): T => structuredClone(value);

/** RFC 7386 JSON merge patch. */
function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const result: JsonObject = isObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key] ?? null, value);
  }
  return result;
}

/** RFC 6902 JSON patch: add, replace, remove, test on object members. */
function jsonPatch(target: Json, operations: unknown): Json {
  if (!Array.isArray(operations))
    throw new StatusError(400, 'BadRequest', 'json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  const document = clone(target);
  for (const op of operations as Array<{ op?: string; path?: string; value?: Json }>) {
    const keys = (op.path ?? '')
      .split('/')
      .slice(1)
      .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = keys.pop();
    let parent: Json = document;
    for (const key of keys) parent = isObject(parent) ? (parent[key] ?? null) : null;
    if (!isObject(parent) || last === undefined)
      throw new StatusError(422, 'Invalid', `the server rejected our request: path ${op.path ?? ''} does not exist`);
    if (op.op === 'add' || op.op === 'replace') parent[last] = op.value ?? null;
    else if (op.op === 'remove') delete parent[last];
    else if (op.op === 'test') {
      if (JSON.stringify(parent[last]) !== JSON.stringify(op.value))
        throw new StatusError(422, 'Invalid', `test operation failed at ${op.path ?? ''}`);
    } else throw new StatusError(422, 'Invalid', `unsupported json patch operation ${String(op.op)}`);
  }
  return document;
}

export async function startFakeKubernetes(options: { token?: string } = {}): Promise<FakeKubernetes> {
  const token = options.token ?? 'fake-k8s-token-2f9c81';
  const requests: RecordedRequest[] = [];
  const store = new Map<string, DeploymentObject>();
  let resourceVersion = 1000;
  let nextWriteHook: (() => void) | undefined;
  const key = (namespace: string, name: string): string => `${namespace}/${name}`;

  const converge = (d: DeploymentObject): void => {
    const replicas = d.spec.replicas;
    d.status = {
      observedGeneration: d.metadata.generation,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: replicas,
      availableReplicas: replicas,
      conditions: [{ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' }],
    };
  };

  const addDeployment = (seed: FakeDeploymentSeed): void => {
    const labels = { app: seed.name };
    const d: DeploymentObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: seed.name,
        namespace: seed.namespace,
        uid: randomUUID(),
        resourceVersion: String(++resourceVersion),
        generation: 1,
        creationTimestamp: '2026-01-01T00:00:00Z',
        labels,
      },
      spec: {
        replicas: seed.replicas,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: seed.name, image: `registry.example/${seed.name}:1.0.0` }] } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
        ...(seed.paused ? { paused: true } : {}),
      },
      status: {},
    };
    converge(d);
    if (seed.status) d.status = { ...d.status, ...(seed.status as JsonObject) };
    store.set(key(seed.namespace, seed.name), d);
  };

  const scaleOf = (d: DeploymentObject): JsonObject => ({
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: d.metadata.name,
      namespace: d.metadata.namespace,
      uid: d.metadata.uid ?? null,
      resourceVersion: d.metadata.resourceVersion,
      creationTimestamp: d.metadata.creationTimestamp ?? null,
    },
    spec: { replicas: d.spec.replicas },
    status: { replicas: (d.status.replicas as number | undefined) ?? 0, selector: `app=${d.metadata.name}` },
  });

  /** Validates and stores a new version of a deployment; returns the stored object. */
  const write = (current: DeploymentObject, next: Json): DeploymentObject => {
    if (!isObject(next) || !isObject(next.metadata) || !isObject(next.spec))
      throw new StatusError(400, 'BadRequest', 'the patched object is not a Deployment');
    const { name, namespace } = current.metadata;
    if (next.metadata.name !== name || next.metadata.namespace !== namespace)
      throw new StatusError(
        400,
        'BadRequest',
        `the name of the object (${String(next.metadata.name)}) does not match the name on the URL (${name})`,
      );
    if (next.metadata.resourceVersion !== current.metadata.resourceVersion)
      throw new StatusError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on deployments.apps "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        { name, group: 'apps', kind: 'deployments' },
      );
    const replicas = next.spec.replicas;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0)
      throw new StatusError(
        422,
        'Invalid',
        `Deployment.apps "${name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
      );
    const stored = next as DeploymentObject;
    const specChanged = JSON.stringify(stored.spec) !== JSON.stringify(current.spec);
    stored.metadata.resourceVersion = String(++resourceVersion);
    stored.metadata.generation = current.metadata.generation + (specChanged ? 1 : 0);
    stored.status = current.status;
    if (specChanged) converge(stored);
    store.set(key(namespace, name), stored);
    return stored;
  };

  const applyPatch = (contentType: string | undefined, target: Json, patch: unknown): Json => {
    if (contentType === undefined || !PATCH_TYPES.includes(contentType))
      throw new StatusError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(', ')}`,
      );
    if (contentType === 'application/json-patch+json') return jsonPatch(target, patch);
    if (!isObject(patch))
      throw new StatusError(400, 'BadRequest', 'json: cannot unmarshal array into Go value of type map[string]interface {}');
    return mergePatch(target, patch);
  };

  const handle = (method: string, path: string, contentType: string | undefined, body: unknown): { status: number; body: Json } => {
    const match = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)(\/scale)?$/.exec(path);
    if (!match) throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
    const [, namespace = '', name = '', scale] = match;
    const current = store.get(key(namespace, name));
    if (!current) throw notFound(name);
    const withReplicas = (replicas: Json): JsonObject => ({ ...clone(current), spec: { ...clone(current.spec), replicas } }) as JsonObject;
    if (!scale) {
      if (method === 'GET') return { status: 200, body: clone(current) };
      if (method === 'PATCH') {
        const patched = applyPatch(contentType, clone(current), body);
        return { status: 200, body: clone(write(current, patched)) };
      }
    } else {
      if (method === 'GET') return { status: 200, body: scaleOf(current) };
      if (method === 'PATCH' || method === 'PUT') {
        const next = method === 'PATCH' ? applyPatch(contentType, scaleOf(current), body) : body;
        if (!isObject(next) || next.kind !== 'Scale' || !isObject(next.spec) || !isObject(next.metadata))
          throw new StatusError(400, 'BadRequest', 'the body of the request is not an autoscaling/v1 Scale');
        if (next.metadata.name !== name)
          throw new StatusError(
            400,
            'BadRequest',
            `the name of the object (${String(next.metadata.name)}) does not match the name on the URL (${name})`,
          );
        // A Scale without a resourceVersion is an unconditional update, as on a real server.
        const version = next.metadata.resourceVersion ?? current.metadata.resourceVersion;
        const updated = withReplicas(next.spec.replicas ?? null);
        (updated.metadata as JsonObject).resourceVersion = version;
        return { status: 200, body: scaleOf(write(current, updated)) };
      }
    }
    throw new StatusError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        body = raw;
      }
      const path = new URL(req.url ?? '/', 'http://fake').pathname;
      const contentType = req.headers['content-type']?.split(';')[0]?.trim();
      const authorized = req.headers.authorization === `Bearer ${token}`;
      requests.push({ method: req.method ?? '', path, contentType, authorized, body });
      let answer: { status: number; body: Json };
      try {
        if (!authorized) throw new StatusError(401, 'Unauthorized', 'Unauthorized');
        if (typeof body === 'string') throw new StatusError(400, 'BadRequest', 'the request body is not JSON');
        if (req.method !== 'GET' && nextWriteHook) {
          const hook = nextWriteHook;
          nextWriteHook = undefined;
          hook();
        }
        answer = handle(req.method ?? '', path, contentType, body);
      } catch (error) {
        if (!(error instanceof StatusError)) throw error;
        answer = { status: error.code, body: statusBody(error) };
      }
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    requests,
    addDeployment,
    deployment: (namespace, name) => {
      const d = store.get(key(namespace, name));
      return d && clone(d);
    },
    setStatus: (namespace, name, status) => {
      const d = store.get(key(namespace, name));
      if (!d) throw new Error(`no deployment ${namespace}/${name} in the fake`);
      d.status = { ...d.status, ...(status as JsonObject) };
    },
    setReplicas: (namespace, name, replicas) => {
      const d = store.get(key(namespace, name));
      if (!d) throw new Error(`no deployment ${namespace}/${name} in the fake`);
      write(d, { ...clone(d), spec: { ...clone(d.spec), replicas } });
    },
    beforeNextWrite: (hook) => {
      nextWriteHook = hook;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
