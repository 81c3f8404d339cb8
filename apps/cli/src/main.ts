import { CommanderError, type Command } from 'commander';
import { isVigilError } from '@vigil/errors';
import { buildProgram } from './program.js';

/** Throw instead of exiting, on every command, so usage errors map to exit code 2 below. */
function throwOnExit(command: Command): Command {
  command.exitOverride();
  command.commands.forEach(throwOnExit);
  return command;
}

// A reader that stops early (`vigil events tail | head`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

try {
  await throwOnExit(buildProgram()).parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // --help and --version end here with code 0; usage errors were already printed.
    process.exit(error.exitCode === 0 ? 0 : 2);
  }
  if (isVigilError(error, 'USAGE')) {
    process.stderr.write(`vigil: ${error.message} (run with --help for usage)\n`);
    process.exit(2);
  }
  const message = isVigilError(error) ? `${error.code}: ${error.message}` : (error as Error).message;
  process.stderr.write(`vigil: ${message}\n`);
  process.exit(1);
}
