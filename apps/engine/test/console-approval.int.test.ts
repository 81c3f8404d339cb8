import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterEach, expect, it } from 'vitest';
import { createEvent, exampleData, type VigilEvent } from '@vigil/events';
import { databaseUrl, eventually, repoRoot, uniqueName } from '@vigil/testing';
import {
  createDemoDatabase,
  demoCatalog,
  demoEngineEnv,
  demoPolicy,
  freePort,
  freeServicePorts,
  injectFault,
  pageWhenUnhealthy,
  startPaymentApi,
} from '../src/demo-setup.js';
import { startEngine } from '../src/engine.js';

/**
 * The console in a real browser over the whole engine and the demo's real fault: a row lock on
 * payment-api pages Vigil, the policy says a human approves, and the person does so by clicking
 * Approve on the incident's page. The page follows the incident by itself to RESOLVED and says
 * who approved. Screenshots go to tmp/artifacts/screenshots/ for CI to keep.
 */
const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const screenshots = join(repoRoot, 'tmp', 'artifacts', 'screenshots');
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanups.splice(0).reverse()) await step().catch(() => undefined);
});

const textOf = (tab: Page, selector: string): Promise<string> => tab.$eval(selector, (e) => e.textContent ?? '');
const stagesOn = (tab: Page): Promise<string[]> =>
  tab.$$eval('#stages tbody tr', (rows) => rows.map((row) => row.querySelector('td')?.textContent?.trim() ?? ''));

