/**
 * Where a script step runs: the local sandbox (bubblewrap, the embedded default) or a Coder
 * workspace over SSH. Both take the same request and give the same result.
 */
export interface ScriptRequest {
  /** Unique per execution: names the workspace, scratch dir, logs. */
  executionId: string;
  incidentId: string;
  service: string;
  language: 'bash' | 'sh' | 'sql' | 'python';
  code: string;
  /** host:port pairs the script may reach; empty: no network at all. */
  egress: string[];
  /** The only environment the script gets: declared parameters, never the executor's own. */
  env: Record<string, string>;
  limits: { timeoutMs: number; memoryBytes: number; cpuSeconds: number; outputBytes: number };
  signal?: AbortSignal;
}

export interface ScriptResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  /** Output cut at `limits.outputBytes`. */
  truncated: boolean;
  timedOut: boolean;
  /** Why it did not run at all (the sandbox could not be built): fail closed. */
  refused?: string;
}

export interface ScriptRunner {
  readonly name: string;
  /** Whether this runner can work on this host; the reason when it cannot. */
  available(): Promise<{ ok: true } | { ok: false; reason: string }>;
  run(request: ScriptRequest): Promise<ScriptResult>;
}
