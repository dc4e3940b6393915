/**
 * V8's inlining budget, raised for processes that run packet loops.
 *
 * A handler reaches C's speed only when TurboFan inlines its accessor calls
 * (each about 80 bytes of bytecode) into the loop that calls them; it stops
 * inlining once an optimised function has taken in
 * `--max-inlined-bytecode-size-cumulative` bytes (920 in Node 20), and a
 * packet loop inlines its fill, send, clock and handler too. Past the budget
 * the accessors become real calls and the handler runs two to three times
 * slower, by the luck of which function V8 optimises first (the flow-hash
 * micro-benchmark in apps/client-server/bench measured 11 or 26 ns per
 * packet from one run to the next). The flag is read each time a function
 * is optimised, so raising it before the loop first runs is enough.
 */
import { setFlagsFromString } from 'node:v8';

const FLAG = '--max-inlined-bytecode-size-cumulative';
/** Enough for a loop with a handler of a dozen accessor calls and their helpers. */
export const PACKET_LOOP_INLINING_BUDGET = 3000;

let raised = false;

/**
 * Raises the budget once per process, unless Node was started with the flag
 * (the user's choice stands). createPacketVector calls it.
 */
export function raiseInliningBudget(): void {
  if (raised) return;
  raised = true;
  if (process.execArgv.some((a) => a === FLAG || a.startsWith(`${FLAG}=`))) return;
  setFlagsFromString(`${FLAG}=${PACKET_LOOP_INLINING_BUDGET}`);
}
