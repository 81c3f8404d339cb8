import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import type { K8sObject } from './kustomize.js';
import { nameOf } from './kustomize.js';

interface Validatable {
  validate(): void;
}

/** The kinds these manifests may use, each with the Kubernetes OpenAPI schema of its API version. */
const models: Record<string, new (data: never) => Validatable> = {
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'batch/v1/Job': Job,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
};

interface Reads {
  path: string;
  keys: string[];
  read: Set<string>;
  /** The validator listed the keys itself: a map (labels, data, quantities), any key allowed. */
  enumerated: boolean;
}

/**
 * `value` behind proxies that note which properties the validator reads. The compiled schema
 * validators read every property their schema declares (and enumerate maps), so a key nobody
 * read is a field the schema does not know: a typo the schema alone would let through.
 */
function tracked(value: object, path: string, records: Reads[], proxies: WeakMap<object, object>): object {
  const known = proxies.get(value);
  if (known) return known;
  const record: Reads = { path, keys: Array.isArray(value) ? [] : Object.keys(value), read: new Set(), enumerated: false };
  if (!Array.isArray(value)) records.push(record);
  const proxy = new Proxy(value, {
    get(target, key, receiver) {
      const child = Reflect.get(target, key, receiver) as unknown;
      if (typeof key !== 'string') return child;
      record.read.add(key);
      return child !== null && typeof child === 'object' ? tracked(child, `${path}/${key}`, records, proxies) : child;
    },
    ownKeys(target) {
      record.enumerated = true;
      return Reflect.ownKeys(target);
    },
  });
  proxies.set(value, proxy);
  return proxy;
}

/** Why `object` is not a valid Kubernetes object (empty when it is): schema errors, then fields the schema does not know. */
export function schemaProblems(object: K8sObject): string[] {
  const Model = models[`${object.apiVersion}/${object.kind}`];
  if (!Model) return [`${nameOf(object)}: no schema for ${object.apiVersion} ${object.kind} (known: ${Object.keys(models).join(', ')})`];
  const model = new Model(structuredClone(object) as never);
  const records: Reads[] = [];
  try {
    Model.prototype.validate.call(tracked(model, '', records, new WeakMap()));
  } catch (error) {
    return [`${nameOf(object)}: ${(error as Error).message}`];
  }
  return records
    .filter((record) => !record.enumerated)
    .flatMap((record) =>
      record.keys.filter((key) => !record.read.has(key)).map((key) => `${nameOf(object)}: unknown field ${record.path}/${key}`),
    );
}
