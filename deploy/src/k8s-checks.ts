import { containersOf, nameOf, podSpecOf, type K8sObject } from './kustomize.js';
import { schemaProblems } from './schemas.js';

type Json = Record<string, unknown>;

export interface K8sFacts {
  services: string[];
  config: Record<string, Set<string>>;
  infrastructure: Record<string, { postgres: boolean; redis: boolean }>;
  ports: Record<string, number>;
  /** Apps that must have a HorizontalPodAutoscaler (they keep no state of their own). */
  stateless: string[];
  /** The start script every app's image runs (the Dockerfile's CMD). */
  startScript: Record<string, string>;
}

const find = (objects: K8sObject[], kind: string, name: string): K8sObject | undefined =>
  objects.find((o) => o.kind === kind && o.metadata.name === name);

const selects = (selector: Json | undefined, labels: Record<string, string>): boolean => {
  const match = (selector?.matchLabels as Record<string, string> | undefined) ?? {};
  return Object.entries(match).every(([k, v]) => labels[k] === v);
};

const portsOf = (rules: Json[] | undefined): number[] =>
  (rules ?? []).flatMap((rule) => ((rule.ports as Json[] | undefined) ?? []).map((p) => Number(p.port)));

/** What is wrong with one rendered kustomization (base or overlay) against the apps (empty: nothing). */
export function k8sProblems(label: string, objects: K8sObject[], facts: K8sFacts): string[] {
  const problems = objects.flatMap(schemaProblems).map((p) => `${label}: ${p}`);
  const add = (message: string): void => {
    problems.push(`${label}: ${message}`);
  };
  for (const object of objects) if (!object.metadata.namespace) add(`${nameOf(object)} has no namespace`);

  const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
  const denyAll = policies.find((p) => {
    const spec = p.spec as Json;
    const types = (spec.policyTypes as string[] | undefined) ?? [];
    return (
      Object.keys((spec.podSelector as Json | undefined) ?? {}).length === 0 &&
      types.includes('Ingress') &&
      types.includes('Egress') &&
      !spec.ingress &&
      !spec.egress
    );
  });
  if (!denyAll) add('no default-deny NetworkPolicy (podSelector {}, Ingress and Egress, no rules)');
  const dns = policies.some(
    (p) =>
      portsOf((p.spec as Json).egress as Json[] | undefined).includes(53) &&
      Object.keys(((p.spec as Json).podSelector as Json) ?? {}).length === 0,
  );
  if (!dns) add('no NetworkPolicy lets every pod resolve names (egress to port 53)');

  for (const app of facts.services) {
    const deployment = find(objects, 'Deployment', app);
    const service = find(objects, 'Service', app);
    const policy = policies.find(
      (p) =>
        (((p.spec as Json).podSelector as Json | undefined)?.matchLabels as Record<string, string> | undefined)?.[
          'app.kubernetes.io/name'
        ] === app,
    );
    const pdb = objects.find(
      (o) => o.kind === 'PodDisruptionBudget' && selects((o.spec as Json).selector as Json, { 'app.kubernetes.io/name': app }),
    );
    if (!deployment) add(`app ${app} has no Deployment`);
    if (!service) add(`app ${app} has no Service`);
    if (!policy) add(`app ${app} has no NetworkPolicy of its own`);
    if (!pdb) add(`app ${app} has no PodDisruptionBudget`);
    if (facts.stateless.includes(app)) {
      const hpa = objects.find((o) => o.kind === 'HorizontalPodAutoscaler' && ((o.spec as Json).scaleTargetRef as Json).name === app);
      if (!hpa) add(`stateless app ${app} has no HorizontalPodAutoscaler`);
    }
    const port = facts.ports[app] ?? 0;
    const infra = facts.infrastructure[app] ?? { postgres: false, redis: false };
    if (deployment) problems.push(...deploymentProblems(label, app, deployment, objects, facts, port, infra));
    if (service) {
      const spec = service.spec as Json;
      const ports = (spec.ports as Json[] | undefined) ?? [];
      if (!ports.some((p) => Number(p.port) === port)) add(`Service/${app} does not expose port ${port}`);
      if (
        !deployment ||
        !selects(
          { matchLabels: spec.selector as Json },
          ((((deployment.spec as Json).template as Json).metadata as Json).labels as Record<string, string>) ?? {},
        )
      ) {
        add(`Service/${app} selects no pod of Deployment/${app}`);
      }
    }
    if (policy) {
      const spec = policy.spec as Json;
      const types = (spec.policyTypes as string[] | undefined) ?? [];
      if (!types.includes('Ingress') || !types.includes('Egress'))
        add(`NetworkPolicy/${policy.metadata.name} does not govern both Ingress and Egress`);
      const egress = portsOf(spec.egress as Json[] | undefined);
      if (infra.postgres && !egress.includes(5432)) add(`app ${app} opens Postgres but its NetworkPolicy allows no egress to 5432`);
      if (
        !infra.postgres &&
        ((spec.egress as Json[] | undefined) ?? []).some((rule) => portsOf([rule]).length === 1 && portsOf([rule])[0] === 5432)
      ) {
        add(`app ${app} never opens Postgres but its NetworkPolicy has a Postgres rule`);
      }
      if (infra.redis && !egress.includes(6379)) add(`app ${app} opens Redis but its NetworkPolicy allows no egress to 6379`);
      const ingress = (spec.ingress as Json[] | undefined) ?? [];
      if (!ingress.some((rule) => portsOf([rule]).includes(port)))
        add(`NetworkPolicy/${policy.metadata.name}: nothing may reach ${app} on ${port} (not even Prometheus)`);
      if (app === 'ingest' && !ingress.some((rule) => rule.from === undefined && portsOf([rule]).includes(port)))
        add('NetworkPolicy/ingest: alerts from outside cannot reach ingest');
    }
    // Every app reaches NATS: some egress policy selecting it allows 4222 to the NATS pods.
    const podLabels = deployment
      ? (((((deployment.spec as Json).template as Json).metadata as Json).labels as Record<string, string>) ?? {})
      : {};
    const toNats = policies.some((p) => {
      const spec = p.spec as Json;
      return (
        selectsPod(spec.podSelector as Json, podLabels) &&
        ((spec.egress as Json[] | undefined) ?? []).some((rule) => portsOf([rule]).includes(4222))
      );
    });
    if (deployment && !toNats) add(`app ${app} may not reach NATS (no egress to 4222 for its pods)`);
  }

  for (const hpa of objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')) {
    const target = (hpa.spec as Json).scaleTargetRef as Json;
    if (!find(objects, String(target.kind), String(target.name)))
      add(`${nameOf(hpa)} scales ${String(target.kind)}/${String(target.name)}, which is not here`);
  }

  const nats = find(objects, 'StatefulSet', 'nats');
  if (!nats) add('no NATS StatefulSet');
  return problems;
}

