import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryBus } from '@vigil/bus';
import { createPgliteDb, type Db } from '@vigil/db';
import { createEvent, exampleData, type ContextMatch, type VigilEvent } from '@vigil/events';
import { createLogger } from '@vigil/platform';
import { collect, eventually } from '@vigil/testing';
import type { Runbook } from '../src/domain/runbook.js';
import type { KnowledgeSource } from '../src/knowledge/port.js';
import type { RetrievalRequest } from '../src/knowledge/retrieval.js';
import { sanityRunbookQuery } from '../src/knowledge/sanity.map.js';
import { createSanitySource } from '../src/knowledge/sanity.source.js';
import { createSensoSource } from '../src/knowledge/senso.source.js';
import { searchKnowledge } from '../src/search.js';
import { buildMemory, ingestDirectory, starterRunbooksDir } from '../src/service.js';
import { startFakeSanity, type FakeSanity } from './fakes/sanity.fake.js';
import { startFakeSenso, type FakeSenso } from './fakes/senso.fake.js';

const token = 'skSanityReadToken7f3a9c';
const apiKey = 'tgr_test_SensoKey91c2';
const projectId = 'vigil-test';
const apiVersion = '2025-02-19';

const lockRemedy = {
  risk: 'LOW',
  steps: [{ action: 'postgres.cancel_backend', params: { pid: '{{evidence.blocker_pid}}' }, reasoning: 'cancel the blocker' }],
};
const sanityDocuments = [
  {
    _id: 'rb-orders-deadlock',
    _type: 'runbook',
    title: 'Checkout waits on a row lock held on orders',
    slug: { _type: 'slug', current: 'orders-row-lock' },
    services: ['payment-api'],
    alerts: ['HighLatency'],
    body: 'Symptoms: checkout requests time out.\n\nA long transaction holds a row lock on orders; checkout requests wait on it. Cancel the blocking transaction.',
    remedy: lockRemedy,
  },
  {
    _id: 'rb-unchecked-remedy',
    _type: 'runbook',
    title: 'Row lock on orders (remedy typed by hand)',
    services: ['payment-api'],
    body: 'A transaction holds a row lock on orders.',
    remedy: { risk: 'SOMETIMES', steps: [{ action: 'DROP TABLE orders' }] },
  },
  {
    _id: 'rb-portable',
    _type: 'runbook',
    title: 'Lock waits',
    body: [{ _type: 'block', children: [{ _type: 'span', text: 'Checkout requests wait on a lock.' }] }],
  },
  {
    _id: 'rb-billing',
    _type: 'runbook',
    title: 'Billing row lock',
    services: ['billing'],
    body: 'A transaction holds a row lock on invoices.',
  },
  { _id: 'drafts.rb-orders-deadlock', _type: 'runbook', title: 'Draft: row lock on orders', body: 'row lock orders transaction' },
  { _id: 'vault', _type: 'secret', title: 'row lock orders transaction', value: 'very-secret-value' },
];

const request: RetrievalRequest = {
  query: exampleData['context.requested'].query,
  service: 'payment-api',
  alertName: 'HighLatency',
  limit: 5,
};

let db: Db;
const starter: Runbook[] = [];
let sanity: FakeSanity;
let senso: FakeSenso;
let lines: string[];
const log = () => createLogger({ service: 'memory-test', level: 'debug', destination: { write: (line: string) => void lines.push(line) } });

beforeAll(async () => {
  db = await createPgliteDb({ schema: 'memory' });
  await buildMemory({ bus: new MemoryBus(), db }, { concurrency: 1, stabilityWindowMs: 60_000 });
  await ingestDirectory(db, starterRunbooksDir, (runbook) => void starter.push(runbook));
});
afterAll(async () => {
  await db.close();
});
beforeEach(async () => {
  lines = [];
  sanity = await startFakeSanity({ projectId, dataset: 'production', token, documents: sanityDocuments });
  senso = await startFakeSenso({ apiKey });
});
afterEach(async () => {
  await sanity.close();
  await senso.close();
});

const sanitySource = (overrides: { token?: string; studioUrl?: string } = {}): KnowledgeSource =>
  createSanitySource({
    projectId,
    dataset: 'production',
    apiVersion,
    token: overrides.token ?? token,
    apiHost: sanity.url,
    studioUrl: overrides.studioUrl,
    log: log(),
  });
const sensoSource = (key = apiKey): KnowledgeSource => createSensoSource({ apiKey: key, baseUrl: senso.baseUrl });

async function build(sources: KnowledgeSource[], timeoutMs = 5_000) {
  const registry = new Registry();
  const bus = new MemoryBus({ logger: log() });
  const memory = await buildMemory({ bus, db, knowledge: { sources, timeoutMs }, registry }, { concurrency: 1, stabilityWindowMs: 60_000 });
  const outcomes = async (): Promise<Record<string, number>> => {
    const metric = registry.getSingleMetric('vigil_knowledge_source_queries_total');
    const values = metric ? (await metric.get()).values : [];
    return Object.fromEntries(values.map((v) => [`${v.labels.source}:${v.labels.outcome}`, v.value]));
  };
  return { memory, bus, registry, outcomes };
}

