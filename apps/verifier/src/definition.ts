import { catalogFromConfig } from '@vigil/catalog';
import { startService, type ServiceDefinition } from '@vigil/platform';
import { verifierConfig } from './config.js';
import { buildVerifier } from './service.js';

const version = '0.1.0';

/** The verifier as a value: `main.ts` runs it alone, the single-process engine beside the others. */
export const verifierService: ServiceDefinition<typeof verifierConfig> = {
  name: 'verifier',
  version,
  config: verifierConfig,
  async start({ config, log, metrics, bus }) {
    const endpoint = config.VIGIL_BROWSER_WS;
    const catalog = await catalogFromConfig(config.VIGIL_SERVICE_CATALOG, process.env);
    log.info(
      { databases: catalog.services().flatMap((s) => (s.postgres ? [s.name] : [])) },
      'service catalog: services whose database Postgres checks may read',
    );
    const verifier = buildVerifier(
      {
        bus,
        log,
        catalog,
        registry: metrics.registry,
        swarm: {
          browser: endpoint
            ? { kind: 'connect', endpoint, perCheck: !config.VERIFIER_BROWSER_WS_SHARED }
            : { kind: 'launch', executablePath: config.CHROMIUM_PATH },
          httpTimeoutMs: config.VERIFIER_HTTP_TIMEOUT_MS,
          stepTimeoutMs: config.VERIFIER_STEP_TIMEOUT_MS,
          maxHttpInFlight: config.VERIFIER_MAX_HTTP_IN_FLIGHT,
          maxBrowserInFlight: config.VERIFIER_MAX_BROWSER_IN_FLIGHT,
          postgresTimeoutMs: config.VERIFIER_POSTGRES_TIMEOUT_MS,
          maxPostgresInFlight: config.VERIFIER_MAX_POSTGRES_IN_FLIGHT,
          screenshotDir: config.VERIFIER_SCREENSHOT_DIR,
          maxDeadlineMs: config.VERIFIER_MAX_DEADLINE_MS,
        },
      },
      { concurrency: config.VERIFIER_CONCURRENCY },
    );
    // The browser starts with the first browser check, not here: a verifier that only runs HTTP
    // probes never starts one.
    log.info({ browser: endpoint ? 'CDP endpoint' : config.CHROMIUM_PATH }, 'browser source');
    const service = await startService({
      name: 'verifier',
      version,
      host: config.VERIFIER_HOST,
      port: config.VERIFIER_PORT,
      logger: log,
      metrics,
      consoleUrl: config.VIGIL_CONSOLE_URL,
      bus,
      consumers: [verifier.consumer],
      dependencies: { browser: () => verifier.swarm.browser.health() },
      closers: [{ name: 'swarm', close: () => verifier.swarm.close() }],
    });
    return service;
  },
};
