import { isVigilError } from '@vigil/errors';
import { startEngine } from './engine.js';
import { startSplit } from './split.js';

/**
 * `vigil up [--split]`: the whole engine in this process (embedded defaults unless NATS_URL,
 * DATABASE_URL, REDIS_URL say otherwise), or each service as its own process with `--split`.
 */
async function main(args: string[]): Promise<void> {
  if (args.includes('--help')) {
    process.stdout.write('vigil up [--split]\n  --split  each service as its own process (needs NATS_URL, DATABASE_URL, REDIS_URL)\n');
    return;
  }
  if (args.includes('--split')) {
    const split = startSplit(process.env);
    process.stdout.write(
      `Vigil is starting as ${split.children.length} processes. Routing key: ${split.routingKey}  API token: ${split.apiToken}\n`,
    );
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void split.stop().then(() => process.exit(0)));
    return;
  }
  const engine = await startEngine({ LOG_LEVEL: 'warn', ...process.env });
  const ingest = engine.urls['ingest'] ?? 'http://127.0.0.1:7401';
  const lines = [
    'Vigil is up.',
    ...Object.entries(engine.urls).map(([name, url]) => `  ${name.padEnd(13)} ${url.replace('0.0.0.0', '127.0.0.1')}`),
    '',
    'Send it an alert (PagerDuty Events API v2):',
    `  curl -s -X POST ${ingest.replace('0.0.0.0', '127.0.0.1')}/v2/enqueue -H 'content-type: application/json' \\`,
    `    -d '{"routing_key":"${engine.routingKey}","event_action":"trigger","payload":{"summary":"payment-api p95 latency above 2s","source":"payment-api","severity":"critical"}}'`,
    `Follow it: VIGIL_API_TOKEN=${engine.apiToken} vigil incidents   ·   stop: Ctrl-C`,
    `Or in the console (sign in with the API token): ${(engine.urls['orchestrator'] ?? 'http://127.0.0.1:7402').replace('0.0.0.0', '127.0.0.1')}/console`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void engine.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${isVigilError(error) ? `${error.code}: ${error.message}` : ((error as Error).stack ?? String(error))}\n`);
  process.exit(isVigilError(error, 'CONFIG_INVALID') ? 78 : 1);
});
