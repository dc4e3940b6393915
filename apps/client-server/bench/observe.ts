/**
 * Benchmark observer: attaches to a client-server group as a secondary,
 * reads the port_info counters (C layout, so it works for C and TS pairs) and
 * the CPU time the server and client processes have used, sleeps through the
 * measurement window without using the CPU, reads again and prints one JSON
 * line.
 *
 *   observe.ts [EAL args] -- SECONDS SERVER_PID CLIENT_PID
 */
import fs from 'node:fs';
import { initEalFromArgv, lookupMemzone } from '@mp/dpdk-core';
import { MAX_CLIENTS, MAX_ETHPORTS, MZ_PORT_INFO, PORT_INFO } from '../src/shared';

const TICKS = 100;

/** utime + stime of a process in seconds (/proc/PID/stat fields 14 and 15; USER_HZ is 100 on Linux). */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

function read(view: DataView): { tx: number; rx: number; time: number } {
  let tx = 0;
  let rx = 0;
  for (let c = 0; c < MAX_CLIENTS; c++) for (let p = 0; p < MAX_ETHPORTS; p++) tx += Number(view.getBigUint64(PORT_INFO.tx(c, p), true));
  for (let p = 0; p < MAX_ETHPORTS; p++) rx += Number(view.getBigUint64(PORT_INFO.rx(p), true));
  return { tx, rx, time: performance.now() };
}

const { appArgs } = initEalFromArgv(process.argv.slice(2));
const [seconds, serverPid, clientPid] = appArgs.map(Number) as [number, number, number];
const view = new DataView(lookupMemzone(MZ_PORT_INFO).view());
const start = { ...read(view), server: cpuSeconds(serverPid), client: cpuSeconds(clientPid) };
setTimeout(() => {
  const end = { ...read(view), server: cpuSeconds(serverPid), client: cpuSeconds(clientPid) };
  const dt = (end.time - start.time) / 1000;
  const tx = end.tx - start.tx;
  process.stdout.write(
    `${JSON.stringify({ seconds: dt, txPps: tx / dt, rxPps: (end.rx - start.rx) / dt, serverCpu: end.server - start.server, clientCpu: end.client - start.client })}\n`,
  );
}, seconds * 1000);
