import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import puppeteer, { type Browser } from 'puppeteer-core';
import { MemoryBus } from '@vigil/bus';
import { createPgliteDb, type Db } from '@vigil/db';
import { createEvent, exampleData, type EventDataInput, type EventType, type VigilEvent } from '@vigil/events';
import { eventually, freePort } from '@vigil/testing';
import { autoPlan, contextMatches } from '../src/domain/saga.fixtures.js';
import { listIncidents, readIncident, readTimeline } from '../src/store/incident-store.js';
import { startOrchestrator } from './start-orchestrator.js';

const ANA = 'ana-token-0123456789';
const HOSTILE_TITLE = '<script>window.__pwned = true</script> payment-api <b>latency</b>';
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function setUp(env: Record<string, string> = { ORCHESTRATOR_API_TOKENS: `ana:${ANA}` }) {
  const bus = new MemoryBus();
  const db = await createPgliteDb({ schema: 'orchestrator' });
  closers.push(() => db.close());
  const orchestrator = await startOrchestrator({ bus, db, env });
  closers.push(() => orchestrator.stop());
  return { bus, db, url: orchestrator.url };
}

function publish<T extends EventType>(bus: MemoryBus, type: T, data: Partial<EventDataInput<T>>, incidentId: string | null) {
  return bus.publish(
    createEvent(type, { ...(exampleData[type] as object), ...data } as EventDataInput<T>, { source: 'test', incidentId }) as VigilEvent,
  );
}

const stageOf = async (db: Db, id: string) => (await readIncident(db, id))?.stage;

/** One incident with a hostile title, driven through the bus as the other services would, up to the plan. */
async function incidentAtSynthesis(bus: MemoryBus, db: Db, title = HOSTILE_TITLE): Promise<string> {
  const before = new Set((await listIncidents(db)).map((i) => i.id));
  await publish(bus, 'incident.triggered', { title, dedupKey: `key-${before.size}` } as never, null);
  const id = await eventually(async () => (await listIncidents(db)).find((i) => !before.has(i.id))?.id);
  await publish(bus, 'hypothesis.received', {}, id);
  await eventually(async () => (await stageOf(db, id)) === 'HYPOTHESIS_RECEIVED');
  await publish(bus, 'context.retrieved', { matches: contextMatches }, id);
  await eventually(async () => (await stageOf(db, id)) === 'SYNTHESIZING');
  return id;
}

/** ... and past the gate: EXECUTING under an automatic policy, AWAITING_APPROVAL under `approve`. */
async function incidentPastGate(bus: MemoryBus, db: Db, expected = 'EXECUTING'): Promise<string> {
  const id = await incidentAtSynthesis(bus, db);
  await publish(bus, 'remediation.proposed', { outcome: 'plan', plan: autoPlan, flags: [] } as never, id);
  await eventually(async () => (await stageOf(db, id)) === expected);
  return id;
}

async function approvePolicy(): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'vigil-policy-')), 'policy.yaml');
  await writeFile(file, 'defaults:\n  autonomy: approve\n');
  return file;
}

async function launch(): Promise<Browser> {
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  // Closed before the orchestrator stops: its kept-alive connections would hold the server open.
  closers.push(() => browser.close());
  return browser;
}

