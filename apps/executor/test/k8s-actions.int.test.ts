import { KubeConfig } from '@kubernetes/client-node';
import type { ExecutorTargets } from '@vigil/catalog';
import { isVigilError } from '@vigil/errors';
import { createLogger } from '@vigil/platform';
import { checkShell, loadParsers } from '@vigil/policy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionContext, ActionDefinition } from '../src/actions/action.js';
import { createKubernetesActions, RESTARTED_AT_ANNOTATION } from '../src/actions/k8s.js';
import { startFakeKubernetes, type FakeKubernetes } from './fakes/kubernetes.js';

const NAMESPACE = 'shop';
const NOW = new Date('2026-11-22T20:15:42.123Z');
const log = createLogger({ service: 'executor-test', level: 'silent' });

let fake: FakeKubernetes;
let restart: ActionDefinition<unknown>;
let scale: ActionDefinition<unknown>;
let n = 0;

function kubeConfigFor(server: string, token: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'fake', server, skipTLSVerify: true }],
    users: [{ name: 'vigil-executor', token }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'vigil-executor', namespace: NAMESPACE }],
    currentContext: 'fake',
  });
  return config;
}

const actionsFor = (server: string, token: string) =>
  createKubernetesActions({ kubeConfig: kubeConfigFor(server, token), maxReplicas: 50, maxScaleFactor: 10, now: () => NOW });

/** A fresh deployment in the fake for one test, and the context of the service that declares it. */
function deployment(replicas = 3, seed: { paused?: boolean } = {}): { name: string; ctx: ActionContext } {
  const name = `cart-api-${++n}`;
  fake.addDeployment({ namespace: NAMESPACE, name, replicas, ...seed });
  return { name, ctx: context({ kubernetes: { namespace: NAMESPACE, deployment: name }, endpoints: {} }) };
}

function context(targets: ExecutorTargets, signal = new AbortController().signal): ActionContext {
  return { service: 'cart-api', targets, evidenceFacts: {}, signal, log, claimedAt: new Date() };
}

const writes = (name: string) => fake.requests.filter((r) => r.method !== 'GET' && r.path.includes(`/deployments/${name}`));

beforeAll(async () => {
  fake = await startFakeKubernetes();
  [restart, scale] = actionsFor(fake.url, fake.token) as [ActionDefinition<unknown>, ActionDefinition<unknown>];
  await loadParsers();
});
afterAll(() => fake.close());

