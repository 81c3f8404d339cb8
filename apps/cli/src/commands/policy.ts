import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { VigilError } from '@vigil/errors';
import { Plan } from '@vigil/events';
import { checkShell, checkSql, combine, createSafetyCheck, loadParsers, riskOf, type SafetyVerdict } from '@vigil/policy';

const exitCodes = { allow: 0, review: 4, deny: 3 } as const;

/** A mistake in how the command was called: exit 2. */
const usage = (message: string): VigilError => new VigilError('USAGE', message);

async function readSource(file: string): Promise<string> {
  if (file !== '-') return readFile(file, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function policyCommand(): Command {
  const policy = new Command('policy').description('the static safety check every plan step passes');
  policy
    .command('check')
    .description(
      'judge SQL, a shell script or a whole plan: prints {decision, risk, findings}; exit 0 allow, 4 review, 3 deny, 2 usage error',
    )
    .option('--sql <text>', 'SQL to check (read with the PostgreSQL parser)')
    .option('--shell <text>', 'a shell script to check (read with a bash parser)')
    .option('--plan <file>', 'a plan as JSON (the remediation.proposed plan), or - for stdin')
    .action(async (options: { sql?: string; shell?: string; plan?: string }) => {
      const given = [options.sql, options.shell, options.plan].filter((v) => v !== undefined).length;
      if (given !== 1) throw usage('give exactly one of --sql, --shell or --plan');
      await loadParsers();
      let verdict: SafetyVerdict;
      if (options.sql !== undefined) verdict = checkSql(options.sql);
      else if (options.shell !== undefined) verdict = checkShell(options.shell);
      else {
        let raw: unknown;
        try {
          raw = JSON.parse(await readSource(options.plan as string));
        } catch (error) {
          throw usage(`the plan is not JSON: ${(error as Error).message}`);
        }
        const plan = Plan.safeParse(raw);
        if (!plan.success) throw usage(`not a plan: ${plan.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
        const check = createSafetyCheck();
        verdict = combine(plan.data.steps.map((step) => check.check(step)));
      }
      process.stdout.write(
        `${JSON.stringify({ decision: verdict.decision, risk: riskOf(verdict), findings: verdict.findings }, null, 2)}\n`,
      );
      process.exitCode = exitCodes[verdict.decision];
    });
  return policy;
}
