import type { ServiceCatalog } from '@vigil/catalog';
import type { ExecutionCompleted, ExecutionRequested, PlanStep } from '@vigil/events';
import type { Logger } from '@vigil/platform';
import type { SafetyCheck } from '@vigil/policy';
import { redact } from '@vigil/redact';
import type { ActionContext, ActionDefinition, ActionOutput, Inspection } from './actions/action.js';
import type { ScriptRequest, ScriptRunner } from './sandbox/runner.js';

export interface ExecuteDeps {
  actions: ReadonlyMap<string, ActionDefinition<unknown>>;
  safety: SafetyCheck;
  catalog: ServiceCatalog;
  /** Where scripts run; without one, scripts are refused. */
  runner?: ScriptRunner;
  scriptLimits: ScriptRequest['limits'];
  log: Logger;
}

export type Outcome = Omit<ExecutionCompleted, 'executionId' | 'durationMs'>;

const refused = (step: PlanStep, mode: Outcome['mode'], summary: string): Outcome => ({
  stepId: step.id,
  mode,
  status: 'refused',
  summary,
});

/** Output enters the timeline redacted: a script that prints a secret does not publish it. */
function cleanOutput(output: ActionOutput | undefined): ActionOutput | undefined {
  if (!output) return undefined;
  return { ...output, stdout: redact(output.stdout).text, stderr: redact(output.stderr).text };
}

/**
 * Runs one step once, in order: the safety check again (a denial is final whatever the plan, the
 * model or an approver said), the parameters against the action's schema, the commands the
 * action will send through the safety check too, the live preconditions, then the dry run or
 * the run itself under the action's timeout. Never throws for a step's own problem: that is a
 * `refused` or `failed` outcome the saga acts on.
 */
export async function executeStep(
  request: ExecutionRequested,
  incidentId: string,
  deps: ExecuteDeps,
  claimedAt: Date = new Date(),
): Promise<Outcome> {
  try {
    const outcome = await executeChecked(request, incidentId, deps, claimedAt);
    // Summaries quote queries, URLs and output: they enter the timeline redacted.
    return { ...outcome, summary: redact(outcome.summary).text };
  } catch (error) {
    // A step's own problem never escapes as a crash: it is a failed outcome the saga acts on.
    return {
      stepId: request.step.id,
      mode: request.mode,
      status: 'failed',
      summary: `the step could not be run: ${redact((error as Error).message).text}`,
    };
  }
}

async function executeChecked(request: ExecutionRequested, incidentId: string, deps: ExecuteDeps, claimedAt: Date): Promise<Outcome> {
  const { step, mode } = request;
  const verdict = deps.safety.check(step);
  if (verdict.decision === 'deny') {
    return refused(step, mode, `the safety policy denies this step: ${verdict.findings.map((f) => f.message).join('; ')}`);
  }
  if (step.kind === 'script') return runScript(request, step, incidentId, deps);

  const action = deps.actions.get(step.action);
  if (!action) return refused(step, mode, `${step.action} is not an action this executor has`);
  const parsed = action.params.safeParse(step.params);
  if (!parsed.success) {
    return refused(
      step,
      mode,
      `invalid parameters for ${step.action}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(params)'}: ${i.message}`).join('; ')}`,
    );
  }
  const signal = AbortSignal.timeout(action.timeoutMs);
  const ctx = actionContext(request, deps, signal, claimedAt);
  let started = false;
  try {
    for (const command of action.commands(parsed.data, ctx)) {
      const language = command.language === 'sql' ? 'sql' : 'bash';
      const again = deps.safety.check({ kind: 'script', id: step.id, language, code: command.text, egress: [], reasoning: '' });
      if (again.decision === 'deny') {
        return refused(
          step,
          mode,
          `the safety policy denies what ${step.action} would send (${command.text}): ${again.findings.map((f) => f.message).join('; ')}`,
        );
      }
    }
    const problems = await action.preconditions(parsed.data, ctx);
    if (problems.length > 0) return refused(step, mode, `preconditions not met: ${problems.join('; ')}`);
    if (mode === 'dry_run') return { stepId: step.id, mode, status: 'succeeded', summary: await action.dryRun(parsed.data, ctx) };
    // The checks took the whole timeout: past it another copy may take the claim over, so this
    // attempt no longer acts. Nothing was sent, so the step did not run.
    if (signal.aborted) return notStarted(step, mode, action.timeoutMs);
    started = true;
    const result = await withDeadline(action.run(parsed.data, ctx), signal, action.timeoutMs);
    const output = cleanOutput(result.output);
    return {
      stepId: step.id,
      mode,
      status: result.status,
      summary: result.summary,
      ...(output ? { output } : {}),
      ...(result.compensation ? { compensation: result.compensation } : {}),
    };
  } catch (error) {
    const message = redact((error as Error).message).text;
    if (signal.aborted && !started) return notStarted(step, mode, action.timeoutMs, message);
    if (signal.aborted)
      return {
        stepId: step.id,
        mode,
        status: 'unknown',
        summary: `${step.action} did not finish within ${action.timeoutMs}ms: ${message}`,
      };
    return { stepId: step.id, mode, status: 'failed', summary: `${step.action} failed: ${message}` };
  }
}

/** The step's timeout passed before `run` began (the checks were slow): nothing was sent. */
const notStarted = (step: PlanStep, mode: Outcome['mode'], timeoutMs: number, why?: string): Outcome => ({
  stepId: step.id,
  mode,
  status: 'failed',
  summary: `not run: the step's ${timeoutMs}ms timeout passed before it could start${why ? ` (${why})` : ''}, so nothing was sent to the target`,
});

