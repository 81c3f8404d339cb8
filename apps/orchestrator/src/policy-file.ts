import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';
import { VigilError } from '@vigil/errors';
import { GateThresholds, type AutonomyLevel } from '@vigil/policy';

const Autonomy = z.enum(['shadow', 'suggest', 'approve', 'auto']);

/** Only what the file sets: unlike GateThresholds.partial(), no defaults that would mask the layer below. */
const ThresholdOverrides = z.object({
  autoMinConfidence: z.number().min(0).max(1).optional(),
  autoMinMatch: z.number().min(0).max(1).optional(),
  escalateBelowConfidence: z.number().min(0).max(1).optional(),
  autoRisks: z.array(z.enum(['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'])).optional(),
  maxAutoPerHour: z.number().int().min(0).optional(),
  loopLimit: z.number().int().min(1).optional(),
});

const ServicePolicy = z.object({
  thresholds: ThresholdOverrides.default({}),
  autonomy: z
    .object({
      default: Autonomy.optional(),
      /** By alert name. */
      alerts: z.record(z.string(), Autonomy).default({}),
      /** By action (`postgres.terminate_backend`, `script.run`): the most specific wins. */
      actions: z.record(z.string(), Autonomy).default({}),
    })
    .default({ alerts: {}, actions: {} }),
});

/**
 * The gate's policy file (`VIGIL_POLICY_FILE`, YAML or JSON):
 *
 *   defaults: { autonomy: approve, thresholds: { autoMinConfidence: 0.9 } }
 *   services:
 *     payment-api:
 *       thresholds: { maxAutoPerHour: 5 }
 *       autonomy: { default: approve, actions: { postgres.terminate_backend: auto } }
 */
export const PolicyFile = z.object({
  // Secure by default: without a policy, a human approves every fix. Autonomy is granted, per
  // service, alert or action, in the file.
  defaults: z
    .object({ autonomy: Autonomy.default('approve'), thresholds: ThresholdOverrides.default({}) })
    .default({ autonomy: 'approve', thresholds: {} }),
  services: z.record(z.string(), ServicePolicy).default({}),
});
export type PolicyFile = z.output<typeof PolicyFile>;

const levelOrder: AutonomyLevel[] = ['shadow', 'suggest', 'approve', 'auto'];

const withoutUndefined = (o: object): object => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

export interface Policy {
  thresholdsFor(service: string): GateThresholds;
  autonomyFor(service: string, alertName: string | undefined, action: string): AutonomyLevel;
}

export function policyFrom(file: PolicyFile): Policy {
  const cache = new Map<string, GateThresholds>();
  return {
    thresholdsFor(service) {
      let thresholds = cache.get(service);
      if (!thresholds) {
        thresholds = GateThresholds.parse({
          ...withoutUndefined(file.defaults.thresholds),
          ...withoutUndefined(file.services[service]?.thresholds ?? {}),
        });
        cache.set(service, thresholds);
      }
      return thresholds;
    },
    autonomyFor(service, alertName, action) {
      // Every level that applies to this (service, alert, action) caps it: the strictest wins, so
      // an action granted 'auto' cannot lift an alert held to 'shadow'.
      const policy = file.services[service]?.autonomy;
      const levels = [policy?.actions[action], alertName ? policy?.alerts[alertName] : undefined].filter(
        (l): l is AutonomyLevel => l !== undefined,
      );
      if (levels.length === 0) return policy?.default ?? file.defaults.autonomy;
      return levels.reduce((a, b) => (levelOrder.indexOf(a) <= levelOrder.indexOf(b) ? a : b));
    },
  };
}

/** Reads and checks the policy file; a bad one stops start-up with the field and the reason. */
export async function loadPolicy(path: string | undefined): Promise<Policy> {
  if (path === undefined) return policyFrom(PolicyFile.parse({}));
  let raw: unknown;
  try {
    raw = parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new VigilError('CONFIG_INVALID', `VIGIL_POLICY_FILE ${path} cannot be read: ${(error as Error).message}`);
  }
  const parsed = PolicyFile.safeParse(raw ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`).join('\n  ');
    throw new VigilError('CONFIG_INVALID', `invalid configuration:\n  VIGIL_POLICY_FILE ${path}:\n  ${problems}`);
  }
  return policyFrom(parsed.data);
}
