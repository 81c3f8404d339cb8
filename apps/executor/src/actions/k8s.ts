import {
  ApiException,
  AppsV1Api,
  KubeConfig,
  Observable,
  PatchStrategy,
  setHeaderOptions,
  type ConfigurationOptions,
  type ObservableMiddleware,
  type V1Deployment,
} from '@kubernetes/client-node';
import { z } from 'zod';
import { VigilError } from '@vigil/errors';
import { defineAction, type ActionContext, type ActionDefinition, type ActionResult } from './action.js';

/**
 * `k8s.rollout_restart` and `k8s.scale` through the official client. The deployment they act on
 * is the one the service catalog declares (`executor.kubernetes`); parameters may only repeat it,
 * so a plan can never aim an action at another workload.
 */

/** The annotation `kubectl rollout restart` sets on the pod template. */
export const RESTARTED_AT_ANNOTATION = 'kubectl.kubernetes.io/restartedAt';

export interface KubernetesActionLimits {
  /** The most replicas `k8s.scale` may ask for (50). */
  maxReplicas?: number;
  /** The largest change `k8s.scale` makes in one step, as a ratio of old and new counts (10). */
  maxScaleFactor?: number;
  /** The clock the restart annotation reads. */
  now?: () => Date;
}

export type KubernetesActionOptions = ({ kubeConfig: KubeConfig } | { loadDefault: true }) & KubernetesActionLimits;

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// Names are checked before they reach a URL or the shell rendering the safety policy reads.
const Deployment = z.string().max(253).regex(DNS_SUBDOMAIN, 'a deployment name (DNS-1123: a-z, 0-9, "-" and ".")');
const Namespace = z.string().max(63).regex(DNS_LABEL, 'a namespace (DNS-1123 label: a-z, 0-9, "-")');

interface Target {
  namespace: string;
  deployment: string;
}

/** The declared target, or why the params may not act on it. */
function resolveTarget(params: { deployment: string; namespace?: string | undefined }, ctx: ActionContext): Target | string {
  const declared = ctx.targets.kubernetes;
  if (!declared) return `service ${ctx.service} declares no kubernetes target (executor.kubernetes in the service catalog)`;
  const where = `${declared.namespace}/${declared.deployment}`;
  if (params.deployment !== declared.deployment)
    return `deployment ${params.deployment} is not the one service ${ctx.service} declares (${where})`;
  if (params.namespace !== undefined && params.namespace !== declared.namespace)
    return `namespace ${params.namespace} is not the one service ${ctx.service} declares (${where})`;
  return declared;
}

function targetOrThrow(params: { deployment: string; namespace?: string | undefined }, ctx: ActionContext): Target {
  const target = resolveTarget(params, ctx);
  if (typeof target === 'string') throw new VigilError('K8S_TARGET_REFUSED', target, { retryable: false });
  return target;
}

const kubectl = (params: { deployment: string; namespace?: string | undefined }, ctx: ActionContext, rest: string): string => {
  const namespace = ctx.targets.kubernetes?.namespace ?? params.namespace;
  return `kubectl ${namespace ? `-n ${namespace} ` : ''}${rest}`;
};

/** Binds the action's deadline to the request, and sets the patch type where one is needed. */
function requestOptions(signal: AbortSignal, contentType?: string): ConfigurationOptions {
  const abortable: ObservableMiddleware = {
    pre: (request) => {
      request.setSignal(signal);
      return new Observable(Promise.resolve(request));
    },
    post: (response) => new Observable(Promise.resolve(response)),
  };
  const options: ConfigurationOptions = { middleware: [abortable], middlewareMergeStrategy: 'append' };
  // The generated client picks application/json-patch+json for every PATCH unless told otherwise.
  return contentType ? setHeaderOptions('Content-Type', contentType, options) : options;
}

/** 4xx answers mean the API server decided and nothing changed; anything else leaves the outcome open. */
const DEFINITE = new Set(['K8S_NOT_FOUND', 'K8S_CONFLICT', 'K8S_REJECTED']);

const STATUS_REASONS: Record<number, string> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  429: 'TooManyRequests',
};

/**
 * A client failure as a VigilError carrying only the API server's Status (code, reason, message):
 * never the client's own exception text or request, so no credential reaches a log or a timeline.
 */
