import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceCatalog } from '@vigil/catalog';
import { ExecutionRequested, type PlanStep } from '@vigil/events';
import { createLogger } from '@vigil/platform';
import { createSafetyCheck } from '@vigil/policy';
import { uniqueName, type FaultDatabase } from '@vigil/testing';
import { defineAction, type ActionContext, type ActionDefinition } from '../src/actions/action.js';
import { builtInActions } from '../src/actions/index.js';
import { cancelBackend, terminateBackend } from '../src/actions/postgres.js';
import { executeStep, type ExecuteDeps } from '../src/execute.js';
import { operatorCatalog, operatorTarget, sessionAlive } from './operator-role.js';

/**
 * An attempt acts only inside its claim. Past the step's timeout another copy may take the claim
 * over, so a slow attempt never starts `run` once its signal has fired; and a session signal goes
 * only to a session that began before the claim (a pid reused by a newer session is never hit),
 * checked in the signalling statement itself.
 */
const log = createLogger({ service: 'executor-test', level: 'silent' });
let fault: FaultDatabase;
let operatorDsn: string;
let catalog: ServiceCatalog;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  const target = await operatorTarget(cleanups);
  fault = target.fault;
  const operator = target.operator;
  operatorDsn = operator.dsn;
  catalog = operatorCatalog(operatorDsn);
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

const deps = (actions: ReadonlyMap<string, ActionDefinition<unknown>> = builtInActions()): ExecuteDeps => ({
  actions,
  safety: createSafetyCheck(),
  catalog,
  scriptLimits: { timeoutMs: 5_000, memoryBytes: 64 << 20, cpuSeconds: 5, outputBytes: 4096 },
  log,
});

const request = (step: PlanStep, facts: Record<string, unknown> = {}) =>
  ExecutionRequested.parse({
    executionId: uniqueName('exec'),
    service: 'payment-api',
    planHash: 'a'.repeat(64),
    stepIndex: 0,
    step,
    mode: 'run',
    evidenceFacts: facts,
  });

const action = (name: string, params: Record<string, unknown>): PlanStep => ({
  kind: 'action',
  id: 'step-1',
  action: name,
  params,
  reasoning: '',
});

/** A session the test holds, its pid and its start exactly as Postgres records it. */
async function session(): Promise<{ pid: number; backendStart: string }> {
  const client = await fault.connect('payment-api');
  const { rows } = await client.query<{ pid: number; backend_start: string }>(
    'SELECT pid, backend_start::text AS backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()',
  );
  return { pid: rows[0]!.pid, backendStart: rows[0]!.backend_start };
}

const alive = (pid: number): Promise<boolean> => sessionAlive(fault, pid);

const context = (facts: Record<string, unknown>, claimedAt: Date): ActionContext => ({
  service: 'payment-api',
  targets: { postgres: operatorDsn, endpoints: {} },
  evidenceFacts: facts,
  signal: new AbortController().signal,
  log,
  claimedAt,
});

describe('a step whose timeout fired before it could start', () => {
  it('is not run: preconditions that outlast the timeout end the attempt, and run is never called', async () => {
    const { pid } = await session();
    let runs = 0;
    // terminate_backend on a machine so slow that its checks return only once the step's own
    // signal has fired (whatever the real speed): the real checks, then the real run, counted.
    const slow = defineAction<{ pid: number }>({
      ...(terminateBackend as ActionDefinition<{ pid: number }>),
      timeoutMs: 100,
      preconditions: async (params, ctx) => {
        await new Promise<void>((resolve) => {
          if (ctx.signal.aborted) resolve();
          ctx.signal.addEventListener('abort', () => resolve(), { once: true });
        });
        return terminateBackend.preconditions(params, ctx);
      },
      run: async (params, ctx) => {
        runs += 1;
        return terminateBackend.run(params, ctx) as ReturnType<ActionDefinition<{ pid: number }>['run']>;
      },
    });
    const outcome = await executeStep(
      request(action(slow.name, { pid }), { blocker_pid: pid }),
      'inc-1',
      deps(new Map([[slow.name, slow]])),
    );
    expect(outcome).toMatchObject({
      status: 'failed',
      summary: expect.stringMatching(/^not run: the step's 100ms timeout passed before it could start, so nothing was sent/),
    });
    expect(runs).toBe(0);
    expect(await alive(pid)).toBe(true);
  });
});

describe('a session signal goes only to the session the step was claimed against', () => {
  it('terminate_backend refuses a session that began at or after the claim (a reused pid), at the check and in the statement', async () => {
    const { pid } = await session();
    const facts = { blocker_pid: pid };
    // The claim began a minute before this session did: whatever holds the pid now is newer.
    const claimedAt = new Date(Date.now() - 60_000);
    const outcome = await executeStep(request(action('postgres.terminate_backend', { pid }), facts), 'inc-1', deps(), claimedAt);
    expect(outcome).toMatchObject({
      status: 'refused',
      summary: expect.stringMatching(
        new RegExp(`pid ${pid} is not the session the step was to end: it began at or after the step's claim`),
      ),
    });
    // The signalling statement refuses it too, even when run is reached without the preconditions.
    const ran = await terminateBackend.run({ pid }, context(facts, claimedAt));
    expect(ran).toMatchObject({ status: 'failed', summary: expect.stringMatching(/^not signalled: .*began at or after the step's claim/) });
    expect(await alive(pid)).toBe(true);
  });

  it('cancel_backend shares the bound: a newer session is not signalled', async () => {
    const { pid } = await session();
    const ran = await cancelBackend.run({ pid }, context({ blocker_pid: pid }, new Date(Date.now() - 60_000)));
    expect(ran).toMatchObject({ status: 'failed', summary: expect.stringMatching(/^not signalled: .*began at or after the step's claim/) });
    expect(await alive(pid)).toBe(true);
  });

  it('with the blocker start in the evidence, only exactly that session is ended', async () => {
    const { pid, backendStart } = await session();
    const claimedAt = new Date(Date.now() + 60_000);
    const other = await executeStep(
      request(action('postgres.terminate_backend', { pid }), { blocker_pid: pid, blocker_backend_start: '2001-02-03 04:05:06.789+00' }),
      'inc-1',
      deps(),
      claimedAt,
    );
    expect(other).toMatchObject({
      status: 'refused',
      summary: expect.stringMatching(/or not at 2001-02-03 04:05:06.789\+00 as the evidence recorded/),
    });
    expect(await alive(pid)).toBe(true);
    const ended = await executeStep(
      request(action('postgres.terminate_backend', { pid }), { blocker_pid: pid, blocker_backend_start: backendStart }),
      'inc-1',
      deps(),
      claimedAt,
    );
    expect(ended).toMatchObject({ status: 'succeeded', summary: expect.stringMatching(new RegExp(`^terminated pid ${pid}`)) });
    expect(await alive(pid)).toBe(false);
  });
});