describe('k8s.rollout_restart', () => {
  it('renders the kubectl command the safety policy re-reads, and the policy lets it through', () => {
    const { name, ctx } = deployment();
    const commands = restart.commands(restart.params.parse({ deployment: name }), ctx);
    expect(commands).toEqual([{ language: 'shell', text: `kubectl -n shop rollout restart deployment/${name}` }]);
    expect(checkShell(commands[0]!.text).decision).toBe('allow');
    expect(restart.risk).toBe('MEDIUM');
  });

  it('dry-runs the exact strategic merge patch without writing anything', async () => {
    const { name, ctx } = deployment(4);
    const text = await restart.dryRun(restart.params.parse({ deployment: name }), ctx);
    expect(text).toContain(`PATCH /apis/apps/v1/namespaces/shop/deployments/${name}`);
    expect(text).toContain('Content-Type: application/strategic-merge-patch+json');
    expect(text).toContain(`{"spec":{"template":{"metadata":{"annotations":{"${RESTARTED_AT_ANNOTATION}":"2026-11-22T20:15:42Z"}}}}}`);
    expect(text).toContain('4 pods of shop/' + name);
    expect(text).toContain('generation 1 becomes 2');
    expect(text).toContain('No inverse');
    expect(writes(name)).toEqual([]);
    expect(fake.deployment(NAMESPACE, name)?.metadata.generation).toBe(1);
  });

  it('goes ahead on a settled deployment that the service declares', async () => {
    const { name, ctx } = deployment();
    expect(await restart.preconditions(restart.params.parse({ deployment: name, namespace: NAMESPACE }), ctx)).toEqual([]);
  });

  it('refuses when the service declares no kubernetes target, without asking the API', async () => {
    const { name } = deployment();
    const before = fake.requests.length;
    const reasons = await restart.preconditions(restart.params.parse({ deployment: name }), context({ endpoints: {} }));
    expect(reasons).toEqual(['service cart-api declares no kubernetes target (executor.kubernetes in the service catalog)']);
    expect(fake.requests.length).toBe(before);
    await expect(restart.run(restart.params.parse({ deployment: name }), context({ endpoints: {} }))).rejects.toMatchObject({
      code: 'K8S_TARGET_REFUSED',
    });
    expect(writes(name)).toEqual([]);
  });

  it('refuses a deployment or namespace other than the declared one', async () => {
    const { ctx } = deployment();
    const other = deployment();
    const reasons = await restart.preconditions(restart.params.parse({ deployment: other.name }), ctx);
    expect(reasons).toEqual([expect.stringMatching(new RegExp(`^deployment ${other.name} is not the one service cart-api declares`))]);
    const declared = ctx.targets.kubernetes!.deployment;
    const wrongNamespace = await restart.preconditions(restart.params.parse({ deployment: declared, namespace: 'kube-system' }), ctx);
    expect(wrongNamespace).toEqual([`namespace kube-system is not the one service cart-api declares (shop/${declared})`]);
    await expect(restart.run(restart.params.parse({ deployment: other.name }), ctx)).rejects.toMatchObject({ code: 'K8S_TARGET_REFUSED' });
    expect(writes(other.name)).toEqual([]);
  });

  it('refuses a deployment that does not exist', async () => {
    const ctx = context({ kubernetes: { namespace: NAMESPACE, deployment: 'ghost' }, endpoints: {} });
    expect(await restart.preconditions(restart.params.parse({ deployment: 'ghost' }), ctx)).toEqual(['deployment shop/ghost not found']);
    const result = await restart.run(restart.params.parse({ deployment: 'ghost' }), ctx);
    expect(result).toMatchObject({
      status: 'failed',
      summary: expect.stringContaining('(404 NotFound): deployments.apps "ghost" not found'),
    });
  });

  it('refuses a deployment scaled to zero, a paused one, and one mid-rollout', async () => {
    const zero = deployment(0);
    expect(await restart.preconditions(restart.params.parse({ deployment: zero.name }), zero.ctx)).toEqual([
      `deployment shop/${zero.name} has 0 replicas: a restart would start nothing`,
    ]);
    const paused = deployment(2, { paused: true });
    expect(await restart.preconditions(restart.params.parse({ deployment: paused.name }), paused.ctx)).toEqual([
      `deployment shop/${paused.name} is paused: a restart would not roll out (resume it first)`,
    ]);
    const rolling = deployment(4);
    fake.setStatus(NAMESPACE, rolling.name, { updatedReplicas: 2, replicas: 5, availableReplicas: 3, unavailableReplicas: 2 });
    expect(await restart.preconditions(restart.params.parse({ deployment: rolling.name }), rolling.ctx)).toEqual([
      `deployment shop/${rolling.name} is mid-rollout (2 of 4 replicas updated; 2 unavailable): a restart now would stack another rollout on it`,
    ]);
  });

  it('patches the pod template annotation with the strategic merge patch type and reports the new generation', async () => {
    const { name, ctx } = deployment(3);
    const result = await restart.run(restart.params.parse({ deployment: name }), ctx);
    expect(result).toMatchObject({
      status: 'succeeded',
      summary: `restarted deployment shop/${name} (restartedAt 2026-11-22T20:15:42Z); new generation 2`,
      output: { stdout: `deployment.apps/${name} restarted\n`, exitCode: 0 },
    });
    expect(result.compensation).toBeUndefined();
    const stored = fake.deployment(NAMESPACE, name)!;
    expect(stored.metadata.generation).toBe(2);
    expect((stored.spec.template as { metadata: { annotations: Record<string, string> } }).metadata.annotations).toEqual({
      [RESTARTED_AT_ANNOTATION]: '2026-11-22T20:15:42Z',
    });
    expect(writes(name)).toEqual([
      {
        method: 'PATCH',
        path: `/apis/apps/v1/namespaces/shop/deployments/${name}`,
        contentType: 'application/strategic-merge-patch+json',
        authorized: true,
        body: { spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: '2026-11-22T20:15:42Z' } } } } },
      },
    ]);
  });
});

