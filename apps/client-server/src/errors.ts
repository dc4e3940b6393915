/**
 * How mp-server, mp-client and the demo report a failed start: the usage text
 * on stdout for --help (exit 0), otherwise a message on stderr and an exit
 * code from shared.ts EXIT.
 */
import { DpdkError } from '@mp/dpdk-core';
import { HelpRequested, UsageError } from './args';
import { EXIT } from './shared';

/** The command line is fine but the environment is not: no server, an id or lcore in use, a missing port. */
export class SetupError extends Error {
  override readonly name = 'SetupError';
  readonly exitCode = EXIT.setup;
}

export function reportStartError(prog: string, e: unknown): number {
  if (e instanceof HelpRequested) {
    process.stdout.write(`${e.message}\n`);
    return 0;
  }
  const err = e as Error;
  process.stderr.write(`${prog}: ${err.message}\n`);
  if (err instanceof UsageError || err instanceof SetupError) return err.exitCode;
  if (err instanceof DpdkError) return EXIT.setup;
  return EXIT.failure;
}
