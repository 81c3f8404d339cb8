import { VigilError } from '@vigil/errors';
import { openStore, parseApiTokens, type ServiceDefinition, startService } from '@vigil/platform';
import { approverConfig } from './config.js';
import { loadPolicy, parseChannels } from './policy-file.js';
import { buildApprover } from './service.js';

const version = '0.1.0';

/** The approver as a value: `main.ts` runs it alone, the single-process engine beside the others. */
export const approverService: ServiceDefinition<typeof approverConfig> = {
  name: 'approver',
  version,
  config: approverConfig,
  async start({ config, log, metrics, bus }) {
    if (Boolean(config.SLACK_BOT_TOKEN) !== Boolean(config.SLACK_SIGNING_SECRET)) {
      throw new VigilError('CONFIG_INVALID', 'SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET: set both (Slack approvals) or neither', {
        retryable: false,
      });
    }
    const policy = await loadPolicy(config.APPROVER_POLICY);
    const tokens = (() => {
      try {
        return parseApiTokens(config.APPROVER_API_TOKENS, 'APPROVER_API_TOKENS', 'person');
      } catch (error) {
        throw new VigilError('CONFIG_INVALID', (error as Error).message, { retryable: false });
      }
    })();
    const channels = parseChannels(config.APPROVER_SLACK_CHANNELS);
    if (!config.APPROVER_POLICY) log.warn('APPROVER_POLICY is not set: nobody may approve, so every request expires and escalates');
    if (tokens.size === 0) log.warn('APPROVER_API_TOKENS is not set: the web console and `vigil approve` are refused');
    if (!config.SLACK_BOT_TOKEN) log.warn('Slack is not configured: approvals go through the web console and `vigil approve` only');

    const db = await openStore(config, { schema: config.APPROVER_DB_SCHEMA });
    const approver = await buildApprover(
      {
        bus,
        db,
        policy,
        log,
        tokens,
        ttlMs: config.APPROVER_TTL_MS,
        registry: metrics.registry,
        ...(config.APPROVER_PUBLIC_URL ? { consoleUrl: config.APPROVER_PUBLIC_URL } : {}),
        ...(config.SLACK_BOT_TOKEN && config.SLACK_SIGNING_SECRET
          ? {
              slack: {
                botToken: config.SLACK_BOT_TOKEN,
                signingSecret: config.SLACK_SIGNING_SECRET,
                apiUrl: config.SLACK_API_URL,
                channels,
                ...(config.APPROVER_SLACK_DEFAULT_CHANNEL ? { defaultChannel: config.APPROVER_SLACK_DEFAULT_CHANNEL } : {}),
              },
            }
          : {}),
      },
      { concurrency: config.APPROVER_CONCURRENCY, tickMs: config.APPROVER_TICK_MS },
    );
    const service = await startService({
      name: 'approver',
      version,
      host: config.APPROVER_HOST,
      port: config.APPROVER_PORT,
      logger: log,
      metrics,
      consoleUrl: config.VIGIL_CONSOLE_URL,
      bus,
      consumers: [approver.consumer],
      dependencies: { db: () => db.health() },
      routes: approver.routes,
      closers: [approver.timer, { name: 'db', close: () => db.close() }],
    });
    return service;
  },
};
