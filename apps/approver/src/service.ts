import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { createMemoryInbox, type Bus, type ConsumeOptions } from '@vigil/bus';
import { loadMigrations, migrate, type Db } from '@vigil/db';
import { startTicker, type Logger } from '@vigil/platform';
import { createApprovals } from './approvals.js';
import type { ApproverPolicy } from './domain/policy.js';
import { approvalRoutes } from './http/approvals.routes.js';
import { SLACK_WINDOW_SECONDS } from './slack/receiver.js';
import { createSlackApprovals, createSlackChat, slackLogger, type SlackSettings } from './slack/slack-app.js';
import { forgetSlackRequests, rememberSlackRequest } from './store.js';

export const migrationsDir = fileURLToPath(new URL('../migrations/', import.meta.url));

export interface ApproverWiring {
  bus: Bus;
  db: Db;
  policy: ApproverPolicy;
  log: Logger;
  /** API token → person id (the web console and `vigil approve`). */
  tokens: ReadonlyMap<string, string>;
  ttlMs: number;
  /** Without it, approvals go through the web console and the CLI only. */
  slack?: SlackSettings & { channels: ReadonlyMap<string, string>; defaultChannel?: string };
  consoleUrl?: string;
  registry?: Registry;
  clock?: () => Date;
}

/**
 * Wiring only: migrations, the approvals, the Slack app (when configured), the HTTP routes, the
 * consumer, and the timer that expires requests, brings Slack messages up to date and forgets
 * old Slack signatures (polled from the database, so it survives restarts and runs safely in
 * every copy).
 */
export async function buildApprover(deps: ApproverWiring, options: { concurrency: number; tickMs: number }) {
  await migrate(deps.db, await loadMigrations(migrationsDir));
  const clock = deps.clock ?? (() => new Date());
  const slack = deps.slack;
  const approvals = createApprovals({
    bus: deps.bus,
    db: deps.db,
    policy: deps.policy,
    log: deps.log,
    ttlMs: deps.ttlMs,
    clock,
    ...(deps.registry ? { registry: deps.registry } : {}),
    ...(deps.consoleUrl ? { consoleUrl: deps.consoleUrl } : {}),
    ...(slack
      ? {
          chat: createSlackChat(slack, slackLogger(deps.log.child({ component: 'slack' }))),
          channelFor: (service: string) => slack.channels.get(service) ?? slack.defaultChannel,
        }
      : {}),
  });
  const slackApp = slack
    ? createSlackApprovals({
        settings: slack,
        approvals,
        policy: deps.policy,
        log: deps.log,
        remember: (signature, requestTs) => rememberSlackRequest(deps.db, signature, requestTs),
      })
    : undefined;

  const consumer: Omit<ConsumeOptions, 'durable'> = {
    concurrency: options.concurrency,
    // Idempotent by its own records (one request per incident and plan hash); the inbox only
    // spares repeated work.
    inbox: createMemoryInbox(),
    handlers: approvals.handlers,
  };

  const tick = async (): Promise<void> => {
    await approvals.expireDue();
    await approvals.syncSlackBehind();
    // Slack's window is real time, whatever clock the requests' expiry reads.
    if (slack) await forgetSlackRequests(deps.db, Math.floor(Date.now() / 1000) - 2 * SLACK_WINDOW_SECONDS);
  };
  const timer = startTicker({
    intervalMs: options.tickMs,
    round: tick,
    log: deps.log,
    failure: 'approval timer round failed; will retry',
    waitFirst: true,
  });

  return {
    approvals,
    consumer,
    tick,
    routes: async (app: FastifyInstance): Promise<void> => {
      await app.register(approvalRoutes({ db: deps.db, approvals, policy: deps.policy, tokens: deps.tokens }));
      if (slackApp) await app.register(slackApp.receiver.routes);
    },
    timer: { name: 'approval timer', close: timer.stop },
  };
}