describe('k8s.scale', () => {
  it('renders kubectl scale for the safety policy, which sends a change (and zero above all) to review', () => {
    const { name, ctx } = deployment();
    const [up] = scale.commands(scale.params.parse({ deployment: name, replicas: 6 }), ctx);
    expect(up).toEqual({ language: 'shell', text: `kubectl -n shop scale deployment/${name} --replicas=6` });
    expect(checkShell(up!.text).decision).toBe('review');
    const [zero] = scale.commands(scale.params.parse({ deployment: name, replicas: 0 }), ctx);
    expect(checkShell(zero!.text).findings.map((f) => f.rule)).toContain('kubectl-scale-zero');
  });

  it('checks the parameters: a replica count within 0..max, and a deployment name fit for a URL and a shell', () => {
    expect(scale.params.safeParse({ deployment: 'cart-api', replicas: 51 }).success).toBe(false);
    expect(scale.params.safeParse({ deployment: 'cart-api', replicas: -1 }).success).toBe(false);
    expect(scale.params.safeParse({ deployment: 'cart-api', replicas: 1.5 }).success).toBe(false);
    expect(scale.params.safeParse({ deployment: 'cart-api; rm -rf /', replicas: 2 }).success).toBe(false);
    expect(scale.params.safeParse({ deployment: 'cart-api', replicas: 50 }).success).toBe(true);
  });

  it('dry-runs the scale replacement and its compensation without writing anything; zero is flagged high risk', async () => {
    const { name, ctx } = deployment(3);
    const text = await scale.dryRun(scale.params.parse({ deployment: name, replicas: 6 }), ctx);
    const resourceVersion = fake.deployment(NAMESPACE, name)!.metadata.resourceVersion;
    expect(text).toContain(`PUT /apis/apps/v1/namespaces/shop/deployments/${name}/scale`);
    expect(text).toContain(
      `{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"${name}","namespace":"shop","resourceVersion":"${resourceVersion}"},"spec":{"replicas":6}}`,
    );
    expect(text).toContain(`shop/${name} goes from 3 to 6 replicas`);
    expect(text).toContain('Compensation: k8s.scale back to 3 replicas.');
    expect(text).not.toContain('HIGH RISK');
    expect(await scale.dryRun(scale.params.parse({ deployment: name, replicas: 0 }), ctx)).toContain('HIGH RISK: scales to zero');
    expect(writes(name)).toEqual([]);
    expect(fake.deployment(NAMESPACE, name)?.spec.replicas).toBe(3);
  });

  it('refuses a missing target, another deployment, an unknown one, and a change of more than 10x', async () => {
    const { name, ctx } = deployment(2);
    expect(await scale.preconditions(scale.params.parse({ deployment: name, replicas: 3 }), context({ endpoints: {} }))).toEqual([
      'service cart-api declares no kubernetes target (executor.kubernetes in the service catalog)',
    ]);
    expect(await scale.preconditions(scale.params.parse({ deployment: 'payments', replicas: 3 }), ctx)).toEqual([
      `deployment payments is not the one service cart-api declares (shop/${name})`,
    ]);
    const ghost = context({ kubernetes: { namespace: NAMESPACE, deployment: 'ghost' }, endpoints: {} });
    expect(await scale.preconditions(scale.params.parse({ deployment: 'ghost', replicas: 3 }), ghost)).toEqual([
      'deployment shop/ghost not found',
    ]);
    expect(await scale.preconditions(scale.params.parse({ deployment: name, replicas: 21 }), ctx)).toEqual([
      'scaling from 2 to 21 replicas is a change of more than 10x in one step',
    ]);
    expect(await scale.preconditions(scale.params.parse({ deployment: name, replicas: 20 }), ctx)).toEqual([]);
    const big = deployment(40);
    expect(await scale.preconditions(scale.params.parse({ deployment: big.name, replicas: 3 }), big.ctx)).toEqual([
      'scaling from 40 to 3 replicas is a change of more than 10x in one step',
    ]);
    // Zero is the safety policy's decision (a human approves it), not a precondition.
    expect(await scale.preconditions(scale.params.parse({ deployment: big.name, replicas: 0 }), big.ctx)).toEqual([]);
    expect(writes(name)).toEqual([]);
  });

  it('scales through the scale subresource and its compensation restores the old count', async () => {
    const { name, ctx } = deployment(3);
    const result = await scale.run(scale.params.parse({ deployment: name, replicas: 6 }), ctx);
    expect(result).toMatchObject({ status: 'succeeded', summary: `scaled deployment shop/${name} from 3 to 6 replicas` });
    expect(fake.deployment(NAMESPACE, name)?.spec.replicas).toBe(6);
    expect(fake.deployment(NAMESPACE, name)?.metadata.generation).toBe(2);
    expect(writes(name).map((r) => [r.method, r.path])).toEqual([['PUT', `/apis/apps/v1/namespaces/shop/deployments/${name}/scale`]]);

    const compensation = result.compensation!;
    expect(compensation).toMatchObject({
      kind: 'action',
      action: 'k8s.scale',
      params: { deployment: name, namespace: NAMESPACE, replicas: 3 },
    });
    const undo = scale.params.parse(compensation.params);
    expect(await scale.preconditions(undo, ctx)).toEqual([]);
    expect(await scale.run(undo, ctx)).toMatchObject({
      status: 'succeeded',
      summary: `scaled deployment shop/${name} from 6 to 3 replicas`,
    });
    expect(fake.deployment(NAMESPACE, name)?.spec.replicas).toBe(3);
  });

  it('fails without overwriting when someone else scales the deployment between its read and its write', async () => {
    const { name, ctx } = deployment(3);
    fake.beforeNextWrite(() => fake.setReplicas(NAMESPACE, name, 8));
    const result = await scale.run(scale.params.parse({ deployment: name, replicas: 6 }), ctx);
    expect(result).toEqual({
      status: 'failed',
      summary: expect.stringContaining(`(409 Conflict): Operation cannot be fulfilled on deployments.apps "${name}"`),
    });
    expect(fake.deployment(NAMESPACE, name)?.spec.replicas).toBe(8);
  });

  it('does nothing when the deployment already has the requested count', async () => {
    const { name, ctx } = deployment(3);
    const result = await scale.run(scale.params.parse({ deployment: name, replicas: 3 }), ctx);
    expect(result).toMatchObject({ status: 'succeeded', summary: `deployment shop/${name} already had 3 replicas` });
    expect(result.compensation).toBeUndefined();
    expect(writes(name)).toEqual([]);
  });
});

