import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsBus, deleteNatsStreams, durableName, type Bus } from '@vigil/bus';
import { createEvent, exampleData, streamName } from '@vigil/events';
import { eventually, natsUrl, uniqueName } from '@vigil/testing';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = join(here, 'fixtures', 'marker-service.ts');

function startFixture(env: Record<string, string>): {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
} {
  const child = spawn(process.execPath, ['--conditions=@vigil/source', '--import', 'tsx', fixture], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

describe('a service process', () => {
  let url: string;
  let prefix: string;
  let dir: string;
  let bus: Bus;

  beforeAll(async () => {
    url = await natsUrl();
    prefix = uniqueName('svc');
    dir = await mkdtemp(join(tmpdir(), 'vigil-marker-'));
    bus = await createNatsBus({ url, name: 'test', prefix });
  });
  afterAll(async () => {
    await bus.close();
    await deleteNatsStreams({ url, prefix });
    await rm(dir, { recursive: true, force: true });
  });

  it('stops at start-up on a bad configuration value, naming the variable', async () => {
    const run = startFixture({ MARKER_FILE: join(dir, 'x'), NATS_URL: 'http://not-nats', SHUTDOWN_TIMEOUT_MS: 'soon' });
    const code = await run.exit;
    expect(code).toBe(78);
    expect(run.stderr()).toContain('invalid configuration');
    expect(run.stderr()).toContain('NATS_URL: a nats or tls or ws or wss URL (value hidden)');
    expect(run.stderr()).toContain('SHUTDOWN_TIMEOUT_MS');
    expect(run.stderr()).not.toContain('http://not-nats');
  });

  it('a SIGTERM while the service is still starting stops it gracefully once started, not the default way', async () => {
    const run = startFixture({
      NATS_URL: url,
      VIGIL_SUBJECT_PREFIX: prefix,
      MARKER_FILE: join(dir, 'early.log'),
      SIGNAL_DURING_START: '1',
      LOG_LEVEL: 'info',
    });
    expect(await run.exit).toBe(0); // the default action would end it by the signal (no exit code)
    expect(run.stdout()).toContain('"ready"');
    expect(run.stdout()).toContain('shutting down');
  });

  it('a SIGTERM during a handler loses no message: the running one finishes, the rest wait for the next copy', async () => {
    const marker = join(dir, 'sigterm.log');
    const hold = join(dir, 'release');
    const env = { NATS_URL: url, VIGIL_SUBJECT_PREFIX: prefix, MARKER_FILE: marker };
    // The first copy's handler holds until the test releases it, so the signal surely lands mid-handler.
    const first = startFixture({ ...env, HOLD_FILE: hold, LOG_LEVEL: 'info' });
    await eventually(() => first.stdout().includes('"ready"'), { message: `fixture did not start: ${first.stderr()}` });
    const events = [1, 2, 3].map((n) =>
      createEvent('incident.triggered', { ...exampleData['incident.triggered'], dedupKey: `k${n}` }, { source: 'test' }),
    );
    for (const event of events) await bus.publish(event);
    await eventually(async () => (await readFile(marker, 'utf8').catch(() => '')).includes(`start ${events[0]!.id}`));
    first.child.kill('SIGTERM');
    await eventually(() => first.stdout().includes('shutting down'), { message: 'the signal was not handled' });
    await writeFile(hold, '');
    expect(await first.exit).toBe(0);
    const afterFirst = await readFile(marker, 'utf8');
    expect(afterFirst).toContain(`done ${events[0]!.id}`); // the running handler finished
    expect(afterFirst).not.toContain(`start ${events[1]!.id}`); // nothing new started while stopping

    const second = startFixture({ ...env, HANDLER_DELAY_MS: '10' });
    // Stopped once it has started (its "ready" line): a signal during start-up is another test.
    await eventually(() => second.stdout().includes('"ready"'), { message: `second copy did not start: ${second.stderr()}` });
    await eventually(async () => {
      const log = await readFile(marker, 'utf8');
      return events.every((e) => log.includes(`done ${e.id}`));
    });
    second.child.kill('SIGTERM');
    expect(await second.exit).toBe(0);
    const lines = (await readFile(marker, 'utf8')).trim().split('\n');
    for (const event of events) expect(lines.filter((l) => l === `done ${event.id}`)).toHaveLength(1);

    const nc = await connect({ servers: url });
    const info = await (
      await jetstreamManager(nc)
    ).consumers.info(streamName('events', prefix), durableName('marker', 'incident.triggered'));
    await nc.close();
    expect(info.num_pending + info.num_ack_pending).toBe(0);
  });
});
