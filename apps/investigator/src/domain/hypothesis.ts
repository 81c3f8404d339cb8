import type { Evidence, Hypothesis, HypothesisFlag } from '@vigil/events';
import { clamp01, findingToEvidence, round, type Category, type Finding, type ProbeReport } from './findings.js';

/** What a Cleric note said, parsed (see cleric.ts). */
export interface ClericView {
  rootCause: string;
  confidence: number;
  evidence: Evidence[];
  affectedServices: string[];
  flags: HypothesisFlag[];
}

const LOW_CONFIDENCE = 0.5;

const family = (category: Category): string => category.split('-')[0] as string;

function withConfidenceFlags(flags: Iterable<HypothesisFlag>, confidence: number): HypothesisFlag[] {
  const all = new Set(flags);
  if (confidence < LOW_CONFIDENCE) all.add('low_confidence');
  else all.delete('low_confidence');
  return [...all];
}

function failuresOf(reports: readonly ProbeReport[]): Evidence[] {
  return reports
    .filter((r) => r.failure !== undefined)
    .map((r) => ({ source: `${r.probe}.unreachable`, summary: `could not probe ${r.probe} at ${r.target}: ${r.failure}`, facts: {} }));
}

function observationsOf(reports: readonly ProbeReport[]): Evidence[] {
  return reports.flatMap((r) => r.observations);
}

/**
 * The probes' hypothesis: the strongest cause found leads (its evidence first, so a runbook's
 * `{{evidence.blocker_pid}}` binds to it); symptoms and clean checks support; probes that
 * could not run are evidence too. Two strong causes in unrelated systems make it ambiguous.
 */
export function hypothesisFromProbes(service: string, reports: readonly ProbeReport[]): Hypothesis {
  const findings = reports.flatMap((r) => r.findings).sort((a, b) => b.confidence - a.confidence);
  const causes = findings.filter((f) => f.category !== 'http-symptom');
  const symptoms = findings.filter((f) => f.category === 'http-symptom');
  const failures = failuresOf(reports);
  const rest = [...symptoms.map(findingToEvidence), ...observationsOf(reports), ...failures];
  const flags = new Set<HypothesisFlag>();
  let rootCause: string;
  let confidence: number;
  const top = causes[0];
  if (top) {
    rootCause = top.rootCause;
    confidence = top.confidence;
    const rival = causes.find((f) => family(f.category) !== family(top.category) && f.confidence >= top.confidence - 0.1);
    if (rival) {
      flags.add('ambiguous');
      confidence -= 0.1;
      rootCause = `${top.rootCause} Equally likely: ${rival.rootCause}`;
    }
    if (failures.length > 0) confidence *= 0.9;
  } else if (symptoms[0]) {
    rootCause = `${service}: ${symptoms[0].rootCause}; the probes found no cause.`;
    confidence = 0.3;
  } else if (reports.length === 0) {
    rootCause = `No probe is configured for ${service} in the service catalog: nothing was checked.`;
    confidence = 0.05;
    flags.add('no_evidence');
  } else if (failures.length === reports.length) {
    rootCause = `No probe of ${service} could run: ${failures.map((f) => f.summary).join('; ')}.`;
    confidence = 0.05;
    flags.add('no_evidence');
  } else {
    rootCause = `No probe found a fault in ${service} (checked: ${reports.map((r) => r.probe).join(', ')}).`;
    confidence = 0.1;
    flags.add('no_evidence');
  }
  confidence = round(clamp01(confidence), 3);
  return {
    rootCause,
    confidence,
    origin: 'probes',
    evidence: [...causes.map(findingToEvidence), ...rest],
    affectedServices: [service],
    flags: withConfidenceFlags(flags, confidence),
  };
}

/** The system a note blames, from its words and facts; undefined when it names none we probe. */
export function categoryOfNote(cleric: ClericView): Category | undefined {
  const text = [cleric.rootCause, ...cleric.evidence.map((e) => e.summary)].join('\n').toLowerCase();
  const facts = Object.assign({}, ...cleric.evidence.map((e) => e.facts)) as Record<string, unknown>;
  if (facts['blocker_pid'] !== undefined || /\b(lock(s|ed|ing)?|blocking|blocked|blocker|deadlock)\b/.test(text)) return 'postgres-lock';
  if (/idle in transaction/.test(text)) return 'postgres-idle';
  if (
    /(connection pool|pool (is )?exhaust|connections? (are |were )?(exhaust|saturat)|too many (clients|connections)|max_connections)/.test(
      text,
    )
  ) {
    return 'postgres-connections';
  }
  if (/redis/.test(text) && /(memory|maxmemory|evict|oom)/.test(text)) return 'redis-memory';
  return undefined;
}

