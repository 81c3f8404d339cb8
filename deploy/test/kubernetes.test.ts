import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadFacts, type Facts } from '../src/facts.js';
import { k8sProblems, requiredSecretKeys, type K8sFacts } from '../src/k8s-checks.js';
import { nameOf, renderKustomization, type K8sObject } from '../src/kustomize.js';
import { repoRoot } from '../src/repo.js';
import { schemaProblems } from '../src/schemas.js';

const k8s = join(repoRoot, 'k8s');
const render = (dir: string): K8sObject[] => renderKustomization(join(k8s, dir));
/** One rendered object by kind/name, typed for the fields a test reads. */
function pick<T>(objects: K8sObject[], name: string): T {
  const found = objects.find((o) => nameOf(o) === name);
  if (!found) throw new Error(`${name} is not rendered`);
  return found as unknown as T;
}
/** Apps that keep no state of their own: each must be autoscaled. */
const stateless = ['ingest', 'investigator', 'memory', 'reasoner', 'verifier'];

let facts: K8sFacts;
beforeAll(async () => {
  const loaded: Facts = await loadFacts();
  facts = { ...loaded, stateless };
}, 120_000);

describe.each(['base', 'overlays/dev', 'overlays/prod'])('k8s/%s', (dir) => {
  it('renders, every object validates against the Kubernetes schemas, every app is complete and least-privileged', () => {
    const objects = render(dir);
    expect(objects.length).toBeGreaterThan(40);
    expect(k8sProblems(dir, objects, facts)).toEqual([]);
  });
});

describe('the manifests', () => {
  it('have a Deployment, a Service and a NetworkPolicy for every app', () => {
    const objects = render('base');
    for (const app of facts.services)
      for (const kind of ['Deployment', 'Service', 'NetworkPolicy'])
        expect(objects.map(nameOf), `${kind}/${app}`).toContain(`${kind}/${app}`);
  });

  it('run NATS as a three-server JetStream cluster with a volume each, and raise the streams to R3', () => {
    for (const dir of ['base', 'overlays/prod']) {
      const objects = render(dir);
      const nats = pick<{ spec: { replicas: number; volumeClaimTemplates: unknown[] } }>(objects, 'StatefulSet/nats');
      expect(nats.spec.replicas).toBe(3);
      expect(nats.spec.volumeClaimTemplates).toHaveLength(1);
      const conf = pick<{ data: Record<string, string> }>(objects, 'ConfigMap/nats-config').data['nats.conf']!;
      expect(conf).toMatch(/jetstream \{/);
      for (const i of [0, 1, 2]) expect(conf).toContain(`nats://nats-${i}.nats-headless:6222`);
      expect(objects.map(nameOf)).toContain('Job/nats-streams');
    }
  });

  it('give the dev overlay one NATS server and every secret a service requires', () => {
    const objects = render('overlays/dev');
    expect(pick<{ spec: { replicas: number } }>(objects, 'StatefulSet/nats').spec.replicas).toBe(1);
    expect(objects.map(nameOf)).not.toContain('Job/nats-streams');
    const secret = pick<{ data: Record<string, string> }>(objects, 'Secret/vigil-secrets');
    expect(Object.keys(secret.data).sort()).toEqual(expect.arrayContaining(requiredSecretKeys(objects, 'vigil-secrets')));
    expect(requiredSecretKeys(objects, 'vigil-secrets')).toEqual(
      expect.arrayContaining([
        'APPROVER_API_TOKENS',
        'APPROVER_POLICY',
        'DATABASE_URL',
        'ORCHESTRATOR_API_TOKENS',
        'REDIS_URL',
        'VIGIL_ROUTING_KEYS',
      ]),
    );
  });

  it('pin the production image and run two copies of each service at least', () => {
    const objects = render('overlays/prod');
    for (const app of facts.services) {
      const deployment = pick<{ spec: { replicas: number; template: { spec: { containers: Array<{ image: string }> } } } }>(
        objects,
        `Deployment/${app}`,
      );
      expect(deployment.spec.template.spec.containers[0]!.image).toBe('registry.example.com/vigil:0.1.0');
      const hpa = objects.find((o) => nameOf(o) === `HorizontalPodAutoscaler/${app}`) as unknown as
        { spec: { minReplicas: number } } | undefined;
      expect(hpa ? hpa.spec.minReplicas : deployment.spec.replicas, app).toBeGreaterThanOrEqual(2);
    }
  });

  it('name an app whose Deployment, Service or NetworkPolicy is missing', () => {
    const objects = render('base').filter((o) => !['Deployment/verifier', 'Service/memory', 'NetworkPolicy/ingest'].includes(nameOf(o)));
    const problems = k8sProblems('base', objects, facts);
    expect(problems).toContain('base: app verifier has no Deployment');
    expect(problems).toContain('base: app memory has no Service');
    expect(problems).toContain('base: app ingest has no NetworkPolicy of its own');
  });

  it('name what is wrong in a Deployment: a writable root, a wrong probe, a variable nobody reads', () => {
    const objects = render('base');
    const deployment = objects.find((o) => nameOf(o) === 'Deployment/reasoner') as unknown as {
      spec: {
        template: { spec: { containers: Array<Record<string, unknown> & { securityContext: Record<string, unknown>; env: unknown[] }> } };
      };
    };
    const container = deployment.spec.template.spec.containers[0]!;
    container.securityContext.readOnlyRootFilesystem = false;
    container.readinessProbe = { httpGet: { path: '/healthz', port: 'http' } };
    container.env.push({ name: 'REASONER_TYPO', value: '1' });
    expect(k8sProblems('base', objects, facts)).toEqual([
      'base: Deployment/reasoner: readinessProbe is not GET /readyz on 7405',
      'base: Deployment/reasoner: root filesystem is writable',
      'base: Deployment/reasoner: sets REASONER_TYPO, which its configuration does not read',
    ]);
  });

  it('name an app that opens Postgres but may not reach it', () => {
    const objects = render('base');
    const policy = objects.find((o) => nameOf(o) === 'NetworkPolicy/memory') as unknown as {
      spec: { egress: Array<{ ports: Array<{ port: number }> }> };
    };
    policy.spec.egress = policy.spec.egress.filter((rule) => !rule.ports.some((p) => p.port === 5432));
    expect(k8sProblems('base', objects, facts)).toEqual(['base: app memory opens Postgres but its NetworkPolicy allows no egress to 5432']);
  });

  it('reject a field the Kubernetes schema does not know, naming it (a typo the schema types alone let through)', () => {
    const objects = render('base');
    const deployment = pick<{ spec: { template: { spec: { containers: Array<Record<string, unknown>> } } } }>(objects, 'Deployment/ingest');
    const container = deployment.spec.template.spec.containers[0]!;
    container.readinesProbe = container.readinessProbe;
    delete container.readinessProbe;
    expect(schemaProblems(deployment as unknown as K8sObject)).toEqual([
      'Deployment/ingest: unknown field /spec/template/spec/containers/0/readinesProbe',
    ]);
  });

  it('reject an object the Kubernetes schema rejects, naming the field', () => {
    const objects = render('base');
    const service = structuredClone(objects.find((o) => nameOf(o) === 'Service/ingest')!) as unknown as {
      spec: { ports: Array<{ port: unknown }> };
    };
    service.spec.ports[0]!.port = 'seventy-four-oh-one';
    expect(schemaProblems(service as unknown as K8sObject)).toEqual(['Service/ingest: data/spec/ports/0/port must be integer']);
  });
});
