import { App, LogLevel, type BlockButtonAction, type RespondFn } from '@slack/bolt';
import type { Logger as SlackLogger } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import type { Logger } from '@vigil/platform';
import type { ApprovalChat, Approvals } from '../approvals.js';
import type { Judgement } from '../domain/judge.js';
import { personFromSlack, type ApproverPolicy } from '../domain/policy.js';
import { APPROVE_ACTION, DENY_ACTION, parseButtonValue } from '../domain/slack-message.js';
import { FastifySlackReceiver } from './receiver.js';

export interface SlackSettings {
  botToken: string;
  signingSecret: string;
  /** The Web API base URL (Slack's, or a fake's in tests). */
  apiUrl: string;
}

/** Bolt and the Web API client log through the service's pino logger. */
export function slackLogger(log: Logger): SlackLogger {
  const line = (parts: unknown[]): string => parts.map((p) => (p instanceof Error ? p.message : String(p))).join(' ');
  return {
    debug: (...m: unknown[]) => log.debug(line(m)),
    info: (...m: unknown[]) => log.info(line(m)),
    warn: (...m: unknown[]) => log.warn(line(m)),
    error: (...m: unknown[]) => log.error(line(m)),
    setLevel: () => undefined,
    getLevel: () => LogLevel.INFO,
    setName: () => undefined,
  };
}

/** chat.postMessage / chat.update through @slack/web-api. Slack answers errors with HTTP 200 and ok:false; the SDK throws them. */
export function createSlackChat(settings: Pick<SlackSettings, 'botToken' | 'apiUrl'>, logger: SlackLogger): ApprovalChat {
  const client = new WebClient(settings.botToken, {
    slackApiUrl: settings.apiUrl,
    logger,
    timeout: 10_000,
    // A few quick retries here; the approver's own sync loop retries later with back-off.
    retryConfig: { retries: 2, factor: 2, minTimeout: 200, maxTimeout: 2_000 },
  });
  return {
    async post(channel, message) {
      const result = await client.chat.postMessage({ channel, text: message.text, blocks: message.blocks as never, unfurl_links: false });
      if (!result.channel || !result.ts) throw new Error('chat.postMessage answered without channel and ts');
      return { channel: result.channel, ts: result.ts };
    },
    async update(channel, ts, message) {
      await client.chat.update({ channel, ts, text: message.text, blocks: message.blocks as never });
    },
  };
}

const answer = (judgement: Judgement): string | undefined => {
  switch (judgement.kind) {
    case 'refused':
      return `:no_entry: Not counted: ${judgement.message}.`;
    case 'expire':
      return `:alarm_clock: Not counted: ${judgement.message}.`;
    case 'duplicate':
      return `:information_source: ${judgement.message}.`;
    case 'counted':
      return `:ballot_box_with_check: Counted: ${judgement.message}.`;
    case 'decided':
      return undefined; // the message itself now says who decided
  }
};

/**
 * The Slack side: a Bolt app whose receiver is served on the service's port, with one listener
 * for the Approve and Deny buttons. The clicker is told privately (response_url) what became of
 * the click; the request's message is updated for everyone by the approvals' Slack sync.
 */
export function createSlackApprovals(deps: {
  settings: Pick<SlackSettings, 'botToken' | 'signingSecret' | 'apiUrl'>;
  approvals: Approvals;
  policy: ApproverPolicy;
  log: Logger;
  remember: (signature: string, requestTs: number) => Promise<boolean>;
  clock?: () => Date;
}) {
  const logger = slackLogger(deps.log.child({ component: 'slack' }));
  const receiver = new FastifySlackReceiver({
    signingSecret: deps.settings.signingSecret,
    logger,
    remember: deps.remember,
    ...(deps.clock ? { clock: deps.clock } : {}),
  });
  const app = new App({
    receiver,
    logger,
    // A single-workspace app with its own bot token: no OAuth installs, no auth.test per event.
    authorize: async () => ({ botToken: deps.settings.botToken }),
    clientOptions: { slackApiUrl: deps.settings.apiUrl },
  });

  const tell = async (respond: RespondFn, text: string): Promise<void> => {
    await respond({ response_type: 'ephemeral', replace_original: false, text }).catch((error: unknown) =>
      deps.log.warn({ err: error }, 'could not answer the clicker through response_url'),
    );
  };

  app.action<BlockButtonAction>({ type: 'block_actions', action_id: new RegExp(`^(${APPROVE_ACTION}|${DENY_ACTION})$`) }, async (args) => {
    const { ack, body, action, respond } = args;
    await ack();
    const target = parseButtonValue(action.value);
    if (!target) return tell(respond, ':warning: This button does not name a Vigil approval request.');
    const person = personFromSlack(deps.policy, { id: body.user.id, name: body.user.name ?? body.user.username });
    try {
      const result = await deps.approvals.vote(target, {
        person,
        vote: action.action_id === APPROVE_ACTION ? 'approve' : 'deny',
        via: 'slack',
      });
      if (!result) return tell(respond, ':warning: There is no such approval request.');
      const text = answer(result.judgement);
      if (text) await tell(respond, text);
    } catch (error) {
      deps.log.error({ err: error, ...target, person: person.id }, 'Slack vote not recorded');
      await tell(respond, ':warning: Your decision could not be recorded just now; nothing was decided. Please click again.');
    }
  });

  return { app, receiver };
}
