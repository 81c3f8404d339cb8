import { isVigilError } from '@vigil/errors';
import type { Citation, Plan, RemediationProposed } from '@vigil/events';
import type { SafetyCheck } from '@vigil/policy';
import { credentialTypes, PlaceholderVault, redact, type EntityType, type Redactor } from '@vigil/redact';
import { edgeCases, planFromRunbooks, type PlanningInput } from '../domain/runbook-planner.js';
import { fence, ModelPlan, planTool, systemPrompt } from './prompt.js';
import type { BudgetLedger, Spent } from './budget-ledger.js';
import { CircuitOpenError, ProviderUnavailableError, type ModelMessage, type ModelProvider } from './provider.js';

/** What one incident may spend on models before the runbook planner takes over. */
export interface PlanningBudget {
  maxCalls: number;
  maxTokens: number;
  maxMs: number;
}

export const defaultBudget: PlanningBudget = { maxCalls: 6, maxTokens: 200_000, maxMs: 180_000 };

class BudgetSpentError extends Error {}

/**
 * Counts calls, tokens and time across every provider and repair for one incident, starting from
 * what the incident spent on earlier deliveries, and records each charge in the ledger as it
 * happens (a call once it was made, its tokens once answered, the time when planning ends).
 */
class Meter {
  calls = 0;
  tokens = 0;
  private readonly started: number;
  constructor(
    private readonly budget: PlanningBudget,
    private readonly now: () => number,
    private readonly before: Spent = { calls: 0, tokens: 0, ms: 0 },
    private readonly record: (delta: Partial<Spent>) => Promise<Partial<Spent>> = async () => ({}),
  ) {
    this.started = now();
  }
  /** Throws when the budget is spent; otherwise the time left for the next call. */
  admit(): number {
    const calls = this.before.calls + this.calls;
    const tokens = this.before.tokens + this.tokens;
    const left = this.budget.maxMs - this.before.ms - (this.now() - this.started);
    if (calls >= this.budget.maxCalls) throw new BudgetSpentError(`${calls} model calls`);
    if (tokens >= this.budget.maxTokens) throw new BudgetSpentError(`${tokens} tokens`);
    if (left <= 0) throw new BudgetSpentError(`${this.budget.maxMs} ms`);
    return left;
  }
  /**
   * A call is about to be sent: counted before it goes, so a crash during it is still counted.
   * The count is a reservation: when deliveries of one incident race (two copies, a redelivery
   * beside a slow first try), the ledger's total decides, and only calls within the budget go.
   */
  async chargeCall(): Promise<void> {
    this.calls++;
    const { calls: total } = await this.record({ calls: 1 });
    if (total !== undefined && total > this.budget.maxCalls) throw new BudgetSpentError(`${total - 1} model calls`);
  }
  async chargeTokens(tokens: number): Promise<void> {
    this.tokens += tokens;
    if (tokens > 0) await this.record({ tokens });
  }
  async finish(): Promise<void> {
    await this.record({ ms: this.now() - this.started });
  }
}

export interface ModelPlanningOutcome {
  proposal: RemediationProposed;
  /** Which provider answered (or `runbook-planner`), and the ones that could not. */
  answeredBy: string;
  unavailable: string[];
}

/**
 * Plans with the first provider that answers, in order, and falls back to the runbook planner
 * when none can. Nothing reaches a model unredacted: the hypothesis, the evidence and the
 * retrieved passages pass through one placeholder vault, and the plan's parameters are
 * rehydrated from it afterwards, on this side only — then checked again, since a rehydrated
 * value is something the model never saw.
 */