it('a gated demo incident is approved in the browser and followed live to RESOLVED; status pages link to the console', async () => {
  const database = await createDemoDatabase(
    await databaseUrl(),
    uniqueName('console')
      .toLowerCase()
      .replace(/[^a-z0-9_]/g, '_'),
  );
  cleanups.push(() => database.drop());
  const { payment, url: paymentUrl } = await startPaymentApi(database);
  cleanups.push(() => payment.stop());

  const dir = await mkdtemp(join(tmpdir(), 'vigil-console-'));
  await writeFile(join(dir, 'catalog.yaml'), demoCatalog({ paymentUrl, database, browser: existsSync(chromium) }));
  await writeFile(join(dir, 'policy.yaml'), demoPolicy(true));
  const ports = await freeServicePorts();
  // Nothing about the console is configured: the engine tells the orchestrator where the
  // approver is and every service where the console is.
  const engine = await startEngine({
    PATH: process.env.PATH,
    LOG_LEVEL: 'silent',
    ...ports,
    VIGIL_SERVICE_CATALOG: join(dir, 'catalog.yaml'),
    VIGIL_POLICY_FILE: join(dir, 'policy.yaml'),
    ...demoEngineEnv,
  });
  cleanups.push(() => engine.stop());
  const consoleUrl = `http://127.0.0.1:${ports['ORCHESTRATOR_PORT']}/console`;

  const browser: Browser = await puppeteer.launch({
    executablePath: chromium,
    args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  // Closed before the engine stops: kept-alive connections would hold its servers open.
  cleanups.push(() => browser.close());
  const tab = await browser.newPage();
  await tab.setViewport({ width: 1280, height: 900 });
  await mkdir(screenshots, { recursive: true });

  // Every service's status page links to the console, and the link leads there.
  for (const [name, url] of Object.entries(engine.urls)) {
    const status = await fetch(`${url.replace('0.0.0.0', '127.0.0.1')}/`, { headers: { accept: 'text/html' } });
    expect(await status.text(), name).toContain(`href="${consoleUrl}"`);
  }
  await tab.goto(`${engine.urls['approver']!.replace('0.0.0.0', '127.0.0.1')}/`);
  await Promise.all([tab.waitForNavigation(), tab.click(`a[href="${consoleUrl}"]`)]);
  expect(tab.url()).toBe(`${consoleUrl}/login`);

  // The person signs in with this run's token and watches the (empty) list.
  await tab.type('input[name=token]', engine.apiToken);
  await Promise.all([tab.waitForNavigation(), tab.click('button[type=submit]')]);
  expect(await textOf(tab, '#pending')).toContain('Nothing awaits approval');

  // The fault, and the monitor that pages Vigil.
  const { chaos } = await injectFault('pg-lock', database.appUrl);
  cleanups.push(() => chaos.stop());
  await pageWhenUnhealthy({
    service: 'payment-api',
    healthUrl: `${paymentUrl}/health`,
    ingestUrl: engine.urls['ingest']!.replace('0.0.0.0', '127.0.0.1'),
    routingKey: engine.routingKey,
  });

  // The list updates by itself: the incident appears, then its request for approval.
  await tab.waitForSelector('#incidents tbody a', { timeout: 120_000 });
  await tab.waitForSelector('#pending .approval', { timeout: 180_000 });
  expect(await textOf(tab, '#pending')).toContain('postgres.terminate_backend');
  await tab.screenshot({ path: join(screenshots, 'console-list.png'), fullPage: true });

  await Promise.all([tab.waitForNavigation(), tab.click('#incidents tbody a')]);
  const incidentPath = new URL(tab.url()).pathname;
  expect(await textOf(tab, '#summary')).toContain('AWAITING_APPROVAL');
  expect(await stagesOn(tab)).toEqual([
    'TRIGGERED',
    'INVESTIGATING',
    'HYPOTHESIS_RECEIVED',
    'CONTEXT_RETRIEVED',
    'SYNTHESIZING',
    'AWAITING_APPROVAL',
  ]);
  const card = await textOf(tab, '.approval');
  for (const shown of ['Risk', 'Confidence', 'Expires', 'postgres.terminate_backend']) expect(card).toContain(shown);
  expect(await textOf(tab, '.approval .expires')).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
  await tab.screenshot({ path: join(screenshots, 'console-incident-awaiting-approval.png'), fullPage: true });

  // Approve, with a reason, in the browser.
  await tab.type('.approval input[name=reason]', 'checked the blocker in the console');
  const [decided] = await Promise.all([tab.waitForNavigation(), tab.click('.approval button[value=approve]')]);
  expect(decided?.status()).toBe(200);
  expect(new URL(tab.url()).pathname).toBe(incidentPath);
  // Sent; once the saga has taken it, the page says who decided instead.
  expect(await textOf(tab, '#decision-notice, #decided-by')).toContain('Approved');

  // The page follows the incident by itself through execution and proof to RESOLVED.
  await tab.waitForFunction("document.querySelector('#summary')?.textContent?.includes('RESOLVED')", { timeout: 240_000 });
  expect(await textOf(tab, '#decided-by')).toMatch(/Approved by operator\s+via web: checked the blocker in the console/);
  expect(await tab.$('#decision-notice')).toBeNull();
  const stages = await stagesOn(tab);
  expect(stages.slice(0, 6)).toEqual([
    'TRIGGERED',
    'INVESTIGATING',
    'HYPOTHESIS_RECEIVED',
    'CONTEXT_RETRIEVED',
    'SYNTHESIZING',
    'AWAITING_APPROVAL',
  ]);
  expect(stages.slice(6)).toEqual(['EXECUTING (baseline)', 'EXECUTING (running)', 'VERIFYING', 'RESOLVED']);
  expect(await textOf(tab, '#steps')).toContain('succeeded');
  expect(await textOf(tab, '#verification')).toContain('passed');
  await tab.screenshot({ path: join(screenshots, 'console-incident-resolved.png'), fullPage: true });

  // The fix is real, and the approver recorded the person the token names, via the web.
  expect((await fetch(`${paymentUrl}/health`)).status).toBe(200);
  const approvals = (await (
    await fetch(`${engine.urls['approver']!.replace('0.0.0.0', '127.0.0.1')}${incidentPath.replace('/console/incidents', '/approvals')}`, {
      headers: { authorization: `Bearer ${engine.apiToken}` },
    })
  ).json()) as { approvals: Array<{ state: string; votes: Array<{ person: { id: string }; via: string }> }> };
  expect(approvals.approvals[0]).toMatchObject({ state: 'approved', votes: [{ person: { id: 'operator' }, via: 'web' }] });
}, 420_000);

it('sends each decision as the signed-in person: the approver refuses whom it does not know or trust, and a denial says who denied', async () => {
  const [ANA, BOB, CAROL] = ['ana-token-0123456789', 'bob-token-0123456789', 'carol-token-0123456789'];
  const ports = { ORCHESTRATOR_PORT: String(await freePort()), APPROVER_PORT: String(await freePort()) };
  const engine = await startEngine(
    {
      PATH: process.env.PATH,
      LOG_LEVEL: 'silent',
      ...ports,
      // Carol may read the console but is unknown to the approver; Bob is known but approves nothing.
      ORCHESTRATOR_API_TOKENS: `ana:${ANA},bob:${BOB},carol:${CAROL}`,
      APPROVER_API_TOKENS: `ana:${ANA},bob:${BOB}`,
      APPROVER_POLICY: JSON.stringify({ people: { ana: { name: 'Ana' }, bob: {} }, approvers: { 'payment-api': { default: ['ana'] } } }),
    },
    ['orchestrator', 'approver'],
  );
  cleanups.push(() => engine.stop());
  const orchestrator = `http://127.0.0.1:${ports.ORCHESTRATOR_PORT}`;
  const api = async <T>(path: string): Promise<T> =>
    (await (await fetch(`${orchestrator}${path}`, { headers: { authorization: `Bearer ${ANA}` } })).json()) as T;

  // The other services' part, published as they would: an incident whose plan needs a person.
  await engine.bus.publish(createEvent('incident.triggered', exampleData['incident.triggered'], { source: 'test' }));
  const id = await eventually(async () => (await api<{ incidents: Array<{ id: string }> }>('/incidents')).incidents[0]?.id);
  const stage = async () => (await api<{ incident: { stage: string } }>(`/incidents/${id}`)).incident.stage;
  for (const type of ['hypothesis.received', 'context.retrieved', 'remediation.proposed'] as const) {
    const before = await stage();
    await engine.bus.publish(createEvent(type, exampleData[type] as never, { source: 'test', incidentId: id }) as VigilEvent);
    await eventually(async () => (await stage()) !== before);
  }
  expect(await stage()).toBe('AWAITING_APPROVAL');
  await eventually(async () => {
    const found = await fetch(`http://127.0.0.1:${ports.APPROVER_PORT}/approvals/${id}`, { headers: { authorization: `Bearer ${ANA}` } });
    return found.ok;
  });

  const decide = async (token: string, decision: 'approve' | 'deny', reason?: string) => {
    const cookie = `vigil_console=${token}`;
    const page = await (await fetch(`${orchestrator}/console/incidents/${id}`, { headers: { cookie } })).text();
    const field = (name: string) => new RegExp(`name="${name}" value="([^"]+)"`).exec(page)?.[1] ?? '';
    return fetch(`${orchestrator}/console/incidents/${id}/decision`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, origin: orchestrator },
      body: new URLSearchParams({
        form: field('form'),
        planHash: field('planHash'),
        decision,
        back: 'incident',
        ...(reason ? { reason } : {}),
      }),
    });
  };
  const unknown = await decide(CAROL, 'approve');
  expect(unknown.status).toBe(403);
  expect(await unknown.text()).toContain('the approver does not accept your console token');
  const untrusted = await decide(BOB, 'approve');
  expect(untrusted.status).toBe(403);
  expect(await untrusted.text()).toContain('bob is not an approver for payment-api');
  expect(await stage()).toBe('AWAITING_APPROVAL');

  const denied = await decide(ANA, 'deny', 'not during the sale');
  expect(denied.status).toBe(303);
  expect(denied.headers.get('location')).toBe(`/console/incidents/${id}?sent=denied`);
  await eventually(async () => (await stage()) === 'ESCALATED');
  const page = await (await fetch(`${orchestrator}/console/incidents/${id}`, { headers: { cookie: `vigil_console=${ANA}` } })).text();
  expect(page).toMatch(/id="decided-by">\s*Denied by Ana\s+via web: not during the sale/);
  expect(page).not.toContain('class="approval"');
}, 120_000);