function kubernetesError(what: string, error: unknown, signal: AbortSignal): VigilError {
  if (error instanceof ApiException) {
    const code = error.code as number;
    let status: { reason?: unknown; message?: unknown } = {};
    try {
      status = typeof error.body === 'string' ? (JSON.parse(error.body) as typeof status) : {};
    } catch {
      // Not a Status object (a proxy's HTML page): the HTTP code says enough.
    }
    // The generated client drops the Status body of a 401, so the usual reasons are named here.
    const reason = typeof status.reason === 'string' ? status.reason : (STATUS_REASONS[code] ?? `HTTP ${code}`);
    const detail = typeof status.message === 'string' ? `: ${status.message}` : '';
    const message = `Kubernetes API ${what} failed (${code} ${reason})${detail}`;
    const details = { status: code, reason };
    if (code === 401) return new VigilError('K8S_UNAUTHORIZED', message, { details });
    if (code === 403) return new VigilError('K8S_FORBIDDEN', message, { details });
    if (code === 404) return new VigilError('K8S_NOT_FOUND', message, { details });
    if (code === 409) return new VigilError('K8S_CONFLICT', message, { retryable: true, details });
    if (code === 429 || code >= 500) return new VigilError('K8S_UNAVAILABLE', message, { retryable: true, details });
    return new VigilError('K8S_REJECTED', message, { details });
  }
  if (signal.aborted)
    return new VigilError('K8S_ABORTED', `Kubernetes API ${what} was cut off by the action's deadline`, { retryable: true });
  const text = error instanceof Error ? error.message : String(error);
  return new VigilError('K8S_UNREACHABLE', `Kubernetes API ${what} failed: ${text}`, { retryable: true });
}

/** Why a rollout is still under way (the checks `kubectl rollout status` makes), or undefined. */
export function rolloutInProgress(deployment: V1Deployment): string | undefined {
  const generation = deployment.metadata?.generation ?? 0;
  const status = deployment.status ?? {};
  const wanted = deployment.spec?.replicas ?? 1;
  const updated = status.updatedReplicas ?? 0;
  if ((status.observedGeneration ?? 0) < generation)
    return `generation ${generation} not yet observed by the controller (observed ${status.observedGeneration ?? 0})`;
  if (updated < wanted) return `${updated} of ${wanted} replicas updated`;
  if ((status.replicas ?? 0) > updated) return `${(status.replicas ?? 0) - updated} old replicas pending termination`;
  return undefined;
}

const unavailableOf = (deployment: V1Deployment): number =>
  deployment.status?.unavailableReplicas ?? Math.max(0, (deployment.spec?.replicas ?? 1) - (deployment.status?.availableReplicas ?? 0));

export const restartPatch = (at: Date): Record<string, unknown> => ({
  spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: at.toISOString().replace(/\.\d{3}Z$/, 'Z') } } } },
});

const output = (stdout: string): ActionResult['output'] => ({ stdout, stderr: '', exitCode: 0, truncated: false });