export async function planWithModels(
  input: PlanningInput,
  providers: readonly ModelProvider[],
  safety: SafetyCheck,
  options: {
    budget?: PlanningBudget;
    now?: () => number;
    redactor?: Redactor;
    /** Where the incident's spending is counted across deliveries; this delivery alone when absent. */
    ledger?: { ledger: BudgetLedger; incidentId: string };
  } = {},
): Promise<ModelPlanningOutcome> {
  if (providers.length === 0) return { proposal: planFromRunbooks(input, safety), answeredBy: 'runbook-planner', unavailable: [] };
  const { ledger } = options;
  const meter = new Meter(
    options.budget ?? defaultBudget,
    options.now ?? Date.now,
    ledger ? await ledger.ledger.spent(ledger.incidentId) : undefined,
    ledger ? (delta) => ledger.ledger.add(ledger.incidentId, delta) : undefined,
  );
  try {
    return await planWithMeter(input, providers, safety, meter, options.redactor);
  } finally {
    await meter.finish();
  }
}

async function planWithMeter(
  input: PlanningInput,
  providers: readonly ModelProvider[],
  safety: SafetyCheck,
  meter: Meter,
  redactor: Redactor | undefined,
): Promise<ModelPlanningOutcome> {
  const vault = new PlaceholderVault();
  const unavailable: string[] = [];
  let userText = renderIncident(input, vault);
  if (redactor) {
    // A vendor redactor (Skyflow) finds what the local detectors cannot (names, addresses). If
    // it cannot answer, no model is asked: the text never leaves unredacted, and the runbook
    // planner, which sends nothing anywhere, still plans.
    try {
      userText = (await redactor.redact(userText, vault)).text;
    } catch (err) {
      const code = isVigilError(err) ? err.code : 'REDACTION_FAILED';
      return {
        proposal: planFromRunbooks(input, safety),
        answeredBy: 'runbook-planner',
        unavailable: [`every model (${redactor.name} redaction failed: ${code})`],
      };
    }
  }
  for (const provider of providers) {
    try {
      const proposal = await askWithRepair(provider, input, userText, vault, safety, meter);
      return { proposal, answeredBy: provider.name, unavailable };
    } catch (err) {
      if (err instanceof BudgetSpentError) {
        unavailable.push(`${provider.name} (budget spent: ${err.message})`);
        break;
      }
      if (!(err instanceof ProviderUnavailableError)) throw err;
      unavailable.push(`${provider.name} (${err.reason})`);
    }
  }
  return { proposal: planFromRunbooks(input, safety), answeredBy: 'runbook-planner', unavailable };
}

const sensitiveKey = /pass|pwd|secret|token|key|credential|auth|cookie|session|private/i;

function renderIncident(input: PlanningInput, vault: PlaceholderVault): string {
  // Placeholder-shaped text in the input is not ours: it must not resolve to a value we hold.
  const r = (text: string): string => redact(text.replace(/\[([A-Z_]+_\d+)\]/g, '($1)'), vault).text;
  // A fact under a sensitive key is a secret whatever it looks like; the rest are redacted one by one.
  const facts = (record: Record<string, unknown>): string =>
    Object.entries(record)
      .map(([key, value]) => {
        const text = typeof value === 'string' ? value : JSON.stringify(value);
        const hidden = sensitiveKey.test(key) ? vault.placeholderFor('PASSWORD', text) : r(text);
        return `${r(key)}: ${hidden}`;
      })
      .join('\n');
  const h = input.hypothesis;
  const parts = [
    `Service: ${r(input.service)}`,
    `Hypothesis (origin ${h.origin}, confidence ${h.confidence}, flags: ${h.flags.join(', ') || 'none'}):`,
    fence('hypothesis', r(h.rootCause)),
    'Evidence:',
    ...h.evidence.map((e) => fence(`evidence:${r(e.source)}`, `${r(e.summary)}\nfacts:\n${facts(e.facts)}`)),
    'Runbooks and past incidents (best match first):',
    ...input.context.map((m) =>
      fence(
        r(`${m.citation.kind}:${m.citation.documentId} score=${m.score.toFixed(2)} standing=${m.standing}`),
        r(`${m.citation.title}\n${m.passage}${m.remedy ? `\nprescribed: ${JSON.stringify(m.remedy.steps)}` : ''}`),
      ),
    ),
    'Analyse, then call propose_plan.',
  ];
  return parts.join('\n');
}

