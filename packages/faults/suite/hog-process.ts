/**
 * The pool hog: a secondary that takes every free buffer of a pool (lookup
 * by name) and holds them until told `release`, then frees them all and
 * leaves. Run by hog.ts as `[EAL args] -- hog POOL`.
 */
import * as dpdk from '@mp/dpdk-core';
import { emit, fixtureArgs, onCommands } from '@mp/test-kit';

const { argv, roleArgs } = fixtureArgs();
dpdk.initEalFromArgv(argv);
const pool = dpdk.lookupMempool(roleArgs[0] ?? '');
const bursts: dpdk.Burst[] = [];
let held = 0;
/** Takes what the pool has: big bursts while they fit, then smaller (bursts are all or nothing). */
function grab(): void {
  for (const n of [1024, 256, 32, 1]) {
    for (;;) {
      const b = new dpdk.Burst(n);
      if (pool.allocBulk(b, n) === 0) break;
      bursts.push(b);
      held += n;
    }
  }
}
grab();
emit('HELD', { held, available: pool.availableCount(), size: pool.size });
// Other processes' caches give buffers back as they flush: keep taking them, so the pool stays dry.
const keep = setInterval(grab, 1);
onCommands({
  release: () => {
    clearInterval(keep);
    let freed = 0;
    for (const b of bursts) freed += b.free();
    emit('RELEASED', { held, freed, available: pool.availableCount() });
    dpdk.cleanup();
    process.exit(0);
  },
});
