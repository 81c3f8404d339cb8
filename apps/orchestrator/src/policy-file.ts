import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';
import { VigilError } from '@vigil/errors';
import { GateThresholds, type AutonomyLevel } from '@vigil/policy';

const Autonomy = z.enum(['shadow', 'suggest', 'approve', 'auto']);

const ServicePolicy = z.object({
  thresholds: GateThresholds.partial().default({}),
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
 *   defaults: { autonomy: auto, thresholds: { autoMinConfidence: 0.9 } }
 *   services:
 *     payment-api:
 *       thresholds: { maxAutoPerHour: 5 }
 *       autonomy: { default: approve, actions: { postgres.terminate_backend: auto } }
 */
export const PolicyFile = z.object({
  defaults: z
    .object({ autonomy: Autonomy.default('auto'), thresholds: GateThresholds.partial().default({}) })
    .default({ autonomy: 'auto', thresholds: {} }),
  services: z.record(z.string(), ServicePolicy).default({}),
});
export type PolicyFile = z.output<typeof PolicyFile>;

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
        thresholds = GateThresholds.parse({ ...file.defaults.thresholds, ...file.services[service]?.thresholds });
        cache.set(service, thresholds);
      }
      return thresholds;
    },
    autonomyFor(service, alertName, action) {
      const policy = file.services[service]?.autonomy;
      return policy?.actions[action] ?? (alertName ? policy?.alerts[alertName] : undefined) ?? policy?.default ?? file.defaults.autonomy;
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