function actionContext(request: ExecutionRequested, deps: ExecuteDeps, signal: AbortSignal, claimedAt: Date): ActionContext {
  return {
    claimedAt,
    service: request.service,
    targets: deps.catalog.get(request.service)?.executor ?? { endpoints: {} },
    evidenceFacts: request.evidenceFacts,
    signal,
    log: deps.log,
  };
}

/**
 * For a step whose executor stopped mid-run: what the target shows about its effect, where the
 * step's action can tell (e.g. whether the session it was to end is gone), reading only.
 * Undefined when it cannot: the outcome is then unknown.
 */
export async function inspectTarget(request: ExecutionRequested, deps: ExecuteDeps, since: Date): Promise<Inspection | undefined> {
  const { step, mode } = request;
  if (mode !== 'run' || step.kind !== 'action') return undefined;
  const action = deps.actions.get(step.action);
  const parsed = action?.params.safeParse(step.params);
  if (!action?.inspect || !parsed?.success) return undefined;
  try {
    const found = await action.inspect(parsed.data, actionContext(request, deps, AbortSignal.timeout(action.timeoutMs), since), since);
    return found && { done: found.done, summary: redact(found.summary).text };
  } catch (error) {
    deps.log.warn({ err: error, action: step.action }, 'could not read the target of a step whose executor stopped');
    return undefined;
  }
}

/** A run that ignores its signal still ends at the deadline (its fate is then unknown). */
function withDeadline<T>(work: Promise<T>, signal: AbortSignal, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error(`timed out after ${timeoutMs}ms`));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

async function runScript(
  request: ExecutionRequested,
  step: Extract<PlanStep, { kind: 'script' }>,
  incidentId: string,
  deps: ExecuteDeps,
): Promise<Outcome> {
  const { mode } = request;
  if (!deps.runner) return refused(step, mode, 'no sandbox is configured for scripts on this executor');
  const available = await deps.runner.available();
  if (!available.ok) return refused(step, mode, `the ${deps.runner.name} sandbox cannot run scripts here: ${available.reason}`);
  if (mode === 'dry_run') {
    return {
      stepId: step.id,
      mode,
      status: 'succeeded',
      summary: `would run a ${step.language} script in the ${deps.runner.name} sandbox (egress: ${step.egress.join(', ') || 'none'})`,
    };
  }
  const result = await deps.runner.run({
    executionId: request.executionId,
    incidentId,
    service: request.service,
    language: step.language,
    code: step.code,
    egress: step.egress,
    env: {},
    limits: deps.scriptLimits,
  });
  if (result.refused) return refused(step, mode, `the ${deps.runner.name} sandbox refused: ${result.refused}`);
  const output = cleanOutput({ stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode, truncated: result.truncated });
  if (result.timedOut)
    return {
      stepId: step.id,
      mode,
      status: 'failed',
      summary: `the script ran past ${deps.scriptLimits.timeoutMs}ms and was killed`,
      ...(output ? { output } : {}),
    };
  return {
    stepId: step.id,
    mode,
    status: result.exitCode === 0 ? 'succeeded' : 'failed',
    summary: `the ${step.language} script exited ${result.exitCode ?? 'by a signal'} in the ${deps.runner.name} sandbox`,
    ...(output ? { output } : {}),
  };
}
