/**
 * A secondary that fills the server's pool with flows (flows.ts) before the
 * clients start, for the flow benchmark on net_null; prints how many.
 *
 *   prefill.ts [EAL args, --proc-type=secondary]
 */
import { cleanup, initEalFromArgv, lookupMempool } from '@mp/dpdk-core';
import { fillPoolWithFlows } from './flows';

initEalFromArgv(process.argv.slice(2));
const filled = fillPoolWithFlows(lookupMempool('MProc_pktmbuf_pool'));
process.stdout.write(`PREFILLED ${filled}\n`);
cleanup();
