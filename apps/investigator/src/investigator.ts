import { Counter, Registry } from 'prom-client';
import type { Bus, EventHandler, HandlerMap } from '@vigil/bus';
import type { ServiceCatalog } from '@vigil/catalog';
import type { Db } from '@vigil/db';
import { VigilError } from '@vigil/errors';
import { createEvent, deterministicUuidv7, type Hypothesis } from '@vigil/events';
import type { Logger } from '@vigil/platform';
import { isClericAuthor, parseClericNote, type ClericFinding, type ClericIdentity } from './domain/cleric.js';
import { combine, hypothesisFromProbes } from './domain/hypothesis.js';
import { runProbes, type ProbeSettings } from './probes/run-probes.js';
import {
  dueInvestigations,
  findInvestigation,
  investigationsOf,
  latestNote,
  lockInvestigation,
  markAnswered,
  openInvestigation,
  recordNote,
  type Investigation,
} from './store.js';

export interface InvestigatorDeps {
  bus: Bus;
  db: Db;
  catalog: ServiceCatalog;
  probes: ProbeSettings;
  cleric: ClericIdentity;
  log: Logger;
  clock?: () => Date;
  /** Where the counters go (the service's /metrics registry). */
  registry?: Registry;
}

export interface Investigator {
  handlers: HandlerMap;
  /** Answers every investigation whose wait for Cleric is over; returns how many. */
  answerDue(): Promise<number>;
}

const noIdentity = (identity: ClericIdentity): boolean => identity.ids.length + identity.names.length + identity.emails.length === 0;

/**
 * `investigation.requested` → probes at once → wait for Cleric (only for an incident that came
 * from the paging system Cleric writes to, and only as long as the command says) → one
 * `hypothesis.received`. `incident.annotated` from Cleric (recognised by its author, never its
 * words) ends the wait early, or, after the answer went out, becomes a later hypothesis the saga
 * records in the timeline. State and timers live in the database, so a restart or a second copy
 * loses and repeats nothing.
 */
