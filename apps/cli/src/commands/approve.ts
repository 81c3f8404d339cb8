import { Command } from 'commander';
import { z } from 'zod';
import { VigilError } from '@vigil/errors';
import { env, loadConfig, secret } from '@vigil/platform';

/** What `vigil approve` reads from the environment. */
const approveConfig = {
  VIGIL_APPROVER_URL: env.url(['http', 'https']).default('http://127.0.0.1:7408'),
  /** The caller's token: one of the approver's APPROVER_API_TOKENS, which names the person deciding. */
  VIGIL_API_TOKEN: secret(z.string().optional()),
};

interface DecisionAnswer {
  outcome?: string;
  message?: string;
  error?: string;
  approval?: { service: string; risk: string; planHash: string; state: string };
}

const out = (text: string): void => void process.stdout.write(`${text}\n`);

/** Exit codes beyond 0: 1 refused (not an approver, already decided, expired), as every other failure. */
async function decide(
  id: string,
  body: { decision: 'approve' | 'deny'; reason?: string; planHash?: string },
): Promise<{ status: number; answer: DecisionAnswer }> {
  const config = loadConfig(approveConfig);
  if (!config.VIGIL_API_TOKEN) {
    throw new VigilError('USAGE', 'VIGIL_API_TOKEN is not set: approvals are made by a person, named by their API token');
  }
  let response: Response;
  try {
    response = await fetch(new URL(`/approvals/${encodeURIComponent(id)}/decision`, config.VIGIL_APPROVER_URL), {
      method: 'POST',
      headers: { authorization: `Bearer ${config.VIGIL_API_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, via: 'cli' }),
    });
  } catch (error) {
    throw new VigilError(
      'APPROVER_UNREACHABLE',
      `cannot reach the approver at ${config.VIGIL_APPROVER_URL} (set VIGIL_APPROVER_URL): ${(error as Error).message}`,
      { cause: error },
    );
  }
  const answer = (await response.json().catch(() => ({}))) as DecisionAnswer;
  return { status: response.status, answer };
}

export function approveCommand(): Command {
  return new Command('approve')
    .description('approve (or --deny) the plan awaiting approval for an incident, as the person your VIGIL_API_TOKEN names')
    .argument('<id>', 'incident id')
    .option('--deny', 'deny the plan instead')
    .option('--reason <text>', 'why, for the record')
    .option('--plan <hash>', 'the plan hash you reviewed (refused if the plan awaiting approval is another)')
    .option('--json', 'print the approver’s answer as JSON')
    .action(async (id: string, options: { deny?: boolean; reason?: string; plan?: string; json?: boolean }) => {
      const { status, answer } = await decide(id, {
        decision: options.deny ? 'deny' : 'approve',
        ...(options.reason ? { reason: options.reason } : {}),
        ...(options.plan ? { planHash: options.plan } : {}),
      });
      if (options.json) out(JSON.stringify(answer, null, 2));
      if (status === 401) throw new VigilError('HTTP_401', `${answer.error ?? 'unauthorised'} (set VIGIL_API_TOKEN)`);
      if (status >= 400 && !answer.outcome) throw new VigilError(`HTTP_${status}`, answer.error ?? `the approver answered ${status}`);
      if (!options.json) {
        const what = answer.approval
          ? ` — ${answer.approval.service} (${answer.approval.risk}), plan ${answer.approval.planHash.slice(0, 12)}`
          : '';
        out(`${answer.outcome}: ${answer.message ?? ''}${what}`);
      }
      if (status >= 400) process.exitCode = 1;
    });
}