function selectsPod(selector: Json | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  if (!selects(selector, labels)) return false;
  for (const expression of (selector.matchExpressions as Json[] | undefined) ?? []) {
    const value = labels[String(expression.key)];
    const values = (expression.values as string[] | undefined) ?? [];
    if (expression.operator === 'In' && (value === undefined || !values.includes(value))) return false;
    if (expression.operator === 'NotIn' && value !== undefined && values.includes(value)) return false;
    if (expression.operator === 'Exists' && value === undefined) return false;
    if (expression.operator === 'DoesNotExist' && value !== undefined) return false;
  }
  return true;
}

function deploymentProblems(
  label: string,
  app: string,
  deployment: K8sObject,
  objects: K8sObject[],
  facts: K8sFacts,
  port: number,
  infra: { postgres: boolean; redis: boolean },
): string[] {
  const problems: string[] = [];
  const add = (message: string): void => {
    problems.push(`${label}: Deployment/${app}: ${message}`);
  };
  const pod = podSpecOf(deployment) ?? {};
  const template = (deployment.spec as Json).template as Json;
  const annotations = ((template.metadata as Json).annotations as Record<string, string> | undefined) ?? {};
  if (
    annotations['prometheus.io/scrape'] !== 'true' ||
    annotations['prometheus.io/port'] !== String(port) ||
    annotations['prometheus.io/path'] !== '/metrics'
  ) {
    add(`no Prometheus scrape annotations for /metrics on ${port}`);
  }
  const podSecurity = (pod.securityContext as Json | undefined) ?? {};
  if (podSecurity.runAsNonRoot !== true) add('pod may run as root (securityContext.runAsNonRoot)');
  const containers = containersOf(deployment);
  const container = containers.find((c) => c.name === app);
  if (!container) return [...problems, `${label}: Deployment/${app}: no container named ${app}`];
  const namedPort = ((container.ports as Json[] | undefined) ?? []).find((p) => Number(p.containerPort) === port);
  if (!namedPort) add(`the container does not declare port ${port}`);
  const probe = (kind: string, path: string): void => {
    const get = (container[kind] as Json | undefined)?.httpGet as Json | undefined;
    const target = get?.port;
    const onPort = target === port || (namedPort && target === namedPort.name);
    if (get?.path !== path || !onPort) add(`${kind} is not GET ${path} on ${port}`);
  };
  probe('readinessProbe', '/readyz');
  probe('livenessProbe', '/healthz');
  const resources = (container.resources as Json | undefined) ?? {};
  for (const side of ['requests', 'limits'])
    for (const resource of ['cpu', 'memory']) {
      if (!(resources[side] as Json | undefined)?.[resource]) add(`no ${resource} ${side}`);
    }
  const security = (container.securityContext as Json | undefined) ?? {};
  if (security.readOnlyRootFilesystem !== true) add('root filesystem is writable');
  if (security.allowPrivilegeEscalation !== false) add('privilege escalation is allowed');
  if (!((security.capabilities as Json | undefined)?.drop as string[] | undefined)?.includes('ALL'))
    add('capabilities are not all dropped');
  const tmp = ((container.volumeMounts as Json[] | undefined) ?? []).find((m) => m.mountPath === '/tmp');
  const tmpVolume = ((pod.volumes as Json[] | undefined) ?? []).find((v) => v.name === tmp?.name);
  if (!tmpVolume?.emptyDir) add('no emptyDir at /tmp');
  if (container.workingDir !== `/app/apps/${app}`) add(`workingDir is ${String(container.workingDir)}, not /app/apps/${app}`);
  const command = [...((container.command as string[] | undefined) ?? []), ...((container.args as string[] | undefined) ?? [])].join(' ');
  if (command && command !== facts.startScript[app]) add(`overrides the image's start command with "${command}"`);

  const known = facts.config[app] ?? new Set<string>();
  const env = (container.env as Json[] | undefined) ?? [];
  for (const entry of env) {
    const name = String(entry.name);
    if (!known.has(name)) add(`sets ${name}, which its configuration does not read`);
    const ref = (entry.valueFrom as Json | undefined)?.configMapKeyRef as Json | undefined;
    if (ref) {
      const map = find(objects, 'ConfigMap', String(ref.name));
      if (!map) add(`${name} comes from ConfigMap ${String(ref.name)}, which is not here`);
      else if (!(String(ref.key) in ((map.data as Json | undefined) ?? {})))
        add(`${name} comes from key ${String(ref.key)}, which ConfigMap ${String(ref.name)} lacks`);
    }
  }
  for (const source of (container.envFrom as Json[] | undefined) ?? []) {
    const ref = source.configMapRef as Json | undefined;
    if (!ref) continue;
    const map = find(objects, 'ConfigMap', String(ref.name));
    if (!map) {
      add(`envFrom ConfigMap ${String(ref.name)} is not here`);
      continue;
    }
    for (const key of Object.keys((map.data as Json | undefined) ?? {}))
      if (!known.has(key)) add(`gets ${key} from ConfigMap ${String(ref.name)}, which its configuration does not read`);
  }
  const names = new Set(env.map((e) => String(e.name)));
  if (infra.postgres !== names.has('DATABASE_URL'))
    add(infra.postgres ? 'opens Postgres but gets no DATABASE_URL' : 'gets DATABASE_URL it never uses');
  if (infra.redis !== names.has('REDIS_URL')) add(infra.redis ? 'opens Redis but gets no REDIS_URL' : 'gets REDIS_URL it never uses');
  return problems;
}

/** Keys of `vigil-secrets` that some Deployment requires (secretKeyRef with optional: false). */
export function requiredSecretKeys(objects: K8sObject[], secret: string): string[] {
  const keys = new Set<string>();
  for (const object of objects)
    for (const container of containersOf(object))
      for (const entry of (container.env as Json[] | undefined) ?? []) {
        const ref = (entry.valueFrom as Json | undefined)?.secretKeyRef as Json | undefined;
        if (ref && ref.name === secret && ref.optional === false) keys.add(String(ref.key));
      }
  return [...keys].sort();
}