export function createInvestigator(deps: InvestigatorDeps): Investigator {
  const clock = deps.clock ?? (() => new Date());
  const registry = deps.registry ?? new Registry();
  const hypotheses = new Counter({
    name: 'vigil_investigator_hypotheses_total',
    help: 'Hypotheses sent, by origin (probes, cleric, combined) and whether they were the first for the incident.',
    labelNames: ['origin', 'first'],
    registers: [registry],
  });
  const notes = new Counter({
    name: 'vigil_investigator_notes_total',
    help: 'Notes on paging-system incidents, by outcome (cleric, not_cleric, duplicate).',
    labelNames: ['outcome'],
    registers: [registry],
  });

  const publish = async (investigation: Investigation, hypothesis: Hypothesis, key: string, at: number): Promise<void> => {
    await deps.bus.publish(
      createEvent(
        'hypothesis.received',
        { hypothesis },
        {
          source: 'investigator',
          incidentId: investigation.incidentId,
          causedBy: { id: investigation.requestEventId, correlationId: investigation.correlationId },
          id: deterministicUuidv7(`investigator:${investigation.incidentId}:${key}`, at),
        },
      ),
    );
  };

  /**
   * The one answer per investigation, under its row lock: claimed, published, marked — all or
   * nothing. Published inside the transaction: if the publish fails, the claim rolls back and
   * the timer or a redelivery tries again; the deterministic id makes a repeat a duplicate.
   * With `late`, an investigation already answered gets Cleric's note as a later hypothesis.
   */
  const settle = async (
    incidentId: string,
    why: string,
    mode: 'skip' | 'wait',
    late?: { finding: ClericFinding; key: string; at: number },
  ): Promise<Hypothesis | undefined> => {
    const sent = await deps.db.transaction(async (tx) => {
      const investigation = await lockInvestigation(tx, incidentId, mode);
      if (!investigation) return undefined;
      if (investigation.status === 'answered') {
        if (!late) return undefined;
        const later = combine(investigation.service, investigation.reports, late.finding);
        await publish(investigation, later, `note:${late.key}`, late.at);
        return { hypothesis: later, first: false };
      }
      const note = investigation.externalIncidentId ? await latestNote(tx, investigation.externalIncidentId) : undefined;
      const result = note
        ? combine(investigation.service, investigation.reports, note.finding)
        : hypothesisFromProbes(investigation.service, investigation.reports);
      await publish(investigation, result, 'first', investigation.dueAt.getTime());
      await markAnswered(tx, incidentId, result);
      return { hypothesis: result, first: true };
    });
    if (sent) {
      const { hypothesis, first } = sent;
      hypotheses.inc({ origin: hypothesis.origin, first: first ? 'yes' : 'no' });
      deps.log.info(
        {
          incidentId,
          why: first ? why : 'Cleric wrote after the answer: a later hypothesis',
          origin: hypothesis.origin,
          confidence: hypothesis.confidence,
          flags: hypothesis.flags,
        },
        'hypothesis sent',
      );
    }
    return sent?.hypothesis;
  };
  const answer = (incidentId: string, why: string) => settle(incidentId, why, 'wait');

  const onRequested: EventHandler<'investigation.requested'> = async (event, ctx) => {
    const incidentId = event.incidentId;
    if (!incidentId)
      throw new VigilError('INVESTIGATION_INVALID', 'investigation.requested carries no incidentId: nothing to answer to', {
        retryable: false,
      });
    const existing = await findInvestigation(deps.db, incidentId);
    if (existing) {
      // A redelivery: the first copy's record stands. Answer it if it is due (a crash between
      // recording and answering), otherwise the timer will.
      if (existing.status === 'waiting' && existing.dueAt <= clock()) await answer(incidentId, 'redelivered after its wait');
      return;
    }
    const entry = deps.catalog.get(event.data.service);
    if (!entry) ctx.log.warn({ service: event.data.service }, 'service not in the catalog: no probe to run');
    const reports = entry ? await runProbes(entry, deps.probes) : [];
    const external = event.data.externalIncidentId ?? null;
    const waits = external !== null && event.data.clericWaitMs > 0 && !noIdentity(deps.cleric);
    const dueAt = new Date(waits ? Date.parse(event.occurredAt) + event.data.clericWaitMs : Date.parse(event.occurredAt));
    await openInvestigation(deps.db, {
      incidentId,
      externalIncidentId: external,
      service: event.data.service,
      requestEventId: event.id,
      correlationId: event.correlationId,
      reports,
      dueAt,
    });
    ctx.log.info(
      {
        service: event.data.service,
        probes: reports.map((r) => ({ probe: r.probe, findings: r.findings.length, failure: r.failure })),
        waitsForCleric: waits,
      },
      'probes done',
    );
    const noted = external !== null && (await latestNote(deps.db, external)) !== undefined;
    if (!waits || noted || dueAt <= clock()) await answer(incidentId, noted ? 'Cleric had already written' : 'no Cleric wait');
  };

  const onAnnotated: EventHandler<'incident.annotated'> = async (event, ctx) => {
    const { note, externalIncidentId } = event.data;
    if (!isClericAuthor(note.author, deps.cleric)) {
      notes.inc({ outcome: 'not_cleric' });
      ctx.log.debug({ externalIncidentId, author: note.author.id ?? note.author.name }, 'note not from Cleric: not a hypothesis');
      return;
    }
    const finding = parseClericNote(note.content);
    const isNew = await recordNote(deps.db, externalIncidentId, note.id ?? event.id, finding, note.createdAt);
    notes.inc({ outcome: isNew ? 'cleric' : 'duplicate' });
    // Waits for a copy that is answering right now, so the note is either part of that answer
    // or sent as a later one — never lost between the two. A redelivered note republishes the
    // same later hypothesis (same id): a duplicate the saga's inbox drops.
    const key = note.id ?? event.id;
    for (const incidentId of await investigationsOf(deps.db, externalIncidentId)) {
      await settle(incidentId, 'Cleric wrote', 'wait', { finding, key, at: Date.parse(note.createdAt) });
    }
  };

  return {
    handlers: { 'investigation.requested': onRequested, 'incident.annotated': onAnnotated },
    async answerDue() {
      let answered = 0;
      for (const incidentId of await dueInvestigations(deps.db, clock())) {
        try {
          if (await settle(incidentId, 'the wait for Cleric is over', 'skip')) answered += 1;
        } catch (error) {
          deps.log.warn({ err: error, incidentId }, 'answer failed; will retry');
        }
      }
      return answered;
    },
  };
}
