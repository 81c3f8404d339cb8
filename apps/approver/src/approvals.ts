import { Counter, Registry } from 'prom-client';
import type { Bus, EventHandler } from '@vigil/bus';
import type { Db, Queryable } from '@vigil/db';
import { VigilError } from '@vigil/errors';
import { createEvent, deterministicUuidv7, type ApprovalDecided } from '@vigil/events';
import type { Logger } from '@vigil/platform';
import { judge, type Judgement, type Vote } from './domain/judge.js';
import { planHash } from './domain/plan-hash.js';
import { approversFor, type ApproverPolicy } from './domain/policy.js';
import { renderApprovalMessage, type SlackMessage } from './domain/slack-message.js';
import {
  dueRequests,
  findRequest,
  insertRequest,
  lockRequest,
  markDecided,
  markSlackFailed,
  markSlackShown,
  recordVote,
  slackBehind,
  supersede,
  type ApprovalRecord,
  type RequestKey,
} from './store.js';

/** Where request messages go: Slack through @slack/web-api, or nowhere. */
export interface ApprovalChat {
  post(channel: string, message: SlackMessage): Promise<{ channel: string; ts: string }>;
  update(channel: string, ts: string, message: SlackMessage): Promise<void>;
}

export interface ApprovalsDeps {
  bus: Bus;
  db: Db;
  policy: ApproverPolicy;
  log: Logger;
  /** A request expires at its expiresAt or this long after it was asked, whichever is earlier. */
  ttlMs: number;
  chat?: ApprovalChat;
  /** The Slack channel for a service's requests; undefined: not posted. */
  channelFor?: (service: string) => string | undefined;
  consoleUrl?: string;
  clock?: () => Date;
  registry?: Registry;
}

export interface DecideResult {
  judgement: Judgement;
  record: ApprovalRecord;
}

export type Approvals = ReturnType<typeof createApprovals>;

/**
 * `approval.requested` → a pending request (and its Slack message) → votes from Slack, the web or
 * the CLI judged by the rules in domain/judge.ts → exactly one `approval.decided` per (incident,
 * plan hash), or `expired` when its time is up. Every decision is taken under the request's row
 * lock and published in the same transaction, with an id fixed by the request: a crash, a retry
 * or a second copy of the service can repeat the publish, never the decision.
 */
