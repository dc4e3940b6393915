/** mp-l2fwd entry point: `[EAL options] -- -p PORTMASK [...]`; errors and exit codes by @mp/dpdk-core/cli's convention. */
import { EXIT, reportError } from '@mp/dpdk-core/cli';
import { runMaster } from './master';
import { STOP_SIGNALS } from './shared';

const PROG = 'mp-l2fwd';

export async function main(argv: readonly string[]): Promise<void> {
  try {
    const master = await runMaster(argv);
    let signalled = false;
    const onSignal = (): void => {
      if (signalled) return;
      signalled = true;
      void master.shutdown().then(
        () => process.exit(EXIT.ok),
        (e: unknown) => {
          process.stderr.write(`${PROG}: shutdown failed: ${String(e)}\n`);
          process.exit(EXIT.failure);
        },
      );
    };
    for (const sig of STOP_SIGNALS) process.on(sig, onSignal);
  } catch (e) {
    process.exit(reportError(PROG, e));
  }
}

if (require.main === module) void main(process.argv.slice(2));
