import { Command, InvalidArgumentError, Option } from 'commander';
import { createNatsBus } from '@vigil/bus';
import { catalog, createEvent, eventTypes, exampleData, isEventType, type EventType } from '@vigil/events';
import { loadConfig } from '@vigil/platform';
import { cliConfig } from '../config.js';
import { parseSince } from '../domain/parse-time.js';

function eventType(value: string, previous: EventType[] = []): EventType[] {
  if (!isEventType(value)) {
    throw new InvalidArgumentError(`unknown event type "${value}"; one of: ${eventTypes.join(', ')}`);
  }
  return [...previous, value];
}

function since(value: string): Date {
  const date = parseSince(value);
  if (!date) throw new InvalidArgumentError('expected an ISO-8601 time (2026-11-22T10:00:00Z) or a duration back (15m, 2h, 7d)');
  return date;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

interface TailOptions {
  type?: EventType[];
  incident?: string;
  since?: Date;
  fromSeq?: number;
  follow?: boolean;
  deadLetters?: boolean;
}

async function tail(options: TailOptions): Promise<void> {
  const config = loadConfig(cliConfig);
  const bus = await createNatsBus({
    url: config.NATS_URL,
    name: 'vigil-cli',
    // A reader never creates or reconfigures the streams.
    streams: 'existing',
    ...(config.VIGIL_SUBJECT_PREFIX ? { prefix: config.VIGIL_SUBJECT_PREFIX } : {}),
  });
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const write = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value)}\n`);
  try {
    if (options.deadLetters) {
      for await (const letter of bus.deadLetters({ follow: options.follow ?? false, signal: controller.signal })) write(letter);
      return;
    }
    const stream = bus.read({
      ...(options.type ? { types: options.type } : {}),
      ...(options.incident ? { incidentId: options.incident } : {}),
      ...(options.since ? { since: options.since } : {}),
      ...(options.fromSeq ? { fromSeq: options.fromSeq } : {}),
      follow: options.follow ?? false,
      signal: controller.signal,
      onInvalid: ({ seq, subject, error }) => void process.stderr.write(`vigil: skipped message ${seq} on ${subject}: ${error.message}\n`),
    });
    for await (const stored of stream) {
      write({ seq: stored.seq, storedAt: stored.storedAt.toISOString(), subject: stored.subject, event: stored.event });
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await bus.close();
  }
}

export function eventsCommand(): Command {
  const events = new Command('events').description("read Vigil's event history and the event contract");

  events
    .command('tail')
    .description('print stored events as JSON lines, oldest first (the history `nats stream view` shows)')
    .addOption(new Option('-t, --type <type>', 'only this event type (repeatable)').argParser(eventType))
    .option('-i, --incident <id>', 'only events of this incident')
    .addOption(new Option('-s, --since <time>', 'from this time: ISO-8601 or a duration back (15m, 2h, 7d)').argParser(since))
    .addOption(new Option('--from-seq <n>', 'from this stream sequence').argParser(positiveInt))
    .option('-f, --follow', 'keep printing new events until interrupted')
    .option('--dead-letters', 'print parked messages (with the error that stopped them) instead of events')
    .addHelpText('after', '\nReads NATS_URL (default nats://127.0.0.1:4222) and VIGIL_SUBJECT_PREFIX.')
    .action(tail);

  events
    .command('types')
    .description('list every event type with its version, kind and producers')
    .action(() => {
      for (const type of eventTypes) {
        const entry = catalog[type];
        process.stdout.write(`${type}\tv${entry.version}\t${entry.kind}\t${entry.producers.join(',')}\n`);
      }
    });

  events
    .command('example')
    .description('print a valid example event of a type, as JSON')
    .argument('<type>', 'an event type, e.g. incident.triggered', (v) => eventType(v)[0] as EventType)
    .action((type: EventType) => {
      const incidentId = catalog[type].incidentId === 'required' ? 'inc-example' : null;
      const event = createEvent(type, exampleData[type] as never, { source: 'vigil-cli', incidentId });
      process.stdout.write(`${JSON.stringify(event, null, 2)}\n`);
    });

  return events;
}
