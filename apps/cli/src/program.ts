import { Command } from 'commander';
import { approveCommand } from './commands/approve.js';
import { chaosCommand } from './commands/chaos.js';
import { eventsCommand } from './commands/events.js';
import { incidentsCommand, replayCommand } from './commands/incidents.js';
import { policyCommand } from './commands/policy.js';
import { redactCommand } from './commands/redact.js';
import { runbooksCommand } from './commands/runbooks.js';

export const version = '0.1.0';

/** The `vigil` command tree. Each command group lives in commands/. */
export function buildProgram(): Command {
  return new Command('vigil')
    .description('Vigil, an autonomous reliability engine: alert in, investigated, planned, gated, run, verified, remembered.')
    .version(version)
    .showHelpAfterError('(run with --help for usage)')
    .addCommand(eventsCommand())
    .addCommand(incidentsCommand())
    .addCommand(replayCommand())
    .addCommand(policyCommand())
    .addCommand(redactCommand())
    .addCommand(runbooksCommand())
    .addCommand(approveCommand())
    .addCommand(chaosCommand());
}
