/**
 * A short self-check of the binding: EAL as primary on virtual devices, then
 * what it sees (`pnpm selfcheck`).
 */
import { cleanup, dpdkVersion, initEal, lcores, memoryStats, ports, processType } from './index';

const prefix = `mp-selfcheck-${process.pid}`;
const { ealArgs } = initEal({
  cores: [0],
  filePrefix: prefix,
  memoryMb: 64,
  noPci: true,
  vdevs: ['net_null0', 'net_null1'],
  logLevel: 'warning',
});
const mem = memoryStats();
const mib = (n: number): string => `${(n / (1 << 20)).toFixed(0)} MiB`;
console.log(`${dpdkVersion()} — EAL args: ${ealArgs.join(' ')}`);
console.log(`process type: ${processType()}`);
console.log(`lcores: ${lcores().map((l) => `${l.id}${l.main ? ' (main)' : ''} on cpus ${l.cpus.join(',')}, socket ${l.socket}`).join('; ')}`);
console.log(`ports: ${ports().map((p) => `${p.id} ${p.name} ${p.mac}`).join('; ')}`);
console.log(
  `hugepage memory: ${mib(mem.hugepageBytes)} in ${mib(mem.pageSize)} pages; heap ` +
    mem.sockets.map((s) => `socket ${s.socket}: ${mib(s.heapAllocatedBytes)} used of ${mib(s.heapTotalBytes)}`).join(', '),
);
cleanup();
console.log('self-check passed: EAL initialised and cleaned up');
