import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsBus, deleteNatsStreams, type Bus } from '@vigil/bus';
import { createEvent, exampleData, parseEvent, type VigilEvent } from '@vigil/events';
import { natsUrl, sleep, uniqueName } from '@vigil/testing';
import { vigil } from '../../test/run-vigil.js';

describe('vigil events tail', () => {
  let url: string;
  let prefix: string;
  let bus: Bus;
  let env: Record<string, string>;
  const published: VigilEvent[] = [];
  let middle: Date;

  beforeAll(async () => {
    url = await natsUrl();
    prefix = uniqueName('cli');
    env = { NATS_URL: url, VIGIL_SUBJECT_PREFIX: prefix };
    bus = await createNatsBus({ url, name: 'test', prefix });
    const make = [
      createEvent('incident.triggered', exampleData['incident.triggered'], { source: 'ingest' }),
      createEvent('hypothesis.received', exampleData['hypothesis.received'], { source: 'investigator', incidentId: 'inc-A' }),
    ];
    for (const event of make) {
      await bus.publish(event);
      published.push(event);
    }
    await sleep(50);
    middle = new Date();
    await sleep(50);
    const late = createEvent('context.requested', exampleData['context.requested'], { source: 'orchestrator', incidentId: 'inc-B' });
    await bus.publish(late);
    published.push(late);
  });

  afterAll(async () => {
    await bus.close();
    await deleteNatsStreams({ url, prefix });
  });

  const lines = (stdout: string) =>
    stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { seq: number; subject: string; event: unknown });

  it('prints the whole history as JSON lines, oldest first, each a valid event', async () => {
    const result = await vigil(['events', 'tail'], env);
    expect(result.code).toBe(0);
    const out = lines(result.stdout);
    expect(out.map((l) => parseEvent(l.event).id)).toEqual(published.map((e) => e.id));
    expect(out[0]?.subject).toBe(`${prefix}.incident.triggered`);
    expect(out.map((l) => l.seq)).toEqual([1, 2, 3]);
  });

  it('filters by type, by incident, and by time', async () => {
    const byType = lines((await vigil(['events', 'tail', '--type', 'hypothesis.received'], env)).stdout);
    expect(byType.map((l) => (l.event as VigilEvent).type)).toEqual(['hypothesis.received']);
    const byIncident = lines((await vigil(['events', 'tail', '--incident', 'inc-B'], env)).stdout);
    expect(byIncident.map((l) => (l.event as VigilEvent).id)).toEqual([published[2]!.id]);
    const bySince = lines((await vigil(['events', 'tail', '--since', middle.toISOString()], env)).stdout);
    expect(bySince.map((l) => (l.event as VigilEvent).id)).toEqual([published[2]!.id]);
    const twoTypes = lines((await vigil(['events', 'tail', '-t', 'incident.triggered', '-t', 'context.requested'], env)).stdout);
    expect(twoTypes).toHaveLength(2);
  });

  it('refuses bad arguments with exit 2 and a message naming them', async () => {
    const badType = await vigil(['events', 'tail', '--type', 'incident.exploded'], env);
    expect(badType.code).toBe(2);
    expect(badType.stderr).toContain('unknown event type "incident.exploded"');
    const badSince = await vigil(['events', 'tail', '--since', 'last tuesday'], env);
    expect(badSince.code).toBe(2);
    expect(badSince.stderr).toContain('--since');
  });

  it('says clearly when NATS cannot be reached, without echoing credentials', async () => {
    const result = await vigil(['events', 'tail'], { NATS_URL: 'nats://admin:s3cret@127.0.0.1:1' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('BUS_UNAVAILABLE: cannot connect to NATS at nats://127.0.0.1:1');
    expect(result.stderr).not.toContain('s3cret');
  });

  it('a reader never creates streams: on an empty server it says no Vigil service has started', async () => {
    const result = await vigil(['events', 'tail'], { NATS_URL: url, VIGIL_SUBJECT_PREFIX: `${prefix}_absent` });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('BUS_NOT_SET_UP');
  });

  it('has --help on every command', async () => {
    for (const args of [[], ['events'], ['events', 'tail'], ['events', 'types'], ['events', 'example']]) {
      const result = await vigil([...args, '--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('Usage: vigil');
    }
  });

  it('prints a valid example of any event type', async () => {
    const result = await vigil(['events', 'example', 'approval.requested']);
    expect(result.code).toBe(0);
    expect(parseEvent(JSON.parse(result.stdout)).type).toBe('approval.requested');
  });
});