const factOf = (evidence: readonly Evidence[], key: string): unknown => evidence.find((e) => Object.hasOwn(e.facts, key))?.facts[key];

/**
 * Probes and Cleric together. They agree when they blame the same system (and, where both name
 * a blocking pid, the same pid): confidence rises (either could be wrong, both wrong is less
 * likely). They conflict when they blame different systems, or when Cleric blames a system a
 * probe checked and found clean: flagged `conflicting_sources`, so the gate asks a human.
 */
export function combine(service: string, reports: readonly ProbeReport[], cleric: ClericView): Hypothesis {
  const probes = hypothesisFromProbes(service, reports);
  const causes: Finding[] = reports.flatMap((r) => r.findings).filter((f) => f.category !== 'http-symptom');
  causes.sort((a, b) => b.confidence - a.confidence);
  const top = causes[0];
  const affectedServices = [...new Set([service, ...cleric.affectedServices])];
  const flags = new Set<HypothesisFlag>(affectedServices.length > 1 ? ['multiple_services'] : []);
  const finish = (h: Omit<Hypothesis, 'origin' | 'affectedServices' | 'flags'>, extra: Iterable<HypothesisFlag>): Hypothesis => {
    const confidence = round(clamp01(h.confidence), 3);
    return { ...h, confidence, origin: 'combined', affectedServices, flags: withConfidenceFlags([...flags, ...extra], confidence) };
  };
  const blamed = categoryOfNote(cleric);

  if (cleric.flags.includes('ambiguous')) {
    // A hedged note adds its words to the record but neither confirms nor contradicts.
    if (top)
      return finish(
        { rootCause: probes.rootCause, confidence: probes.confidence, evidence: [...probes.evidence, ...cleric.evidence] },
        probes.flags,
      );
    return finish(
      { rootCause: cleric.rootCause, confidence: Math.min(cleric.confidence, 0.3), evidence: [...cleric.evidence, ...probes.evidence] },
      ['ambiguous'],
    );
  }

  if (!top) {
    const checkedClean = blamed !== undefined && reports.some((r) => r.failure === undefined && r.checked.includes(blamed));
    if (checkedClean) {
      return finish(
        {
          rootCause: `Cleric: ${cleric.rootCause} — but the ${blamed} probe found nothing of the kind.`,
          confidence: Math.min(cleric.confidence, 0.5),
          evidence: [...cleric.evidence, ...probes.evidence],
        },
        ['conflicting_sources', ...cleric.flags],
      );
    }
    return finish(
      { rootCause: cleric.rootCause, confidence: cleric.confidence, evidence: [...cleric.evidence, ...probes.evidence] },
      cleric.flags,
    );
  }

  const sameSystem = blamed !== undefined && family(blamed) === family(top.category);
  const clericPid = factOf(cleric.evidence, 'blocker_pid');
  const probePid = top.facts['blocker_pid'];
  const samePid = clericPid === undefined || probePid === undefined || Number(clericPid) === Number(probePid);
  if (sameSystem && samePid) {
    const confidence =
      blamed === top.category
        ? Math.min(0.99, 1 - (1 - top.confidence) * (1 - cleric.confidence))
        : Math.max(top.confidence, cleric.confidence);
    return finish(
      { rootCause: `${top.rootCause} (Cleric agrees.)`, confidence, evidence: [...probes.evidence, ...cleric.evidence] },
      probes.flags.filter((f) => f !== 'no_evidence'),
    );
  }
  const why = sameSystem ? `Cleric blames pid ${String(clericPid)}, the probes pid ${String(probePid)}` : `Cleric: ${cleric.rootCause}`;
  return finish(
    {
      rootCause: `Sources disagree. Probes: ${top.rootCause} ${why}.`,
      confidence: Math.min(0.6, Math.max(top.confidence, cleric.confidence)),
      evidence: [...probes.evidence, ...cleric.evidence],
    },
    ['conflicting_sources'],
  );
}
