import { isVigilError } from '@vigil/errors';

/**
 * Runs a service's main(): a configuration or start-up failure is printed as one clear message
 * on stderr (no stack trace for a bad variable) and the process exits non-zero.
 */
export function runMain(main: () => Promise<unknown>): void {
  main().catch((error: unknown) => {
    if (isVigilError(error, 'CONFIG_INVALID')) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    const message = isVigilError(error) ? `${error.code}: ${error.message}` : ((error as Error)?.stack ?? String(error));
    process.stderr.write(`start-up failed: ${message}\n`);
    process.exit(1);
  });
}