async function askWithRepair(
  provider: ModelProvider,
  input: PlanningInput,
  userText: string,
  vault: PlaceholderVault,
  safety: SafetyCheck,
  meter: Meter,
): Promise<RemediationProposed> {
  const messages: ModelMessage[] = [{ role: 'user', text: userText }];
  let lastText = '';
  for (let attempt = 0; attempt < 2; attempt++) {
    const timeLeft = meter.admit();
    // A provider whose circuit is open sends nothing, and is not charged for it.
    const refused = provider.refusal?.();
    if (refused) throw new CircuitOpenError(provider.name, refused);
    await meter.chargeCall();
    const deadline = AbortSignal.timeout(timeLeft);
    let answer;
    try {
      answer = await provider.complete({ system: systemPrompt, messages, tool: planTool }, deadline);
    } catch (err) {
      // Our own deadline ran out: the budget is spent, whatever the provider said.
      if (deadline.aborted) throw new BudgetSpentError(`the time budget ran out`);
      throw err;
    }
    await meter.chargeTokens(answer.usage.inputTokens + answer.usage.outputTokens);
    if (answer.text) lastText = answer.text;
    const parsed = ModelPlan.safeParse(answer.toolUse?.input);
    if (parsed.success) return toProposal(parsed.data, provider.name, input, vault, safety);
    const problem = answer.toolUse
      ? `The plan is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}. Call propose_plan again with a corrected plan.`
      : 'You did not call propose_plan. Call it now with your plan.';
    // Every API refuses an empty assistant turn; an empty answer is recorded as such.
    messages.push({
      role: 'assistant',
      text: answer.text || (answer.toolUse ? '' : '(no answer)'),
      ...(answer.toolUse ? { toolUse: answer.toolUse } : {}),
    });
    messages.push(
      answer.toolUse
        ? { role: 'user', text: '', toolResult: { toolUseId: answer.toolUse.id, error: problem } }
        : { role: 'user', text: problem },
    );
  }
  return {
    outcome: 'no_plan',
    reason: `${provider.name} returned no valid plan after one repair attempt`,
    ...(lastText ? { modelText: redact(lastText.slice(0, 8000)).text } : {}),
  };
}

function toProposal(
  model: ModelPlan,
  producedBy: string,
  input: PlanningInput,
  vault: PlaceholderVault,
  safety: SafetyCheck,
): RemediationProposed {
  const citations: Citation[] = input.context.filter((m) => model.runbooks.includes(m.citation.documentId)).map((m) => m.citation);
  // Only step parameters get real values back, and never credentials: a model that names
  // [PASSWORD_1] gets the placeholder, and the plan is flagged for a human.
  const notCredential = (type: EntityType): boolean => !credentialTypes.has(type);
  const steps = model.steps.map((step) =>
    step.kind === 'action' ? { ...step, params: vault.rehydrateDeep(step.params, notCredential) } : step,
  );
  const plan: Plan = {
    steps,
    confidence: Math.min(model.confidence, input.hypothesis.confidence),
    risk: model.risk,
    reasoning: [model.analysis, model.reasoning].filter(Boolean).join('\n\n'),
    rollback: model.rollback,
    checks: model.checks,
    citations,
    producedBy,
  };
  const chosen = input.context.find((m) => model.runbooks.includes(m.citation.documentId));
  const flags = edgeCases(input, chosen, plan, safety);
  const namesCredential = [...JSON.stringify(steps).matchAll(/\[([A-Z_]+)_\d+\]/g)].some((m) => credentialTypes.has(m[1] as EntityType));
  if (namesCredential && !flags.includes('secret_in_plan')) flags.push('secret_in_plan');
  return { outcome: 'plan', plan, flags };
}
