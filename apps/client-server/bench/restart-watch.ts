/**
 * The restart benchmark's observer: a secondary that reads port_info (the C
 * layout, so C and TS clients alike) and takes commands on stdin, one per
 * line, answering on stdout:
 *
 *   forwarding ID      waits until client ID's tx moves      -> "forwarding ID"
 *   kill PID ID        SIGKILLs PID, waits until it is dead   -> "dead ID"
 *                      then until client ID's tx moves again  -> "moved ID MS" (MS from the kill)
 *   quit               detaches and exits
 *
 * It sleeps 0.25 ms between reads (Atomics.wait), so it takes little of the
 * CPU the restarting processes need. A counter that does not move within
 * the timeout answers "stuck ID MS".
 *
 *   restart-watch.ts [EAL args]
 */
import fs from 'node:fs';
import readline from 'node:readline';
import { cleanup, initEalFromArgv, lookupMemzone } from '@mp/dpdk-core';
import { MAX_ETHPORTS, MZ_PORT_INFO, PORT_INFO } from '../src/shared';

const TIMEOUT_MS = 60_000;
const nap = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms: number): void => void Atomics.wait(nap, 0, 0, ms);

initEalFromArgv(process.argv.slice(2));
const view = new DataView(lookupMemzone(MZ_PORT_INFO).view());

function tx(client: number): bigint {
  let sum = 0n;
  for (let p = 0; p < MAX_ETHPORTS; p++) sum += view.getBigUint64(PORT_INFO.tx(client, p), true);
  return sum;
}

/** Gone or a zombie: it runs no more instructions. */
function dead(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

/** Milliseconds from `since` until client's tx passes `base`, or null after the timeout. */
function untilMoved(client: number, base: bigint, since: number): number | null {
  while (tx(client) <= base) {
    if (performance.now() - since > TIMEOUT_MS) return null;
    sleep(0.25);
  }
  return performance.now() - since;
}

const answer = (line: string): void => void process.stdout.write(`${line}\n`);

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, a, b] = line.trim().split(/\s+/);
  if (cmd === 'forwarding') {
    const client = Number(a);
    const ms = untilMoved(client, tx(client), performance.now());
    answer(ms === null ? `stuck ${client} ${TIMEOUT_MS}` : `forwarding ${client}`);
  } else if (cmd === 'kill') {
    const pid = Number(a);
    const client = Number(b);
    const t0 = performance.now();
    process.kill(pid, 'SIGKILL');
    while (!dead(pid)) sleep(0.1);
    const base = tx(client);
    answer(`dead ${client}`);
    const ms = untilMoved(client, base, t0);
    answer(ms === null ? `stuck ${client} ${TIMEOUT_MS}` : `moved ${client} ${ms.toFixed(1)}`);
  } else if (cmd === 'quit') {
    cleanup();
    process.exit(0);
  }
});
