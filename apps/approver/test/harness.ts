import { createNatsBus, type Bus } from '@vigil/bus';
import type { Db } from '@vigil/db';
import { createEvent, exampleData, Plan, type PlanStep, type Risk, type VigilEvent } from '@vigil/events';
import { createLogger, ServiceMetrics, startService, type RunningService } from '@vigil/platform';
import { collect, eventually, natsUrl } from '@vigil/testing';
import { planHash } from '../src/domain/plan-hash.js';
import { parsePolicy } from '../src/domain/policy.js';
import { buildApprover, type ApproverWiring } from '../src/service.js';

export const policy = parsePolicy(`
people:
  ana: { name: Ana, slack: U0ANA }
  ben: { name: Ben, slack: U0BEN }
  cleo: { name: Cleo, slack: U0CLEO }
approvers:
  payment-api:
    default: [ana, ben]
  '*':
    default: [ana, ben]
`);

export const tokens = new Map([
  ['ana-token-0123456789abcdef', 'ana'],
  ['ben-token-0123456789abcdef', 'ben'],
  ['cleo-token-0123456789abcdef', 'cleo'],
]);

export const log = createLogger({
  service: 'approver-test',
  level: (process.env.APPROVER_TEST_LOG_LEVEL as 'silent' | undefined) ?? 'silent',
});

export interface RunningApprover {
  service: RunningService;
  tick(): Promise<void>;
}

/** The approver as main.ts wires it, on its own bus connection and an HTTP port of its own. */
export async function startApprover(
  options: { prefix: string; db: Db; tickMs?: number } & Partial<Omit<ApproverWiring, 'bus' | 'db' | 'log'>>,
): Promise<RunningApprover> {
  const bus = await createNatsBus({ url: await natsUrl(), name: 'approver-test', prefix: options.prefix, logger: log });
  const metrics = new ServiceMetrics('approver');
  const built = await buildApprover(
    {
      bus,
      db: options.db,
      log,
      policy: options.policy ?? policy,
      tokens: options.tokens ?? tokens,
      ttlMs: options.ttlMs ?? 15 * 60_000,
      registry: metrics.registry,
      ...(options.slack ? { slack: options.slack } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
    },
    { concurrency: 4, tickMs: options.tickMs ?? 100 },
  );
  const service = await startService({
    name: 'approver',
    version: 'test',
    host: '127.0.0.1',
    port: 0,
    logger: log,
    metrics,
    bus,
    consumers: [built.consumer],
    routes: built.routes,
    // The database is the test's: closed by it, not by the service.
    closers: [built.timer],
  });
  return { service, tick: built.tick };
}

const lockStep: PlanStep = {
  kind: 'action',
  id: 'step-1',
  action: 'postgres.terminate_backend',
  params: { pid: 4242, database: 'payments' },
  reasoning: 'pid 4242 is idle in transaction and holds the lock',
};

/** An approval.requested as the orchestrator sends it: the plan and the SHA-256 of its canonical form. */
export function approvalRequest(
  incidentId: string,
  options: {
    risk?: Risk;
    requiredApprovals?: number;
    requestedBy?: string;
    expiresInMs?: number;
    steps?: PlanStep[];
    service?: string;
  } = {},
): VigilEvent<'approval.requested'> {
  const base = exampleData['approval.requested'];
  const plan = Plan.parse({ ...base.plan, risk: options.risk ?? 'MEDIUM', steps: options.steps ?? [lockStep] });
  return createEvent(
    'approval.requested',
    {
      ...base,
      service: options.service ?? 'payment-api',
      plan,
      planHash: planHash(plan),
      risk: options.risk ?? 'MEDIUM',
      expiresAt: new Date(Date.now() + (options.expiresInMs ?? 10 * 60_000)).toISOString(),
      requiredApprovals: options.requiredApprovals ?? 1,
      requestedBy: options.requestedBy ?? 'vigil',
    },
    { source: 'orchestrator', incidentId },
  );
}

export async function decisions(bus: Bus, incidentId: string): Promise<Array<VigilEvent<'approval.decided'>>> {
  return (await collect(bus.read({ types: ['approval.decided'], incidentId }))).map((s) => s.event as VigilEvent<'approval.decided'>);
}

export function firstDecision(bus: Bus, incidentId: string): Promise<VigilEvent<'approval.decided'>> {
  return eventually(async () => (await decisions(bus, incidentId))[0]);
}