describe('the console in a browser', () => {
  it('refuses a wrong token, then shows the incident list and the whole incident, with alert text inert', async () => {
    const { bus, db, url } = await setUp();
    const id = await incidentPastGate(bus, db);
    const incident = (await readIncident(db, id))!;
    const timeline = await readTimeline(db, id);
    const browser = await launch();
    const tab = await browser.newPage();

    const signIn = async (token: string) => {
      await tab.goto(`${url}/console`);
      expect(new URL(tab.url()).pathname).toBe('/console/login');
      await tab.type('input[name=token]', token);
      const [response] = await Promise.all([tab.waitForNavigation(), tab.click('button[type=submit]')]);
      return response;
    };
    const refused = await signIn('not-the-token-0000000000');
    expect(refused?.status()).toBe(401);
    expect(await tab.$eval('[role=alert]', (e) => e.textContent)).toContain('not valid');

    const accepted = await signIn(ANA);
    expect(accepted?.status()).toBe(200);
    expect(new URL(tab.url()).pathname).toBe('/console');
    const rows = await tab.$$eval('#incidents tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]?.slice(0, 3)).toEqual(['EXECUTING', 'payment-api', HOSTILE_TITLE]);

    await Promise.all([tab.waitForNavigation(), tab.click('#incidents tbody a')]);
    expect(new URL(tab.url()).pathname).toBe(`/console/incidents/${id}`);
    // The title is shown as the text it is; no markup from it reached the document, nothing ran.
    expect(await tab.$eval('#title', (e) => e.textContent)).toBe(HOSTILE_TITLE);
    expect(await tab.$$eval('#title b', (found) => found.length)).toBe(0);
    expect(await tab.$$eval('script', (found) => found.map((s) => s.getAttribute('src')))).toEqual(['/console/live.js']);
    expect(await tab.evaluate(() => (globalThis as { __pwned?: boolean }).__pwned)).toBeUndefined();

    const text = (await tab.$eval('body', (e) => e.innerText)) as string;
    expect(await tab.$eval('#summary', (e) => e.textContent)).toContain('EXECUTING');
    expect(text).toContain(incident.hypothesis!.rootCause);
    for (const match of contextMatches) expect(await tab.$eval('#citations', (e) => e.textContent)).toContain(match.citation.title);
    const planText = await tab.$eval('#plan', (e) => e.textContent);
    for (const step of autoPlan.steps) expect(planText).toContain(step.id);
    expect(await tab.$eval('#gate', (e) => e.textContent)).toContain('AUTO_EXECUTE');
    expect(text).toContain('intact');
    const shown = await tab.$$eval('#timeline tbody tr', (trs) => trs.map((tr) => tr.querySelectorAll('td')[3]?.textContent));
    expect(shown).toEqual(timeline.map((e) => e.summary));
    const stagesShown = await tab.$$eval('#stages tbody tr', (trs) => trs.map((tr) => tr.querySelector('td')?.textContent));
    expect(stagesShown).toEqual(timeline.filter((e) => e.kind === 'stage').map((e) => e.summary));
    expect(await tab.$eval('meta[name=vigil-live]', (e) => e.getAttribute('content'))).toBe(`/console/incidents/${id}/version`);

    // The filters narrow the list.
    await tab.goto(`${url}/console?stage=RESOLVED&service=`);
    expect(await tab.$eval('#incidents tbody', (e) => e.textContent)).toContain('No incidents match');
    await tab.goto(`${url}/console?stage=EXECUTING&service=payment-api`);
    expect(await tab.$$eval('#incidents tbody a', (a) => a.length)).toBe(1);
  }, 30_000);

  it('follows changes by itself: the incident page and the list update without a reload by the person', async () => {
    const { bus, db, url } = await setUp();
    const id = await incidentAtSynthesis(bus, db, 'checkout slow');
    const tab = await (await launch()).newPage();
    await tab.setCookie({ name: 'vigil_console', value: ANA, url: `${url}/console` });
    await tab.goto(`${url}/console/incidents/${id}`);
    expect(await tab.$eval('#summary', (e) => e.textContent)).toContain('SYNTHESIZING');
    await tab.waitForFunction("document.getElementById('live')?.textContent?.startsWith('Live')");

    await publish(bus, 'remediation.proposed', { outcome: 'plan', plan: autoPlan, flags: [] } as never, id);
    await tab.waitForFunction("document.querySelector('#summary')?.textContent?.includes('EXECUTING')", { timeout: 20_000 });
    expect(await tab.$$eval('#stages tbody tr', (trs) => trs.length)).toBe(
      (await readTimeline(db, id)).filter((e) => e.kind === 'stage').length,
    );

    await tab.goto(`${url}/console`);
    expect(await tab.$$eval('#incidents tbody a', (a) => a.length)).toBe(1);
    await incidentAtSynthesis(bus, db, 'a second incident');
    await tab.waitForFunction("document.querySelectorAll('#incidents tbody a').length === 2", { timeout: 20_000 });
    expect(await tab.$eval('#incidents', (e) => e.textContent)).toContain('a second incident');
  }, 60_000);

  it('does not reload over a reason being typed: it says the page changed instead', async () => {
    const { bus, db, url } = await setUp({
      ORCHESTRATOR_API_TOKENS: `ana:${ANA}`,
      VIGIL_POLICY_FILE: await approvePolicy(),
      APPROVER_URL: `http://127.0.0.1:${await freePort()}`,
    });
    const id = await incidentPastGate(bus, db, 'AWAITING_APPROVAL');
    const tab = await (await launch()).newPage();
    await tab.setCookie({ name: 'vigil_console', value: ANA, url: `${url}/console` });
    await tab.goto(`${url}/console/incidents/${id}`);
    await tab.type('.approval input[name=reason]', 'looked at the locks');
    // The alert fires again: the same open incident, one more occurrence, a new version.
    await publish(bus, 'incident.triggered', { title: HOSTILE_TITLE, dedupKey: 'key-0' } as never, null);
    await eventually(async () => (await readIncident(db, id))?.occurrences === 2);
    await tab.waitForFunction("document.getElementById('live')?.textContent?.includes('reload')", { timeout: 20_000 });
    expect(await tab.$eval('.approval input[name=reason]', (e) => (e as unknown as { value: string }).value)).toBe('looked at the locks');
  }, 60_000);
});

describe('the console over plain HTTP', () => {
  const get = (url: string, headers: Record<string, string> = {}) => fetch(url, { headers, redirect: 'manual' });

  it('sends a visitor without credentials to sign in, and refuses a wrong cookie or header', async () => {
    const { url } = await setUp();
    const anonymous = await get(`${url}/console`);
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toBe('/console/login');
    expect((await get(`${url}/console/incidents/x`)).status).toBe(303);
    expect((await get(`${url}/console`, { cookie: 'vigil_console=wrong-token-000000000' })).status).toBe(401);
    expect((await get(`${url}/console/incidents/x`, { cookie: 'vigil_console=wrong-token-000000000' })).status).toBe(401);
    expect((await get(`${url}/console`, { authorization: 'Bearer wrong-token-000000000' })).status).toBe(401);
    expect((await get(`${url}/console`, { authorization: `Bearer ${ANA}` })).status).toBe(200);
    const missing = await get(`${url}/console/incidents/nope`, { cookie: `vigil_console=${ANA}` });
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('no incident nope');
    const bad = await get(`${url}/console?stage=DANCING`, { cookie: `vigil_console=${ANA}` });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('stage');
    // The API keeps its own JSON refusals.
    expect(await (await get(`${url}/incidents`)).json()).toMatchObject({ error: expect.stringContaining('API token') });
  });

  it('sets an HttpOnly, SameSite=Strict cookie only for a valid token', async () => {
    const { url } = await setUp();
    const login = (token: string) =>
      fetch(`${url}/console/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }).toString(),
      });
    const wrong = await login('wrong-token-000000000');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const right = await login(ANA);
    expect(right.status).toBe(303);
    expect(right.headers.get('location')).toBe('/console');
    const cookie = right.headers.get('set-cookie') ?? '';
    expect(cookie).toContain(`vigil_console=${ANA}`);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    const page = await get(`${url}/console`, { cookie: cookie.split(';')[0]! });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await page.text()).toContain('Signed in as ana');
  });

  const cookie = `vigil_console=${ANA}`;
  const formOf = (page: string): string => /name="form" value="([^"]+)"/.exec(page)?.[1] ?? '';

  it('shows a request awaiting approval with its plan, risk, confidence and expiry, on its page and in the list', async () => {
    const approver = `http://127.0.0.1:${await freePort()}`;
    const env = { ORCHESTRATOR_API_TOKENS: `ana:${ANA}`, VIGIL_POLICY_FILE: await approvePolicy(), APPROVER_URL: approver };
    const { bus, db, url } = await setUp(env);
    const id = await incidentPastGate(bus, db, 'AWAITING_APPROVAL');
    const asked = (await readTimeline(db, id)).find((e) => e.eventType === 'approval.requested')?.data ?? {};
    const page = await (await get(`${url}/console/incidents/${id}`, { cookie })).text();
    const card = page.slice(page.indexOf('<section class="approval"'), page.indexOf('</section>'));
    expect(card).toContain(`<dd class="risk">${autoPlan.risk}</dd>`);
    expect(card).toContain(`<dd class="confidence">${Math.round(Number(asked['confidence']) * 100)}%</dd>`);
    expect(card).toContain(
      String(asked['expiresAt'])
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z'),
    );
    expect(card).toContain(String(asked['planHash']));
    for (const step of autoPlan.steps) expect(card).toContain(step.kind === 'action' ? step.action : step.language);
    expect(card).toContain('value="approve">Approve</button>');
    expect(card).toContain('value="deny">Deny</button>');
    expect(formOf(card)).not.toBe('');

    const list = await (await get(`${url}/console`, { cookie })).text();
    const pending = list.slice(list.indexOf('<div id="pending">'), list.indexOf('All incidents'));
    expect(pending).toContain(`href="/console/incidents/${id}"`);
    expect(pending).toContain('value="list"');
  });

  it('takes a decision only from the console session and the current plan, and says when the approver cannot be reached', async () => {
    const BOB = 'bob-token-0123456789';
    const approver = `http://127.0.0.1:${await freePort()}`;
    const env = { ORCHESTRATOR_API_TOKENS: `ana:${ANA},bob:${BOB}`, VIGIL_POLICY_FILE: await approvePolicy(), APPROVER_URL: approver };
    const { bus, db, url } = await setUp(env);
    const id = await incidentPastGate(bus, db, 'AWAITING_APPROVAL');
    const planHash = (await readIncident(db, id))!.planHash!;
    const form = formOf(await (await get(`${url}/console/incidents/${id}`, { cookie })).text());
    const bobsForm = formOf(await (await get(`${url}/console/incidents/${id}`, { cookie: `vigil_console=${BOB}` })).text());
    expect(bobsForm).not.toBe(form);
    const post = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
      fetch(`${url}/console/incidents/${id}/decision`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, ...headers },
        body: new URLSearchParams(fields).toString(),
      });
    const valid = { form, planHash, decision: 'approve', back: 'incident' };

    expect((await post({ ...valid, form: 'forged' })).status).toBe(403);
    expect((await post({ ...valid, form: bobsForm })).status).toBe(403);
    expect((await post({ planHash, decision: 'approve' })).status).toBe(403);
    expect((await post(valid, { origin: 'https://elsewhere.example' })).status).toBe(403);
    expect((await post(valid, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    const anonymous = await post(valid, { cookie: '' });
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toBe('/console/login');
    expect((await post({ ...valid, decision: 'maybe' })).status).toBe(400);
    const stale = await post({ ...valid, planHash: 'a'.repeat(64) });
    expect(stale.status).toBe(409);
    expect(await stale.text()).toContain('The plan changed');

    const unreachable = await post(valid, { origin: url });
    expect(unreachable.status).toBe(502);
    const text = await unreachable.text();
    expect(text).toContain(`cannot reach the approver at ${approver}`);
    expect(text).not.toContain(ANA);
    expect(await stageOf(db, id)).toBe('AWAITING_APPROVAL');
  });

  it('without APPROVER_URL the console shows the request but says where to decide instead', async () => {
    const { bus, db, url } = await setUp({ ORCHESTRATOR_API_TOKENS: `ana:${ANA}`, VIGIL_POLICY_FILE: await approvePolicy() });
    const id = await incidentPastGate(bus, db, 'AWAITING_APPROVAL');
    const page = await (await get(`${url}/console/incidents/${id}`, { cookie })).text();
    expect(page).toContain('Awaiting approval');
    expect(page).toContain('APPROVER_URL is not set');
    expect(page).not.toContain('>Approve</button>');
  });

  it('answers the live-update versions: they change when the incident or the list does', async () => {
    const { bus, db, url } = await setUp();
    const id = await incidentAtSynthesis(bus, db, 'checkout slow');
    const version = async (path: string) => (await get(`${url}${path}`, { cookie })).text();
    const incidentBefore = await version(`/console/incidents/${id}/version`);
    const listBefore = await version('/console/version');
    expect(incidentBefore).toBe(String((await readIncident(db, id))!.version));
    expect(await version('/console/version')).toBe(listBefore);
    await publish(bus, 'remediation.proposed', { outcome: 'plan', plan: autoPlan, flags: [] } as never, id);
    await eventually(async () => (await stageOf(db, id)) === 'EXECUTING');
    expect(await version(`/console/incidents/${id}/version`)).not.toBe(incidentBefore);
    expect(await version('/console/version')).not.toBe(listBefore);
    expect((await get(`${url}/console/incidents/nope/version`, { cookie })).status).toBe(404);
    expect((await get(`${url}/console/version`)).status).toBe(303);
  });

  it('without API tokens the console refuses everyone, naming the variable', async () => {
    const { url } = await setUp({});
    for (const path of ['/console', '/console/login']) {
      const refused = await get(`${url}${path}`);
      expect(refused.status).toBe(503);
      expect(await refused.text()).toContain('ORCHESTRATOR_API_TOKENS');
    }
  });
});
