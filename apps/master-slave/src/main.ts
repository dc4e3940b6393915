/** mp-l2fwd entry point: `[EAL options] -- -p PORTMASK [...]`; errors and exit codes by @mp/dpdk-core/cli's convention. */
import { EXIT, holdStopSignals, reportError } from '@mp/dpdk-core/cli';
import { runMaster, type MasterHandle } from './master';

const PROG = 'mp-l2fwd';

/** Runs the master until a stop signal; `started` is called once it forwards (the demo prints its help there). */
export async function main(argv: readonly string[], started: (master: MasterHandle) => void = () => undefined): Promise<void> {
  // Taken before the start: the "started" line may be answered by a signal at once.
  const signals = holdStopSignals();
  try {
    const master = await runMaster(argv);
    started(master);
    let signalled = false;
    signals.onStop(() => {
      if (signalled) return;
      signalled = true;
      void master.shutdown().then(
        () => process.exit(EXIT.ok),
        (e: unknown) => {
          process.stderr.write(`${PROG}: shutdown failed: ${String(e)}\n`);
          process.exit(EXIT.failure);
        },
      );
    });
  } catch (e) {
    process.exit(reportError(PROG, e));
  }
}

if (require.main === module) void main(process.argv.slice(2));
