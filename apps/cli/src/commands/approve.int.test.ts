import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '@vigil/audit';
import { createNatsBus, deleteNatsStreams, type Bus } from '@vigil/bus';
import { createPostgresDb } from '@vigil/db';
import { createEvent, exampleData, Plan, type VigilEvent } from '@vigil/events';
import { collect, databaseUrl, eventually, freePort, natsUrl, startServiceProcess, uniqueName, type ServiceProcess } from '@vigil/testing';
import { vigil } from '../../test/run-vigil.js';

const ANA = 'ana-cli-token-0123456789';
const CLEO = 'cleo-cli-token-0123456789';

describe('vigil approve, against the approver running as its own process on NATS and Postgres', () => {
  let approver: ServiceProcess;
  let bus: Bus;
  let env: Record<string, string>;
  const prefix = uniqueName('cliapr');
  const schema = uniqueName('approver');

  beforeAll(async () => {
    const port = await freePort();
    approver = await startServiceProcess({
      entry: 'apps/approver/src/main.ts',
      port,
      env: {
        NATS_URL: await natsUrl(),
        DATABASE_URL: await databaseUrl(),
        VIGIL_SUBJECT_PREFIX: prefix,
        APPROVER_HOST: '127.0.0.1',
        APPROVER_PORT: String(port),
        APPROVER_DB_SCHEMA: schema,
        APPROVER_POLICY: JSON.stringify({ people: { ana: { name: 'Ana' } }, approvers: { '*': { default: ['ana'] } } }),
        APPROVER_API_TOKENS: `ana:${ANA},cleo:${CLEO}`,
      },
    });
    bus = await createNatsBus({ url: await natsUrl(), name: 'cli-approve-test', prefix });
    env = { VIGIL_APPROVER_URL: approver.url, VIGIL_API_TOKEN: ANA };
  }, 60_000);

  afterAll(async () => {
    expect(await approver?.stop()).toBe(0);
    await bus?.close();
    await deleteNatsStreams({ url: await natsUrl(), prefix });
    const db = await createPostgresDb({ url: await databaseUrl() });
    await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await db.close();
  });

  async function requested(): Promise<VigilEvent<'approval.requested'>> {
    const base = exampleData['approval.requested'];
    const plan = Plan.parse(base.plan);
    const event = createEvent(
      'approval.requested',
      {
        ...base,
        plan,
        planHash: createHash('sha256').update(canonicalJson(plan)).digest('hex'),
        expiresAt: new Date(Date.now() + 600_000).toISOString(),
      },
      { source: 'orchestrator', incidentId: uniqueName('inc') },
    );
    await bus.publish(event);
    await eventually(
      async () => (await fetch(`${approver.url}/approvals/${event.incidentId}`, { headers: { authorization: `Bearer ${ANA}` } })).ok,
    );
    return event;
  }

  const decided = (incidentId: string) =>
    eventually(
      async () =>
        (await collect(bus.read({ types: ['approval.decided'], incidentId })))[0]?.event as VigilEvent<'approval.decided'> | undefined,
    );

  it('approves as the person the token names, via cli', async () => {
    const request = await requested();
    const result = await vigil(['approve', request.incidentId!, '--reason', 'pid checked'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^approved: approved by Ana — payment-api \(LOW\), plan [a-f0-9]{12}/);
    expect((await decided(request.incidentId!)).data).toMatchObject({
      decision: 'approved',
      decidedBy: [{ id: 'ana' }],
      via: 'cli',
      reason: 'pid checked',
    });
  });

  it('denies with --deny; a second decision is refused with exit 1', async () => {
    const request = await requested();
    expect((await vigil(['approve', request.incidentId!, '--deny', '--reason', 'wrong pid'], env)).code).toBe(0);
    expect((await decided(request.incidentId!)).data).toMatchObject({ decision: 'denied', via: 'cli', reason: 'wrong pid' });
    const again = await vigil(['approve', request.incidentId!], env);
    expect(again.code).toBe(1);
    expect(again.stdout).toContain('already_decided');
  });

  it('a wrong token is refused (exit 1) without printing the token; someone not an approver is refused', async () => {
    const request = await requested();
    const wrong = await vigil(['approve', request.incidentId!], { ...env, VIGIL_API_TOKEN: 'not-a-token-0123456789' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('HTTP_401');
    expect(wrong.stderr + wrong.stdout).not.toContain('not-a-token-0123456789');
    const cleo = await vigil(['approve', request.incidentId!], { ...env, VIGIL_API_TOKEN: CLEO });
    expect(cleo.code).toBe(1);
    expect(cleo.stdout).toContain('not_authorised: cleo is not an approver');
    const none = await vigil(['approve', request.incidentId!], { VIGIL_APPROVER_URL: approver.url });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('VIGIL_API_TOKEN is not set');
  });
});
