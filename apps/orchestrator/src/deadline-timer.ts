import type { Db } from '@vigil/db';
import { startTicker, type Logger } from '@vigil/platform';
import type { Stage } from './domain/incident.js';
import type { SagaInput } from './domain/inputs.js';

/**
 * Fires missed deadlines: durable timers in the `timers` table, polled. Each due timer becomes a
 * `deadline` input; the saga claims the timer row in its own transaction, so a timer fires once
 * however many copies poll, and survives restarts.
 */
export function startDeadlineTimer(options: {
  db: Db;
  log: Logger;
  intervalMs: number;
  clock: () => Date;
  fire: (input: Extract<SagaInput, { kind: 'deadline' }>) => Promise<unknown>;
}): { stop(): Promise<void>; poll(): Promise<number> } {
  const poll = async (): Promise<number> => {
    const { rows } = await options.db.query<{ incident_id: string; stage: Stage; due_at: Date | string }>(
      'SELECT incident_id, stage, due_at FROM timers WHERE due_at <= $1 ORDER BY due_at LIMIT 50',
      [options.clock().toISOString()],
    );
    for (const row of rows) {
      const dueAt = row.due_at instanceof Date ? row.due_at.toISOString() : new Date(row.due_at).toISOString();
      try {
        await options.fire({ kind: 'deadline', incidentId: row.incident_id, stage: row.stage, dueAt });
      } catch (error) {
        // One timer failing (a conflict, a retryable store error) must not hold up the others.
        options.log.warn({ err: error, incidentId: row.incident_id }, 'deadline not processed; will retry');
      }
    }
    return rows.length;
  };

  const ticker = startTicker({
    intervalMs: options.intervalMs,
    round: poll,
    log: options.log,
    failure: 'deadline poll failed; will retry',
  });
  return { poll, stop: ticker.stop };
}
