import { createHash } from 'node:crypto';
import { canonicalJson } from '@vigil/audit';
import type { Plan } from '@vigil/events';

/** SHA-256 of the canonical plan, as the orchestrator computes it: an approval binds to exactly this. */
export function planHash(plan: Plan): string {
  return createHash('sha256').update(canonicalJson(plan)).digest('hex');
}