const ids = (matches: ContextMatch[]) => matches.map((m) => m.citation.documentId);

describe('external knowledge sources beside the local search', () => {
  it('merges Sanity and Senso matches with the local runbooks: one per document, best first, limited, cited', async () => {
    const { memory, outcomes } = await build([sanitySource(), sensoSource()]);
    await memory.retrieval.ingest(starter, log());
    const onlyInSenso = senso.seed({
      title: 'Month-end checkout stalls',
      summary: '',
      text: 'At month end a report transaction holds a row lock on orders and checkout requests wait on it.',
    });

    const matches = await memory.retrieval.search(request, log());

    expect(await outcomes()).toEqual({ 'sanity:ok': 1, 'senso:ok': 1 });
    const found = ids(matches);
    expect(new Set(found).size).toBe(found.length);
    expect(found).toEqual(expect.arrayContaining(['pg-lock-contention', 'orders-row-lock', 'rb-unchecked-remedy', `senso:${onlyInSenso}`]));
    expect(found).not.toContain('rb-billing');
    expect(found.filter((id) => id.includes('drafts') || id === 'vault')).toEqual([]);
    expect(matches.filter((m) => m.citation.kind === 'runbook').length).toBeLessThanOrEqual(request.limit);
    expect(matches.map((m) => m.score)).toEqual(matches.map((m) => m.score).sort((a, b) => b - a));
    for (const m of matches) {
      expect(m.score).toBeGreaterThan(0);
      expect(m.score).toBeLessThanOrEqual(1);
      expect(m.passage.length).toBeLessThanOrEqual(600);
    }

    // The local runbook keeps its remedy whichever copy scored best.
    expect(matches.find((m) => m.citation.documentId === 'pg-lock-contention')?.remedy?.steps[0]?.action).toBe(
      'postgres.terminate_backend',
    );
    const fromSanity = matches.find((m) => m.citation.documentId === 'orders-row-lock');
    expect(fromSanity).toMatchObject({
      citation: {
        kind: 'runbook',
        title: 'Checkout waits on a row lock held on orders',
        uri: `${sanity.url}/v${apiVersion}/data/doc/production/rb-orders-deadlock`,
      },
      passage: 'A long transaction holds a row lock on orders; checkout requests wait on it. Cancel the blocking transaction.',
      remedy: { risk: 'LOW', steps: [{ action: 'postgres.cancel_backend', params: { pid: '{{evidence.blocker_pid}}' } }] },
    });
    // A remedy that is not a valid Remedy is dropped, and said so.
    expect(matches.find((m) => m.citation.documentId === 'rb-unchecked-remedy')?.remedy).toBeUndefined();
    expect(lines.join('')).toContain('remedy is not valid');
    expect(matches.find((m) => m.citation.documentId === `senso:${onlyInSenso}`)?.citation).toMatchObject({
      title: 'Month-end checkout stalls',
      uri: `${senso.baseUrl}/content/${onlyInSenso}`,
    });

    // What the SDK sent: a GET on the dated query path, the project as a header, the bearer token,
    // the published perspective, and every input as a JSON-encoded `$` parameter of a fixed query.
    const [query] = sanity.requests;
    expect(query).toMatchObject({ method: 'GET', path: `/v${apiVersion}/data/query/production`, groq: sanityRunbookQuery });
    expect(query?.headers.authorization).toBe(`Bearer ${token}`);
    expect(query?.headers['x-sanity-project-id']).toBe(projectId);
    expect(query?.search).toMatchObject({ perspective: 'published', returnQuery: 'false', tag: 'vigil.memory-search' });
    expect(query?.params).toEqual({ type: 'runbook', text: request.query, service: 'payment-api', alertName: 'HighLatency', limit: 10 });

    // Senso: every starter runbook pushed as raw text, its id in the title; one search.
    const pushes = senso.requests.filter((r) => r.path === '/api/v1/content/raw');
    expect(pushes).toHaveLength(starter.length);
    for (const push of pushes) expect(push.headers['x-api-key']).toBe(apiKey);
    expect(pushes.map((p) => (p.body as { title: string }).title)).toContain(
      `${starter.find((r) => r.id === 'pg-lock-contention')?.title} [runbook pg-lock-contention]`,
    );
    const searches = senso.requests.filter((r) => r.path === '/api/v1/search');
    expect(searches.map((s) => s.body)).toEqual([{ query: request.query, max_results: 10 }]);
    expect(searches[0]?.headers['x-api-key']).toBe(apiKey);
  });

  it('links Sanity citations to the Studio when its URL is configured', async () => {
    const { memory } = await build([sanitySource({ studioUrl: 'https://vigil.sanity.studio/' })]);
    const matches = await memory.retrieval.search(request, log());
    expect(matches.find((m) => m.citation.documentId === 'orders-row-lock')?.citation.uri).toBe(
      'https://vigil.sanity.studio/intent/edit/id=rb-orders-deadlock;type=runbook',
    );
  });

  const failures: Array<[string, () => KnowledgeSource, (() => void) | undefined, string]> = [
    ['Sanity refuses the token (401)', () => sanitySource({ token: 'skWrongToken' }), undefined, 'sanity:unauthorized'],
    ['Sanity fails (500)', () => sanitySource(), () => sanity.failNext({ status: 500 }), 'sanity:unavailable'],
    ['Sanity never answers', () => sanitySource(), () => sanity.failNext({ stall: true }), 'sanity:timeout'],
    ['Senso refuses the key (401)', () => sensoSource('tgr_test_wrong'), undefined, 'senso:unauthorized'],
    ['Senso fails (500)', () => sensoSource(), () => senso.failNext({ status: 500 }), 'senso:unavailable'],
    ['Senso never answers', () => sensoSource(), () => senso.failNext({ stall: true }), 'senso:timeout'],
  ];
  it.each(failures)('%s: the local matches are still returned and the failure is counted', async (_, source, fail, counted) => {
    // A short deadline only where the source never answers: a 401 or a 500 that took longer than
    // 300 ms on a loaded machine would be counted as a timeout instead.
    const { memory, outcomes } = await build([source()], counted.endsWith(':timeout') ? 300 : 10_000);
    fail?.();
    const local = await searchKnowledge(db, request, new Date());
    expect(local.length).toBeGreaterThan(0);
    expect(await memory.retrieval.search(request, log())).toEqual(local);
    expect(await outcomes()).toEqual({ [counted]: 1 });
    expect(lines.join('')).toContain('knowledge source left out of the answer');
  });

  it('answers context.requested from the local runbooks while Sanity is down', async () => {
    const { bus } = await (async () => {
      const built = await build([sanitySource()], 300);
      await built.bus.consume({ durable: 'memory', ...built.memory.consumer });
      return built;
    })();
    sanity.failNext({ stall: true });
    const requested = createEvent('context.requested', exampleData['context.requested'], { source: 'orchestrator', incidentId: 'inc-k1' });
    await bus.publish(requested);
    const answer = await eventually(async () => {
      const found = await collect(bus.read({ types: ['context.retrieved'] }));
      return found[0]?.event as VigilEvent<'context.retrieved'> | undefined;
    });
    expect(answer.causationId).toBe(requested.id);
    expect(answer.data.matches[0]?.citation.documentId).toBe('pg-lock-contention');
    await bus.close();
  });

  it('keeps a GROQ injection attempt in the query text a parameter', async () => {
    const { memory, outcomes } = await build([sanitySource()]);
    const attack = 'row lock"] | *[_type == "secret"]{value} | *[_type == "x" && "';
    const alertAttack = 'HighLatency" || true || "';
    const matches = await memory.retrieval.search({ query: attack, service: 'payment-api', alertName: alertAttack, limit: 5 }, log());
    expect(await outcomes()).toEqual({ 'sanity:ok': 1 });
    expect(sanity.requests[0]?.groq).toBe(sanityRunbookQuery);
    expect(sanity.requests[0]?.params).toMatchObject({ text: attack, alertName: alertAttack });
    expect(JSON.stringify(matches)).not.toContain('very-secret-value');
    const fromSanity = matches.filter((m) => m.citation.uri?.startsWith(sanity.url));
    expect(fromSanity.length).toBeGreaterThan(0);
    expect(ids(fromSanity).every((id) => ['orders-row-lock', 'rb-unchecked-remedy', 'rb-portable'].includes(id))).toBe(true);
  });

  it('sends a long hypothesis in a POST body, as the SDK does past its URL limit', async () => {
    const { memory, outcomes } = await build([sanitySource()]);
    const query = 'row lock wait — orders blocked; '.repeat(250);
    const matches = await memory.retrieval.search({ ...request, query }, log());
    expect(await outcomes()).toEqual({ 'sanity:ok': 1 });
    expect(sanity.requests[0]).toMatchObject({ method: 'POST', path: `/v${apiVersion}/data/query/production`, groq: sanityRunbookQuery });
    expect(sanity.requests[0]?.params.text).toBe(query);
    expect(ids(matches)).toContain('orders-row-lock');
  });

  it('never logs the Sanity token or the Senso key, even when a vendor quotes them back', async () => {
    await sanity.close();
    await senso.close();
    // The fakes expect other credentials and quote the ones they were given in their errors.
    sanity = await startFakeSanity({ projectId, dataset: 'production', token: 'other', documents: [], quoteCredentials: true });
    senso = await startFakeSenso({ apiKey: 'other', quoteCredentials: true });
    const { memory, outcomes } = await build([sanitySource(), sensoSource()]);
    await memory.retrieval.search(request, log());
    await memory.retrieval.ingest(starter.slice(0, 1), log());
    expect(await outcomes()).toEqual({ 'sanity:unauthorized': 1, 'senso:unauthorized': 1 });
    const output = lines.join('');
    expect(output).toContain('KNOWLEDGE_SOURCE_UNAUTHORIZED');
    expect(output).toContain('[secret]');
    expect(output).not.toContain(token);
    expect(output).not.toContain(apiKey);
  });
});