describe('the Kubernetes API connection', () => {
  it('sends the bearer token, and never puts it in an error when the API refuses it', async () => {
    const { name, ctx } = deployment();
    await restart.preconditions(restart.params.parse({ deployment: name }), ctx);
    expect(fake.requests.filter((r) => r.path.endsWith(`/deployments/${name}`)).every((r) => r.authorized)).toBe(true);

    const wrongToken = 'wrong-token-5b1d0c7e';
    const [badRestart, badScale] = actionsFor(fake.url, wrongToken) as [ActionDefinition<unknown>, ActionDefinition<unknown>];
    const failures = await Promise.all([
      badRestart!.preconditions(badRestart!.params.parse({ deployment: name }), ctx).catch((e: unknown) => e),
      badScale!.run(badScale!.params.parse({ deployment: name, replicas: 4 }), ctx).catch((e: unknown) => e),
    ]);
    for (const error of failures) {
      expect(isVigilError(error, 'K8S_UNAUTHORIZED')).toBe(true);
      expect((error as Error).message).toContain('401 Unauthorized');
      for (const text of [
        (error as Error).message,
        JSON.stringify(error),
        String((error as Error).stack),
        String((error as Error).cause),
      ]) {
        expect(text).not.toContain(wrongToken);
        expect(text).not.toContain(fake.token);
      }
    }
    expect(fake.deployment(NAMESPACE, name)?.spec.replicas).toBe(3);
  });

  it('reports an unreachable API server as retryable, without the token', async () => {
    const closed = await startFakeKubernetes({ token: 'closed-token-77aa' });
    const url = closed.url;
    await closed.close();
    const [unreachable] = actionsFor(url, closed.token) as [ActionDefinition<unknown>];
    const ctx = context({ kubernetes: { namespace: NAMESPACE, deployment: 'cart-api' }, endpoints: {} });
    const error = await unreachable!.preconditions(unreachable!.params.parse({ deployment: 'cart-api' }), ctx).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'K8S_UNREACHABLE', retryable: true });
    expect(JSON.stringify(error) + String((error as Error).message)).not.toContain(closed.token);
  });

  it('stops a request when the action deadline has passed', async () => {
    const { name } = deployment();
    const aborted = AbortSignal.abort();
    const ctx = context({ kubernetes: { namespace: NAMESPACE, deployment: name }, endpoints: {} }, aborted);
    await expect(restart.run(restart.params.parse({ deployment: name }), ctx)).rejects.toMatchObject({ code: 'K8S_ABORTED' });
    expect(writes(name)).toEqual([]);
  });
});
