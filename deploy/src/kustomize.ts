import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** A Kubernetes object as read from YAML. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

type Json = Record<string, unknown>;

/**
 * The subset of kustomize this repository's kustomizations use, rendered the way `kustomize build`
 * renders it: resources (files and directories), namespace, labels, strategic-merge patches
 * (including `$patch: delete`), images, replicas, and ConfigMap / Secret generators without name
 * hashes. A field outside that subset is an error, never silently ignored, so the rendering the
 * tests check is the one a cluster would get.
 */
const supported = new Set([
  'apiVersion',
  'kind',
  'namespace',
  'labels',
  'resources',
  'patches',
  'images',
  'replicas',
  'generatorOptions',
  'configMapGenerator',
  'secretGenerator',
]);

export function readYamlDocuments(file: string): Json[] {
  const documents = parseAllDocuments(readFileSync(file, 'utf8'), { merge: true });
  return documents.flatMap((document) => {
    if (document.errors.length > 0) throw new Error(`${file}: ${document.errors.map((e) => e.message).join('; ')}`);
    const value = document.toJS() as unknown;
    return value === null || value === undefined ? [] : [value as Json];
  });
}

export function renderKustomization(dir: string): K8sObject[] {
  const file = join(dir, 'kustomization.yaml');
  if (!existsSync(file)) throw new Error(`${dir}: no kustomization.yaml`);
  const [k] = readYamlDocuments(file);
  if (!k) throw new Error(`${file}: empty`);
  const unsupported = Object.keys(k).filter((key) => !supported.has(key));
  if (unsupported.length) throw new Error(`${file}: fields this renderer does not implement: ${unsupported.join(', ')}`);
  if (k.kind !== 'Kustomization') throw new Error(`${file}: kind is ${String(k.kind)}, not Kustomization`);

  let objects: K8sObject[] = [];
  for (const entry of (k.resources as string[] | undefined) ?? []) {
    const path = join(dir, entry);
    if (!existsSync(path)) throw new Error(`${file}: resource ${entry} does not exist`);
    objects.push(...(statSync(path).isDirectory() ? renderKustomization(path) : (readYamlDocuments(path) as unknown as K8sObject[])));
  }

  const hashless = (k.generatorOptions as Json | undefined)?.disableNameSuffixHash === true;
  const generators = [
    ...((k.configMapGenerator as Json[] | undefined) ?? []).map((g) => ({ g, kind: 'ConfigMap' })),
    ...((k.secretGenerator as Json[] | undefined) ?? []).map((g) => ({ g, kind: 'Secret' })),
  ];
  if (generators.length && !hashless) throw new Error(`${file}: generators need generatorOptions.disableNameSuffixHash: true here`);
  for (const { g, kind } of generators) objects.push(generate(dir, file, g, kind));

  for (const patch of (k.patches as Json[] | undefined) ?? []) {
    if (typeof patch.path !== 'string' || patch.target !== undefined || patch.patch !== undefined) {
      throw new Error(`${file}: only \`patches: - path: <strategic merge patch>\` is implemented`);
    }
    for (const document of readYamlDocuments(join(dir, patch.path))) objects = applyPatch(objects, document, `${file} → ${patch.path}`);
  }

  for (const image of (k.images as Json[] | undefined) ?? []) {
    for (const container of objects.flatMap(containersOf)) {
      const [name, tag] = splitImage(container.image as string);
      if (name !== image.name) continue;
      container.image = `${(image.newName as string | undefined) ?? name}:${(image.newTag as string | undefined) ?? tag ?? 'latest'}`;
    }
  }

  for (const replica of (k.replicas as Array<{ name: string; count: number }> | undefined) ?? []) {
    const target = objects.find((o) => ['Deployment', 'StatefulSet'].includes(o.kind) && o.metadata.name === replica.name);
    if (!target) throw new Error(`${file}: replicas for ${replica.name}, which is not a Deployment or StatefulSet here`);
    (target.spec as Json).replicas = replica.count;
  }

  for (const label of (k.labels as Json[] | undefined) ?? []) {
    if (label.includeSelectors || label.includeTemplates)
      throw new Error(`${file}: labels with includeSelectors/includeTemplates are not implemented`);
    for (const object of objects) object.metadata.labels = { ...object.metadata.labels, ...(label.pairs as Record<string, string>) };
  }

  if (typeof k.namespace === 'string') for (const object of objects) object.metadata.namespace = k.namespace;
  return objects;
}

