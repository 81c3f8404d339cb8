import { z } from 'zod';
import { env, infrastructureConfig, secret } from '@vigil/platform';

/** The approver's configuration: the shared infrastructure variables plus these. */
export const approverConfig = {
  ...infrastructureConfig,
  APPROVER_HOST: z.string().default('0.0.0.0'),
  APPROVER_PORT: env.port(7408),
  APPROVER_DB_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case identifier')
    .default('approver'),
  APPROVER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  /**
   * Who may approve what: a YAML or JSON file (or inline JSON starting with `{`). Without it nobody
   * may approve, so every request expires and the incident escalates.
   */
  APPROVER_POLICY: z.string().min(1).optional(),
  /** A request expires at its expiresAt or this long after it was asked, whichever is earlier. */
  APPROVER_TTL_MS: env.durationMs(15 * 60_000),
  /** How often expired requests and unsynced Slack messages are looked for (durable, polled). */
  APPROVER_TICK_MS: env.durationMs(1_000),
  /** `person:token` pairs; the token authenticates the web API and `vigil approve` as that person. */
  APPROVER_API_TOKENS: secret(env.list()),
  /** Slack: both set, or neither (then approvals go through the web console and the CLI only). */
  SLACK_BOT_TOKEN: secret(
    z
      .string()
      .regex(/^xox[a-z]-/, 'a Slack bot token (xoxb-…)')
      .optional(),
  ),
  SLACK_SIGNING_SECRET: secret(z.string().min(8).optional()),
  /** The Slack Web API base URL (a fake in tests, a proxy in locked-down networks). */
  SLACK_API_URL: env.url(['http', 'https']).default('https://slack.com/api/'),
  /** `service=channel` pairs: where each service's requests are posted. */
  APPROVER_SLACK_CHANNELS: env.list(),
  /** The channel for services not in APPROVER_SLACK_CHANNELS; unset: those are not posted to Slack. */
  APPROVER_SLACK_DEFAULT_CHANNEL: z.string().min(1).optional(),
  /** Where the web console lives, linked from Slack messages (e.g. https://vigil.example.com/approvals). */
  APPROVER_PUBLIC_URL: env.url(['http', 'https']).optional(),
};
