import type { z } from 'zod';
import type { ExecutorTargets } from '@vigil/catalog';
import type { PlanStep, Risk } from '@vigil/events';
import type { Logger } from '@vigil/platform';

/** What an action may use: the service's declared targets, the evidence, a deadline. */
export interface ActionContext {
  service: string;
  /** From the service catalog's `executor` block; an action refuses when its target is missing. */
  targets: ExecutorTargets;
  /** Facts from the hypothesis (e.g. `blocker_pid`) the preconditions check against. */
  evidenceFacts: Record<string, unknown>;
  /**
   * When the claim this attempt holds began, as the executor's database stamped it (never an
   * executor copy's own clock). Anything on the target that began at or after it (e.g. a session
   * with a reused pid) is not what the step was planned against.
   */
  claimedAt: Date;
  /** Aborted when the action's timeout passes; `run` is never started once it has. */
  signal: AbortSignal;
  log: Logger;
}

export interface ActionOutput {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  truncated: boolean;
}

export interface ActionResult {
  status: 'succeeded' | 'failed';
  summary: string;
  output?: ActionOutput;
  /** The step that undoes this one (e.g. restoring the old config value), where one exists. */
  compensation?: Extract<PlanStep, { kind: 'action' }>;
}

/** What the target shows about an action's effect. */
export interface Inspection {
  done: boolean;
  summary: string;
}

/** A command an action will send, for the safety policy to read again right before it runs. */
export interface ActionCommand {
  language: 'sql' | 'shell';
  text: string;
}

/**
 * A typed action in the executor's catalog. Parameters are checked by the schema before
 * anything else; preconditions are checked live right before running (the world may have moved
 * since the plan); the dry run says exactly what would happen; run does it once.
 */
export interface ActionDefinition<P = Record<string, unknown>> {
  name: string;
  description: string;
  params: z.ZodType<P>;
  risk: Risk;
  /** What it can affect, in words a reviewer reads: "one Postgres session". */
  blastRadius: string;
  timeoutMs: number;
  /** What the safety policy re-reads before it runs. */
  commands(params: P, ctx: ActionContext): ActionCommand[];
  /** Live checks; each string is a reason to refuse. Empty: go. */
  preconditions(params: P, ctx: ActionContext): Promise<string[]>;
  /** Exactly what it would do, touching nothing. */
  dryRun(params: P, ctx: ActionContext): Promise<string>;
  run(params: P, ctx: ActionContext): Promise<ActionResult>;
  /**
   * After the executor stopped while this action ran (a crash), reads the target, touching
   * nothing: `done` when the action's effect is in place, `done: false` when it provably is not
   * (the attempt that started at `since` never got there). Only for an action whose effect the
   * target's state shows unambiguously; undefined when it cannot tell (the outcome stays unknown).
   */
  inspect?(params: P, ctx: ActionContext, since: Date): Promise<Inspection | undefined>;
}

/** Erases the parameter type so definitions of different actions sit in one catalog. */
export const defineAction = <P>(definition: ActionDefinition<P>): ActionDefinition<unknown> => definition as ActionDefinition<unknown>;