function generate(dir: string, file: string, g: Json, kind: string): K8sObject {
  const unknown = Object.keys(g).filter((key) => !['name', 'files', 'literals', 'options', 'behavior'].includes(key));
  if (unknown.length || (g.behavior !== undefined && g.behavior !== 'create')) {
    throw new Error(
      `${file}: generator ${String(g.name)}: ${unknown.length ? `fields ${unknown.join(', ')}` : `behavior ${String(g.behavior)}`} not implemented`,
    );
  }
  const data: Record<string, string> = {};
  for (const literal of (g.literals as string[] | undefined) ?? []) {
    const at = literal.indexOf('=');
    if (at < 1) throw new Error(`${file}: generator ${String(g.name)}: literal without a name: ${literal.slice(0, 20)}`);
    data[literal.slice(0, at)] = literal.slice(at + 1);
  }
  for (const entry of (g.files as string[] | undefined) ?? []) {
    const path = join(dir, entry);
    if (relative(dir, path).startsWith('..')) throw new Error(`${file}: ${entry} is outside the kustomization (kustomize refuses it)`);
    data[basename(entry)] = readFileSync(path, 'utf8');
  }
  const labels = ((g.options as Json | undefined)?.labels as Record<string, string> | undefined) ?? {};
  const metadata = { name: g.name as string, ...(Object.keys(labels).length ? { labels } : {}) };
  return kind === 'Secret'
    ? {
        apiVersion: 'v1',
        kind,
        metadata,
        type: 'Opaque',
        data: Object.fromEntries(Object.entries(data).map(([key, v]) => [key, Buffer.from(v).toString('base64')])),
      }
    : { apiVersion: 'v1', kind, metadata, data };
}

function applyPatch(objects: K8sObject[], patch: Json, where: string): K8sObject[] {
  const meta = patch.metadata as { name?: string } | undefined;
  const index = objects.findIndex(
    (o) => o.kind === patch.kind && o.metadata.name === meta?.name && group(o.apiVersion) === group(String(patch.apiVersion)),
  );
  if (index < 0) throw new Error(`${where}: patch target ${String(patch.kind)}/${String(meta?.name)} not found`);
  if (patch.$patch === 'delete') return objects.filter((_, i) => i !== index);
  const { $patch: _ignored, ...body } = patch;
  objects[index] = merge(objects[index], body) as K8sObject;
  return objects;
}

const group = (apiVersion: string): string => (apiVersion.includes('/') ? (apiVersion.split('/')[0] ?? '') : '');

/** Kubernetes' merge keys for the lists the patches here touch; every other list is replaced. */
const mergeKeys: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
};

function merge(base: unknown, patch: unknown, field = ''): unknown {
  if (Array.isArray(patch)) {
    const key = mergeKeys[field];
    if (!key || !Array.isArray(base)) return structuredClone(patch);
    const result = structuredClone(base) as Json[];
    for (const item of patch as Json[]) {
      const at = result.findIndex((existing) => existing[key] === item[key]);
      if (at < 0) result.push(structuredClone(item));
      else result[at] = merge(result[at], item) as Json;
    }
    return result;
  }
  if (patch && typeof patch === 'object') {
    const result: Json = base && typeof base === 'object' && !Array.isArray(base) ? { ...(base as Json) } : {};
    for (const [key, value] of Object.entries(patch as Json)) {
      if (value === null) delete result[key];
      else result[key] = merge(result[key], value, key);
    }
    return result;
  }
  return patch;
}

function splitImage(image: string): [string, string | undefined] {
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > slash ? [image.slice(0, colon), image.slice(colon + 1)] : [image, undefined];
}

/** The pod template's spec of a workload, or undefined for other kinds. */
export function podSpecOf(object: K8sObject): Json | undefined {
  const spec = object.spec as Json | undefined;
  if (['Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(object.kind))
    return (spec?.template as Json | undefined)?.spec as Json | undefined;
  return undefined;
}

export function containersOf(object: K8sObject): Json[] {
  const pod = podSpecOf(object);
  return pod ? [...((pod.initContainers as Json[] | undefined) ?? []), ...((pod.containers as Json[] | undefined) ?? [])] : [];
}

export const kustomizationDirs = (k8sRoot: string): string[] => [
  join(k8sRoot, 'base'),
  join(k8sRoot, 'overlays', 'dev'),
  join(k8sRoot, 'overlays', 'prod'),
];

export const nameOf = (object: K8sObject): string => `${object.kind}/${object.metadata.name}`;