export function createApprovals(deps: ApprovalsDeps) {
  const clock = deps.clock ?? (() => new Date());
  const registry = deps.registry ?? new Registry();
  const decisions = new Counter({
    name: 'vigil_approver_decisions_total',
    help: 'Decisions sent, by decision and channel.',
    labelNames: ['decision', 'via'],
    registers: [registry],
  });
  const votes = new Counter({
    name: 'vigil_approver_votes_total',
    help: 'Votes received, by channel and what became of them (counted, decided, duplicate, refused code).',
    labelNames: ['via', 'outcome'],
    registers: [registry],
  });

  const decide = async (tx: Queryable, record: ApprovalRecord, decision: Omit<ApprovalDecided, 'planHash'>): Promise<void> => {
    const data: ApprovalDecided = { planHash: record.planHash, ...decision };
    const id = deterministicUuidv7(`approver:${record.incidentId}:${record.planHash}`, record.requestedAt.getTime());
    // Published inside the transaction: if the publish fails, nothing is marked and the caller
    // (or the timer) tries again; if the commit fails after it, the repeat has the same id.
    await deps.bus.publish(
      createEvent('approval.decided', data, {
        source: 'approver',
        incidentId: record.incidentId,
        causedBy: { id: record.requestEventId, correlationId: record.correlationId },
        id,
        occurredAt: decision.decidedAt,
      }),
    );
    await markDecided(tx, record, data, id);
    decisions.inc({ decision: data.decision, via: data.via });
    deps.log.info(
      {
        incidentId: record.incidentId,
        planHash: record.planHash,
        decision: data.decision,
        via: data.via,
        by: data.decidedBy.map((p) => p.id),
      },
      'approval decided',
    );
  };

  const expire = (tx: Queryable, record: ApprovalRecord): Promise<void> =>
    decide(tx, record, {
      decision: 'expired',
      decidedBy: [],
      via: 'timer',
      reason: 'nobody decided before the request expired: escalation, never approval',
      decidedAt: record.expiresAt.toISOString(),
    });

  /** Brings the request's Slack message up to date (posts it first if it is pending and unposted). Never throws. */
  const syncSlack = async (key: RequestKey): Promise<void> => {
    const chat = deps.chat;
    if (!chat) return;
    await deps.db
      .transaction(async (tx) => {
        const record = await lockRequest(tx, key, 'skip');
        if (!record?.slack.channel || record.slack.version >= record.version) return;
        if (record.slack.ts === null && record.state !== 'pending') return;
        const message = renderApprovalMessage(record, deps.consoleUrl ? { consoleUrl: deps.consoleUrl } : {});
        try {
          if (record.slack.ts === null) {
            const posted = await chat.post(record.slack.channel, message);
            await markSlackShown(tx, key, { ...posted, version: record.version });
          } else {
            await chat.update(record.slack.channel, record.slack.ts, message);
            await markSlackShown(tx, key, { ts: record.slack.ts, channel: record.slack.channel, version: record.version });
          }
        } catch (error) {
          deps.log.warn({ err: error, ...key }, 'Slack message not brought up to date; will retry');
          await markSlackFailed(tx, key, (error as Error).message, clock());
        }
      })
      .catch((error: unknown) => deps.log.warn({ err: error, ...key }, 'Slack sync failed; will retry'));
  };

  const onRequested: EventHandler<'approval.requested'> = async (event, ctx) => {
    const incidentId = event.incidentId;
    if (!incidentId) throw new VigilError('APPROVAL_INVALID', 'approval.requested carries no incidentId', { retryable: false });
    const { data } = event;
    if (planHash(data.plan) !== data.planHash) {
      // Nobody may be shown one plan and have their approval bound to another.
      throw new VigilError('APPROVAL_PLAN_HASH_MISMATCH', `planHash ${data.planHash} is not the SHA-256 of the plan it came with`, {
        retryable: false,
      });
    }
    const key = { incidentId, planHash: data.planHash };
    const requestedAt = new Date(event.occurredAt);
    const expiresAt = new Date(Math.min(Date.parse(data.expiresAt), requestedAt.getTime() + deps.ttlMs));
    const changed = await deps.db.transaction(async (tx) => {
      const isNew = await insertRequest(tx, {
        ...key,
        request: data,
        requestEventId: event.id,
        correlationId: event.correlationId,
        requestedAt,
        expiresAt,
        slackChannel: deps.chat ? (deps.channelFor?.(data.service) ?? null) : null,
      });
      return isNew ? [key, ...(await supersede(tx, key)).filter((k) => k.planHash !== key.planHash)] : [key];
    });
    ctx.log.info({ ...key, service: data.service, risk: data.risk, expiresAt: expiresAt.toISOString() }, 'approval requested');
    if (expiresAt <= clock()) await expireDue();
    for (const k of changed) await syncSlack(k);
  };

  /** Settles every pending request whose time is up as `expired`; returns how many. */
  const expireDue = async (): Promise<number> => {
    let expired = 0;
    for (const key of await dueRequests(deps.db, clock())) {
      try {
        const done = await deps.db.transaction(async (tx) => {
          const record = await lockRequest(tx, key, 'skip');
          if (!record || record.state !== 'pending' || record.expiresAt > clock()) return false;
          await expire(tx, record);
          return true;
        });
        if (done) {
          expired += 1;
          await syncSlack(key);
        }
      } catch (error) {
        deps.log.warn({ err: error, ...key }, 'expiry not sent; will retry');
      }
    }
    return expired;
  };

  return {
    handlers: { 'approval.requested': onRequested },
    expireDue,
    /** Brings every Slack message that is behind up to date (after a crash or a Slack outage). */
    async syncSlackBehind(): Promise<void> {
      if (!deps.chat) return;
      for (const key of await slackBehind(deps.db, clock())) await syncSlack(key);
    },
    /**
     * One person's vote on one request, judged under the request's lock. Undefined when there is
     * no such request.
     */
    async vote(key: RequestKey, vote: Omit<Vote, 'at'>): Promise<DecideResult | undefined> {
      const at = clock();
      const result = await deps.db.transaction(async (tx): Promise<DecideResult | undefined> => {
        const record = await lockRequest(tx, key, 'wait');
        if (!record) return undefined;
        const counted: Vote = { ...vote, at: at.toISOString() };
        const judgement = judge(
          { ...record.request, state: record.state, expiresAt: record.expiresAt, votes: record.votes },
          counted,
          approversFor(deps.policy, record.request.service, record.request.risk),
          at,
        );
        switch (judgement.kind) {
          case 'expire':
            await expire(tx, record);
            break;
          case 'counted':
            await recordVote(tx, key, judgement.vote);
            break;
          case 'decided':
            await recordVote(tx, key, judgement.vote);
            await decide(tx, record, {
              decision: judgement.decision,
              decidedBy: judgement.decidedBy.map((p) => ({ id: p.id, ...(p.name ? { name: p.name } : {}) })),
              via: vote.via,
              ...(judgement.reason ? { reason: judgement.reason } : {}),
              decidedAt: at.toISOString(),
            });
            break;
        }
        return { judgement, record };
      });
      if (!result) return undefined;
      const outcome = result.judgement.kind === 'refused' ? result.judgement.code : result.judgement.kind;
      votes.inc({ via: vote.via, outcome });
      deps.log.info({ ...key, person: vote.person.id, vote: vote.vote, via: vote.via, outcome }, 'vote judged');
      if (result.judgement.kind !== 'refused' && result.judgement.kind !== 'duplicate') await syncSlack(key);
      return { judgement: result.judgement, record: (await findRequest(deps.db, key)) ?? result.record };
    },
  };
}
