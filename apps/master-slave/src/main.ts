/** mp-l2fwd entry point: `[EAL options] -- -p PORTMASK [...]`. */
import { DpdkError } from '@mp/dpdk-core';
import { runMaster } from './master';
import { STOP_SIGNALS } from './names';

export async function main(argv: readonly string[]): Promise<void> {
  try {
    const master = await runMaster(argv);
    let signalled = false;
    const onSignal = (): void => {
      if (signalled) return;
      signalled = true;
      void master.shutdown().then(
        () => process.exit(0),
        (e: unknown) => {
          process.stderr.write(`mp-l2fwd: shutdown failed: ${String(e)}\n`);
          process.exit(1);
        },
      );
    };
    for (const sig of STOP_SIGNALS) process.on(sig, onSignal);
  } catch (e) {
    process.stderr.write(`${e instanceof DpdkError ? e.message : String(e instanceof Error ? e.stack : e)}\n`);
    process.exit(e instanceof DpdkError && e.code === 'EINVAL' ? 2 : 1);
  }
}

if (require.main === module) void main(process.argv.slice(2));
