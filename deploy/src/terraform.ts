import { parse } from '@cdktf/hcl2json';

type Json = Record<string, unknown>;
type Blocks = Record<string, Record<string, Json[]>>;

/** A Terraform file as JSON (HCL parsed by HashiCorp's own parser, compiled to WebAssembly). */
export async function parseHcl(name: string, text: string): Promise<Json> {
  return (await parse(name, text)) as Json;
}

const first = (blocks: Json[] | undefined): Json | undefined => blocks?.[0];
const block = (value: unknown): Json | undefined => (Array.isArray(value) ? (value[0] as Json | undefined) : undefined);

/**
 * References to things the file does not declare (`var.x`, `local.x`, `data.t.x`, `resource.x`):
 * what `terraform validate` would report first, found without providers.
 */
export function undeclaredReferences(hcl: Json, text: string): string[] {
  const declared = new Set<string>();
  for (const name of Object.keys((hcl.variable as Json | undefined) ?? {})) declared.add(`var.${name}`);
  for (const locals of (hcl.locals as Json[] | undefined) ?? []) for (const name of Object.keys(locals)) declared.add(`local.${name}`);
  for (const [type, blocks] of Object.entries((hcl.data as Blocks | undefined) ?? {}))
    for (const name of Object.keys(blocks)) declared.add(`data.${type}.${name}`);
  for (const [type, blocks] of Object.entries((hcl.resource as Blocks | undefined) ?? {}))
    for (const name of Object.keys(blocks)) declared.add(`${type}.${name}`);
  const resourceTypes = new Set(Object.keys((hcl.resource as Blocks | undefined) ?? {}));
  const code = text
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .join('\n');
  const problems = new Set<string>();
  for (const match of code.matchAll(/\b(var|local)\.([a-z_][a-z0-9_]*)/g)) {
    const ref = `${match[1] ?? ''}.${match[2] ?? ''}`;
    if (!declared.has(ref)) problems.add(`terraform: ${ref} is used but not declared`);
  }
  for (const match of code.matchAll(/\bdata\.([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)/g)) {
    const ref = `data.${match[1] ?? ''}.${match[2] ?? ''}`;
    if (!declared.has(ref)) problems.add(`terraform: ${ref} is used but not declared`);
  }
  for (const match of code.matchAll(/\b([a-z]+_[a-z0-9_]+)\.([a-z_][a-z0-9_]*)\b/g)) {
    const [, type = '', name = ''] = match;
    if (resourceTypes.has(type) && !declared.has(`${type}.${name}`)) problems.add(`terraform: ${type}.${name} is used but not declared`);
  }
  return [...problems];
}

/** What is wrong with the runner template against the executor's contract (empty: nothing). */
export function templateProblems(hcl: Json, parameterNames: string[], metadataKeys: string[]): string[] {
  const problems: string[] = [];
  const data = (hcl.data as Blocks | undefined) ?? {};
  const resources = (hcl.resource as Blocks | undefined) ?? {};

  const parameters = Object.entries(data.coder_parameter ?? {}).map(([label, blocks]) => ({ label, body: first(blocks) ?? {} }));
  const declared = parameters.map((p) => String(p.body.name));
  for (const name of parameterNames)
    if (!declared.includes(name)) problems.push(`terraform: no coder_parameter named ${name} (the executor sends it)`);
  for (const name of declared)
    if (!parameterNames.includes(name)) problems.push(`terraform: coder_parameter ${name} is not one the executor sends`);
  for (const { label, body } of parameters) {
    if (body.type !== 'string') problems.push(`terraform: coder_parameter ${label} is not type = "string"`);
    if (body.mutable !== false) problems.push(`terraform: coder_parameter ${label} is not mutable = false`);
  }
  if (Object.keys(resources.coder_parameter ?? {}).length > 0) problems.push('terraform: coder_parameter is a data source, not a resource');

  if (Object.keys(resources.coder_agent ?? {}).length !== 1) problems.push('terraform: not exactly one coder_agent');

  const pods = Object.values(resources.kubernetes_pod_v1 ?? {}).map((blocks) => first(blocks) ?? {});
  if (pods.length !== 1) problems.push('terraform: not exactly one kubernetes_pod_v1');
  for (const pod of pods) {
    const spec = block(pod.spec) ?? {};
    const podSecurity = block(spec.security_context) ?? {};
    if (podSecurity.run_as_non_root !== true) problems.push('terraform: the pod may run as root (security_context.run_as_non_root)');
    if (!spec.active_deadline_seconds)
      problems.push('terraform: the pod has no active_deadline_seconds (it would outlive a dead executor)');
    for (const container of (spec.container as Json[] | undefined) ?? []) {
      const security = block(container.security_context) ?? {};
      if (security.read_only_root_filesystem !== true)
        problems.push(`terraform: container ${String(container.name)} has a writable root filesystem`);
      if (security.allow_privilege_escalation !== false)
        problems.push(`terraform: container ${String(container.name)} allows privilege escalation`);
      if (!(block(security.capabilities)?.drop as string[] | undefined)?.includes('ALL'))
        problems.push(`terraform: container ${String(container.name)} keeps capabilities`);
    }
    if (pod.count !== '${local.running}' && pod.count !== '${data.coder_workspace.me.start_count}')
      problems.push('terraform: the pod does not follow the workspace start/stop (count = start_count)');
  }

  const policies = Object.values(resources.kubernetes_network_policy_v1 ?? {}).map((blocks) => first(blocks) ?? {});
  if (policies.length !== 1) problems.push('terraform: not exactly one kubernetes_network_policy_v1');
  for (const policy of policies) {
    const spec = block(policy.spec) ?? {};
    const types = (spec.policy_types as string[] | undefined) ?? [];
    if (!types.includes('Ingress') || !types.includes('Egress'))
      problems.push('terraform: the NetworkPolicy does not govern both Ingress and Egress');
    // hcl2json gives `dynamic` blocks as an object of label → blocks (or a list of such objects).
    const dynamic = (Array.isArray(spec.dynamic) ? Object.assign({}, ...(spec.dynamic as Json[])) : spec.dynamic) as
      Record<string, Json[]> | undefined;
    const dynamicEgress = dynamic?.egress;
    const source = JSON.stringify(dynamicEgress ?? '');
    if (!/local\.egress_rules/.test(source))
      problems.push('terraform: egress is not built from the declared targets (dynamic "egress" over local.egress_rules)');
    for (const rule of (spec.ingress as Json[] | undefined) ?? []) {
      if (!rule.from) problems.push('terraform: an ingress rule admits every source');
    }
  }
  const locals = Object.assign({}, ...((hcl.locals as Json[] | undefined) ?? [])) as Json;
  if (!JSON.stringify(locals).includes('data.coder_parameter.vigil_egress.value'))
    problems.push('terraform: the egress rules do not come from the vigil_egress parameter');

  const secrets = Object.values(resources.kubernetes_secret_v1 ?? {}).map((blocks) => first(blocks) ?? {});
  if (!secrets.some((s) => JSON.stringify(s).includes('local.credentials')))
    problems.push('terraform: the credentials parameter is not held in a Secret');
  for (const secret of secrets)
    if (secret.count === undefined) problems.push('terraform: a Secret outlives the workspace (no count = start_count)');

  const metadata = Object.values(resources.coder_metadata ?? {}).flatMap((blocks) =>
    blocks.flatMap((b) => (b.item as Json[] | undefined) ?? []),
  );
  const keys = metadata.map((item) => String(item.key));
  for (const key of metadataKeys)
    if (!keys.includes(key)) problems.push(`terraform: no coder_metadata item ${key} (the executor reads it)`);
  return problems;
}
