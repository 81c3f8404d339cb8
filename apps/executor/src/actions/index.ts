import type { ActionDefinition } from './action.js';
import { httpRequest, processRestart } from './http.js';
import { cancelBackend, terminateBackend, terminateIdleInTransaction, terminateIdleSessions } from './postgres.js';
import { configSet, unlinkKeys } from './redis.js';

/** The built-in typed actions, by name; `k8s.*` join when a cluster is configured. */
export function builtInActions(extra: ReadonlyArray<ActionDefinition<unknown>> = []): Map<string, ActionDefinition<unknown>> {
  const all = [
    cancelBackend,
    terminateBackend,
    terminateIdleInTransaction,
    terminateIdleSessions,
    unlinkKeys,
    configSet,
    httpRequest,
    processRestart,
    ...extra,
  ];
  return new Map(all.map((action) => [action.name, action]));
}
