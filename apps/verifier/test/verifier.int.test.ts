import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsBus, deleteNatsStreams, type Bus, type Subscription } from '@vigil/bus';
import { createEvent, deterministicUuidv7, VerificationCompleted, type EventDataInput, type VigilEvent } from '@vigil/events';
import { createLogger } from '@vigil/platform';
import { collect, eventually, natsUrl, uniqueName } from '@vigil/testing';
import { buildVerifier, type Verifier } from '../src/service.js';
import { html, startPages, type Pages } from './pages.js';

/**
 * The verifier on real NATS JetStream: the orchestrator's command in, one answer out whose id
 * derives from the command's, so a replay stores nothing new; a request that cannot run is
 * parked with its reason, never answered as if the service had failed.
 */
const prefix = uniqueName('ver');
const log = createLogger({ service: 'verifier-test', level: 'silent' });
const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
let bus: Bus;
let pages: Pages;
const running: Array<{ sub: Subscription; verifier: Verifier }> = [];

async function startVerifier(durable = 'verifier'): Promise<(typeof running)[number]> {
  const verifier = buildVerifier(
    {
      bus,
      log,
      swarm: {
        browser: { kind: 'launch', executablePath: chromium },
        httpTimeoutMs: 5_000,
        stepTimeoutMs: 15_000,
        maxHttpInFlight: 8,
        maxBrowserInFlight: 4,
      },
    },
    { concurrency: 2 },
  );
  const sub = await bus.consume({ durable, ...verifier.consumer, maxDeliver: 2, backoffMs: [50] });
  const instance = { sub, verifier };
  running.push(instance);
  return instance;
}

beforeAll(async () => {
  bus = await createNatsBus({ url: await natsUrl(), name: 'verifier-test', prefix });
  pages = await startPages({
    '/healthz': () => ({ body: 'ok' }),
    '/broken': () => ({ status: 503, body: 'unavailable' }),
    '/shop': () => ({ body: html('shop', '<h1>Welcome to the shop</h1>') }),
  });
  await startVerifier();
});

afterAll(async () => {
  for (const { sub, verifier } of running) {
    await sub.stop();
    await verifier.swarm.close();
  }
  await bus?.close();
  await pages?.close();
  await deleteNatsStreams({ url: await natsUrl(), prefix });
});

const request = (incidentId: string, data: Partial<EventDataInput<'verification.requested'>>) =>
  createEvent(
    'verification.requested',
    {
      service: 'payment-api',
      mode: 'baseline',
      checks: [{ kind: 'http', name: 'health', url: `${pages.url}/healthz` }],
      consecutivePasses: 1, // as the saga asks for a baseline
      ...data,
    } as EventDataInput<'verification.requested'>,
    { source: 'orchestrator', incidentId },
  );

async function answers(incidentId: string): Promise<Array<VigilEvent<'verification.completed'>>> {
  return (await collect(bus.read({ types: ['verification.completed'], incidentId }))).map(
    (s) => s.event as VigilEvent<'verification.completed'>,
  );
}

const firstAnswer = (incidentId: string) =>
  eventually(async () => (await answers(incidentId))[0], { timeoutMs: 30_000, message: `an answer for ${incidentId}` });

describe('verifier on NATS', () => {
  it('a baseline of a failing service: one answer, not passed, caused by the request, its id derived from it', async () => {
    const incidentId = uniqueName('inc');
    const asked = request(incidentId, {
      checks: [{ kind: 'http', name: 'broken', url: `${pages.url}/broken`, method: 'GET', expectStatus: 200 }],
    });
    await bus.publish(asked);
    const answer = await firstAnswer(incidentId);
    const data = VerificationCompleted.parse(answer.data);
    expect(data).toMatchObject({ mode: 'baseline', passed: false, rounds: 1, passRatio: 0 });
    expect(data.failures[0]).toMatchObject({ check: 'broken', status: 503, excerpt: 'unavailable' });
    expect(answer).toMatchObject({
      id: deterministicUuidv7(`verifier:${asked.id}`, Date.parse(asked.occurredAt)),
      causationId: asked.id,
      correlationId: asked.correlationId,
      source: 'verifier',
    });
  });

  it('a proof with a browser journey: K passing rounds, passed', async () => {
    const incidentId = uniqueName('inc');
    await bus.publish(
      request(incidentId, {
        mode: 'proof',
        checks: [
          {
            kind: 'browser',
            name: 'shop',
            steps: [
              { do: 'goto', target: `${pages.url}/shop` },
              { do: 'expectText', value: 'Welcome' },
            ],
          },
        ],
        concurrency: 2,
        consecutivePasses: 2,
        roundIntervalMs: 10,
      }),
    );
    const answer = await firstAnswer(incidentId);
    expect(answer.data).toMatchObject({ mode: 'proof', passed: true, rounds: 2, passRatio: 1 });
  });

  it('a replay of the requests by another consumer runs the checks again but stores no second answer', async () => {
    const incidentId = uniqueName('inc');
    pages.route('/replayed', () => ({ body: 'ok' }));
    await bus.publish(request(incidentId, { checks: [{ kind: 'http', name: 'replayed', url: `${pages.url}/replayed` }] }));
    await firstAnswer(incidentId);
    expect(pages.hits('/replayed')).toBe(4);
    // A second durable reads the stream from its start: every request so far is delivered again.
    const replay = await startVerifier('verifier-replay');
    await eventually(() => pages.hits('/replayed') === 8, { timeoutMs: 30_000, message: 'the replay ran the checks' });
    // Every replayed request handled and acknowledged: its answer was published (again) by then.
    await eventually(async () => (await replay.sub.pending()) === 0, { timeoutMs: 30_000, message: 'the replay finished' });
    expect(await answers(incidentId)).toHaveLength(1);
  });

  it('a request that cannot run is parked with the reason, and never answered', async () => {
    const incidentId = uniqueName('inc');
    const asked = request(incidentId, {
      checks: [{ kind: 'browser', name: 'journey', steps: [{ do: 'goto', target: `${pages.url}/shop` }, { do: 'click' }] }],
    });
    await bus.publish(asked);
    const parked = await eventually(async () => (await collect(bus.deadLetters())).find((d) => d.event?.id === asked.id), {
      timeoutMs: 30_000,
      message: 'the request was parked',
    });
    expect(parked.error).toMatchObject({ code: 'VERIFICATION_INVALID', retryable: false });
    expect(parked.error.message).toContain('check "journey" step 2 (click): target (a CSS selector) is required');
    expect(await answers(incidentId)).toHaveLength(0);
  });
});