/** The two Kubernetes actions, with a client built from the given kubeconfig (or the default one, loaded on first use). */
export function createKubernetesActions(options: KubernetesActionOptions): ActionDefinition<unknown>[] {
  const maxReplicas = options.maxReplicas ?? 50;
  const maxFactor = options.maxScaleFactor ?? 10;
  const now = options.now ?? (() => new Date());
  let apps: AppsV1Api | undefined;
  const api = (): AppsV1Api => {
    if (!apps) {
      let config: KubeConfig;
      if ('kubeConfig' in options) config = options.kubeConfig;
      else {
        config = new KubeConfig();
        config.loadFromDefault();
      }
      apps = config.makeApiClient(AppsV1Api);
    }
    return apps;
  };

  const call = async <T>(what: string, signal: AbortSignal, send: () => Promise<T>): Promise<T> => {
    try {
      return await send();
    } catch (error) {
      throw kubernetesError(what, error, signal);
    }
  };
  /** The deployment, or undefined when the API server says it does not exist. */
  const readDeployment = async ({ namespace, deployment }: Target, signal: AbortSignal): Promise<V1Deployment | undefined> => {
    try {
      return await call(`GET deployment ${namespace}/${deployment}`, signal, () =>
        api().readNamespacedDeployment({ name: deployment, namespace }, requestOptions(signal)),
      );
    } catch (error) {
      if (error instanceof VigilError && error.code === 'K8S_NOT_FOUND') return undefined;
      throw error;
    }
  };
  const readScale = async ({ namespace, deployment }: Target, signal: AbortSignal) => {
    try {
      const scale = await call(`GET deployment ${namespace}/${deployment} scale`, signal, () =>
        api().readNamespacedDeploymentScale({ name: deployment, namespace }, requestOptions(signal)),
      );
      return { replicas: scale.spec?.replicas ?? 0, resourceVersion: scale.metadata?.resourceVersion };
    } catch (error) {
      if (error instanceof VigilError && error.code === 'K8S_NOT_FOUND') return undefined;
      throw error;
    }
  };
  /** A 4xx from the API server is a failed step (nothing changed); anything else propagates as an unknown outcome. */
  const failedIfDefinite = (error: unknown): ActionResult => {
    if (error instanceof VigilError && DEFINITE.has(error.code)) return { status: 'failed', summary: error.message };
    throw error;
  };

  const RestartParams = z.strictObject({ deployment: Deployment, namespace: Namespace.optional() });
  const rolloutRestart = defineAction<z.infer<typeof RestartParams>>({
    name: 'k8s.rollout_restart',
    description:
      'Restarts every pod of the declared deployment by a rolling update, as `kubectl rollout restart` does: ' +
      `sets the pod template annotation ${RESTARTED_AT_ANNOTATION} to now.`,
    params: RestartParams,
    risk: 'MEDIUM',
    blastRadius: 'every pod of one deployment (the one the service catalog declares), replaced by a rolling update',
    timeoutMs: 30_000,
    commands: (params, ctx) => [{ language: 'shell', text: kubectl(params, ctx, `rollout restart deployment/${params.deployment}`) }],
    async preconditions(params, ctx) {
      const target = resolveTarget(params, ctx);
      if (typeof target === 'string') return [target];
      const where = `${target.namespace}/${target.deployment}`;
      const deployment = await readDeployment(target, ctx.signal);
      if (!deployment) return [`deployment ${where} not found`];
      const reasons: string[] = [];
      if (deployment.spec?.paused) reasons.push(`deployment ${where} is paused: a restart would not roll out (resume it first)`);
      const replicas = deployment.spec?.replicas ?? 1;
      if (replicas === 0) reasons.push(`deployment ${where} has 0 replicas: a restart would start nothing`);
      const inProgress = rolloutInProgress(deployment);
      if (inProgress)
        reasons.push(
          `deployment ${where} is mid-rollout (${inProgress}; ${unavailableOf(deployment)} unavailable): ` +
            'a restart now would stack another rollout on it',
        );
      return reasons;
    },
    async dryRun(params, ctx) {
      const target = targetOrThrow(params, ctx);
      const where = `${target.namespace}/${target.deployment}`;
      const deployment = await readDeployment(target, ctx.signal);
      const patch = JSON.stringify(restartPatch(now()));
      const lines = [
        `PATCH /apis/apps/v1/namespaces/${target.namespace}/deployments/${target.deployment}`,
        `Content-Type: ${PatchStrategy.StrategicMergePatch}`,
        patch,
        `(${RESTARTED_AT_ANNOTATION} takes the time of the run)`,
      ];
      if (!deployment) return [...lines, `deployment ${where} does not exist now: the patch would fail`].join('\n');
      const strategy = deployment.spec?.strategy;
      const rolling = strategy?.rollingUpdate;
      lines.push(
        `Effect: ${deployment.spec?.replicas ?? 1} pods of ${where} replaced by a ${strategy?.type ?? 'RollingUpdate'}` +
          (rolling ? ` (maxSurge ${String(rolling.maxSurge ?? '25%')}, maxUnavailable ${String(rolling.maxUnavailable ?? '25%')})` : '') +
          `; generation ${deployment.metadata?.generation ?? 0} becomes ${(deployment.metadata?.generation ?? 0) + 1}.`,
      );
      const unavailable = unavailableOf(deployment);
      if (unavailable > 0) lines.push(`Now: ${unavailable} replicas unavailable.`);
      lines.push('No inverse: the replaced pods cannot be brought back, and undoing the annotation would roll out new pods again.');
      return lines.join('\n');
    },
    async run(params, ctx) {
      const target = targetOrThrow(params, ctx);
      const where = `${target.namespace}/${target.deployment}`;
      const at = now();
      try {
        const patched = await call(`PATCH deployment ${where}`, ctx.signal, () =>
          api().patchNamespacedDeployment(
            { name: target.deployment, namespace: target.namespace, body: restartPatch(at), fieldManager: 'vigil-executor' },
            requestOptions(ctx.signal, PatchStrategy.StrategicMergePatch),
          ),
        );
        const generation = patched.metadata?.generation ?? 0;
        const stamp = patched.spec?.template?.metadata?.annotations?.[RESTARTED_AT_ANNOTATION] ?? '';
        ctx.log.info({ deployment: where, generation, restartedAt: stamp }, 'deployment restarted');
        // No compensation: the old pods are gone for good; a rollout undo would only replace them again.
        return {
          status: 'succeeded',
          summary: `restarted deployment ${where} (restartedAt ${stamp}); new generation ${generation}`,
          output: output(`deployment.apps/${target.deployment} restarted\n`),
        };
      } catch (error) {
        return failedIfDefinite(error);
      }
    },
  });

  const ScaleParams = z.strictObject({
    deployment: Deployment,
    namespace: Namespace.optional(),
    replicas: z.number().int().min(0).max(maxReplicas),
  });
  type ScaleParams = z.infer<typeof ScaleParams>;
  /** Why a change from `from` to `to` replicas is too large for one step; scaling to zero is the policy's call. */
  const tooLarge = (from: number, to: number): string | undefined => {
    if (to === 0 || to === from) return undefined;
    const factor = Math.max(from, to) / Math.max(Math.min(from, to), 1);
    return factor > maxFactor ? `scaling from ${from} to ${to} replicas is a change of more than ${maxFactor}x in one step` : undefined;
  };
  const scale = defineAction<ScaleParams>({
    name: 'k8s.scale',
    description: 'Sets the replica count of the declared deployment through its scale subresource, as `kubectl scale` does.',
    params: ScaleParams,
    // HIGH when it scales to zero: the safety policy sends `--replicas=0` to a human, and the dry run says so.
    risk: 'MEDIUM',
    blastRadius: 'the replica count of one deployment (the one the service catalog declares)',
    timeoutMs: 30_000,
    commands: (params, ctx) => [
      { language: 'shell', text: kubectl(params, ctx, `scale deployment/${params.deployment} --replicas=${params.replicas}`) },
    ],
    async preconditions(params, ctx) {
      const target = resolveTarget(params, ctx);
      if (typeof target === 'string') return [target];
      const current = await readScale(target, ctx.signal);
      if (!current) return [`deployment ${target.namespace}/${target.deployment} not found`];
      const refusal = tooLarge(current.replicas, params.replicas);
      return refusal ? [refusal] : [];
    },
    async dryRun(params, ctx) {
      const target = targetOrThrow(params, ctx);
      const where = `${target.namespace}/${target.deployment}`;
      const current = await readScale(target, ctx.signal);
      if (!current) return `deployment ${where} does not exist now: nothing would be scaled`;
      if (current.replicas === params.replicas) return `deployment ${where} already has ${params.replicas} replicas: nothing would change`;
      const lines = [
        `PUT /apis/apps/v1/namespaces/${target.namespace}/deployments/${target.deployment}/scale`,
        JSON.stringify(scaleBody(target, params.replicas, current.resourceVersion)),
        `(refused with 409 Conflict if the deployment changes after resourceVersion ${current.resourceVersion ?? '?'})`,
        `Effect: ${where} goes from ${current.replicas} to ${params.replicas} replicas.`,
      ];
      if (params.replicas === 0)
        lines.push(
          'HIGH RISK: scales to zero; the service stops serving. Only a human-approved plan reaches this (the safety policy reviews --replicas=0).',
        );
      lines.push(`Compensation: k8s.scale back to ${current.replicas} replicas.`);
      return lines.join('\n');
    },
    async run(params, ctx) {
      const target = targetOrThrow(params, ctx);
      const where = `${target.namespace}/${target.deployment}`;
      try {
        const current = await readScale(target, ctx.signal);
        if (!current) return { status: 'failed', summary: `deployment ${where} not found` };
        if (current.replicas === params.replicas)
          return { status: 'succeeded', summary: `deployment ${where} already had ${params.replicas} replicas`, output: output('') };
        const refusal = tooLarge(current.replicas, params.replicas);
        if (refusal) return { status: 'failed', summary: refusal };
        // Replacing with the resourceVersion just read: if anything scaled it meanwhile, the API
        // server refuses (409), so the compensation below always restores what this step replaced.
        const scaled = await call(`PUT deployment ${where} scale`, ctx.signal, () =>
          api().replaceNamespacedDeploymentScale(
            {
              name: target.deployment,
              namespace: target.namespace,
              body: scaleBody(target, params.replicas, current.resourceVersion),
              fieldManager: 'vigil-executor',
            },
            requestOptions(ctx.signal),
          ),
        );
        ctx.log.info({ deployment: where, from: current.replicas, to: scaled.spec?.replicas }, 'deployment scaled');
        return {
          status: 'succeeded',
          summary: `scaled deployment ${where} from ${current.replicas} to ${scaled.spec?.replicas ?? params.replicas} replicas`,
          output: output(`deployment.apps/${target.deployment} scaled\n`),
          compensation: {
            kind: 'action',
            id: `undo-k8s-scale-${target.deployment}`,
            action: 'k8s.scale',
            params: { deployment: target.deployment, namespace: target.namespace, replicas: current.replicas },
            reasoning: `restores the ${current.replicas} replicas ${where} had before it was scaled to ${params.replicas}`,
          },
        };
      } catch (error) {
        return failedIfDefinite(error);
      }
    },
  });

  return [rolloutRestart, scale];
}

const scaleBody = (target: Target, replicas: number, resourceVersion: string | undefined) => ({
  apiVersion: 'autoscaling/v1',
  kind: 'Scale',
  metadata: { name: target.deployment, namespace: target.namespace, ...(resourceVersion ? { resourceVersion } : {}) },
  spec: { replicas },
});
