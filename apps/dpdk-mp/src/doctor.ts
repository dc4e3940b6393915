/**
 * dpdk-mp doctor: is this machine ready to run DPDK groups, and if not, the
 * one command that fixes each problem. It reads the kernel's view (sysfs,
 * /proc/mounts), loads the addon only inside its own check (so it still
 * reports when the addon cannot load), and changes nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { hugepageMounts, hugepageSizes, runtimeBase, type HugepageSize } from '@mp/dpdk-core/machine';
import { z } from 'zod';
import { EXIT } from '@mp/dpdk-core/cli';
import type { Command } from './cli';
import { bytes } from './table';

const schema = z.object({ json: z.boolean().default(false) }).strict();
type Options = z.output<typeof schema>;

/** What the main job (`./dev start`: apps/client-server's demo, server with -m 256) maps; its clients map the server's. */
const MAIN_JOB_BYTES = 256 * 1024 * 1024;
/** The page count and size the project's setup reserves (scripts/setup.sh). */
const SETUP_PAGES = 512;
const SETUP_SIZE_KB = 2048;
/** What fixes each reason the addon gives for not loading (@mp/dpdk-core's load-error.ts). */
const LOAD_FIX: Record<string, string> = {
  E_DPDK_MISSING: 'apt-get install dpdk',
  E_DPDK_VERSION: 'npm rebuild @mp/dpdk-core',
  E_NO_ADDON: 'npm rebuild @mp/dpdk-core',
};
const DPDK_TOOLS = ['dpdk-dumpcap', 'dpdk-pdump', 'dpdk-proc-info', 'dpdk-telemetry.py'];

export interface Check {
  name: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  /** The one command that fixes it (for warn and fail). */
  fix?: string;
}

const mountFix = `mkdir -p /dev/hugepages && mount -t hugetlbfs -o pagesize=${SETUP_SIZE_KB / 1024}M nodev /dev/hugepages`;

function hugepageChecks(): Check[] {
  const sizes = hugepageSizes();
  if (sizes.length === 0) {
    return [{ name: 'hugepages', status: 'fail', detail: 'this kernel offers no hugepages (no /sys/kernel/mm/hugepages)', fix: 'use a kernel built with CONFIG_HUGETLBFS (any Debian kernel)' }];
  }
  const mounts = hugepageMounts();
  const reserved = sizes.filter((s) => s.reserved > 0);
  const checks: Check[] = [];
  checks.push(
    reserved.length === 0
      ? { name: 'hugepages', status: 'fail', detail: 'no hugepages are reserved', fix: `echo ${SETUP_PAGES} > ${sizes.find((s) => s.kb === SETUP_SIZE_KB)?.sysfs ?? (sizes[0] as HugepageSize).sysfs}` }
      : { name: 'hugepages', status: 'ok', detail: reserved.map((s) => `${s.reserved} x ${bytes(s.kb * 1024)} reserved, ${s.free} free`).join('; ') },
  );
  const served = reserved.filter((s) => mounts.some((m) => m.pageSizeKb === s.kb));
  if (mounts.length === 0) {
    checks.push({ name: 'hugetlbfs', status: 'fail', detail: 'no hugetlbfs is mounted: DPDK cannot map hugepages', fix: mountFix });
  } else if (reserved.length > 0 && served.length === 0) {
    const kb = reserved[0]?.kb as number;
    checks.push({
      name: 'hugetlbfs',
      status: 'fail',
      detail: `hugetlbfs is mounted (${mounts.map((m) => `${m.path}: ${bytes(m.pageSizeKb * 1024)} pages`).join(', ')}) but not for the ${bytes(kb * 1024)} pages that are reserved`,
      fix: `mkdir -p /dev/hugepages-${kb}kB && mount -t hugetlbfs -o pagesize=${kb}K nodev /dev/hugepages-${kb}kB`,
    });
  } else {
    checks.push({ name: 'hugetlbfs', status: 'ok', detail: mounts.map((m) => `${m.path} (${bytes(m.pageSizeKb * 1024)} pages)`).join(', ') });
  }
  const free = served.reduce((n, s) => n + s.free * s.kb * 1024, 0);
  if (free >= MAIN_JOB_BYTES) {
    checks.push({ name: 'free hugepages', status: 'ok', detail: `${bytes(free)} free where mounted; the main job maps ${bytes(MAIN_JOB_BYTES)}` });
  } else {
    const size = served[0] ?? sizes.find((s) => s.kb === SETUP_SIZE_KB);
    const missing = size === undefined ? 0 : Math.ceil((MAIN_JOB_BYTES - free) / (size.kb * 1024));
    checks.push({
      name: 'free hugepages',
      status: 'fail',
      detail: `${bytes(free)} free where mounted; the main job maps ${bytes(MAIN_JOB_BYTES)}`,
      fix: size === undefined ? mountFix : `echo ${Math.max(SETUP_PAGES, size.reserved + missing)} > ${size.sysfs}`,
    });
  }
  return checks;
}

function onPath(tool: string): boolean {
  return (process.env['PATH'] ?? '').split(':').some((d) => d !== '' && fs.existsSync(path.join(d, tool)));
}

/** Loads @mp/dpdk-core here, not at the top: its failure to load is one of the findings. */
function dpdkChecks(): { checks: Check[]; core: typeof import('@mp/dpdk-core') | null } {
  const checks: Check[] = [];
  let core: typeof import('@mp/dpdk-core') | null = null;
  try {
    core = require('@mp/dpdk-core') as typeof import('@mp/dpdk-core');
    checks.push({ name: 'DPDK', status: 'ok', detail: `${core.dpdkVersion()}; the @mp/dpdk-core addon loads` });
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    const fix = LOAD_FIX[code];
    checks.push({ name: 'DPDK', status: 'fail', detail: (e as Error).message, ...(fix !== undefined ? { fix } : {}) });
  }
  const pmds = ['/usr/lib', '/usr/local/lib', '/usr/lib64'].flatMap((base) => findPmd(base));
  checks.push(
    pmds.length > 0
      ? { name: 'DPDK drivers', status: 'ok', detail: `net_null (the main job's ports) in ${path.dirname(pmds[0] as string)}` }
      : { name: 'DPDK drivers', status: 'fail', detail: "no net_null driver (librte_net_null) in DPDK's driver directory: the main job's ports", fix: 'apt-get install dpdk' },
  );
  const missing = DPDK_TOOLS.filter((t) => !onPath(t));
  checks.push(
    missing.length === 0
      ? { name: 'DPDK tools', status: 'ok', detail: DPDK_TOOLS.join(', ') }
      : { name: 'DPDK tools', status: 'warn', detail: `not found: ${missing.join(', ')} (capture, proc-info and telemetry from DPDK)`, fix: 'apt-get install dpdk-dev' },
  );
  return { checks, core };
}

/** librte_net_null.so* under <base>/<multiarch>/dpdk/pmds-<abi>/ (EAL's plugin directory). */
function findPmd(base: string): string[] {
  const found: string[] = [];
  for (const arch of safeReaddir(base)) {
    const dpdk = path.join(base, arch, 'dpdk');
    for (const pmds of safeReaddir(dpdk).filter((d) => d.startsWith('pmds-'))) {
      found.push(...safeReaddir(path.join(dpdk, pmds)).filter((f) => f.startsWith('librte_net_null.so')).map((f) => path.join(dpdk, pmds, f)));
    }
  }
  return found;
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function permissionCheck(): Check {
  if (process.getuid?.() === 0) return { name: 'permissions', status: 'ok', detail: 'running as root' };
  const denied = [...hugepageMounts().map((m) => m.path), runtimeBase()].filter((p) => {
    try {
      fs.accessSync(fs.existsSync(p) ? p : path.dirname(p), fs.constants.W_OK);
      return false;
    } catch {
      return true;
    }
  });
  return denied.length === 0
    ? { name: 'permissions', status: 'ok', detail: 'not root, but the hugepage mounts and the runtime directory are writable' }
    : { name: 'permissions', status: 'fail', detail: `not root, and ${denied.join(', ')} not writable`, fix: 'run it as root (sudo), which DPDK needs for hugepages and devices' };
}

/** Only real NICs need these; virtual devices (net_null, net_tap, net_pcap, ...) run without. */
function nicChecks(): Check[] {
  const groups = safeReaddir('/sys/kernel/iommu_groups').length;
  const vfio = fs.existsSync('/sys/bus/pci/drivers/vfio-pci');
  return [
    groups > 0
      ? { name: 'IOMMU', status: 'ok', detail: `${groups} IOMMU groups` }
      : {
          name: 'IOMMU',
          status: 'warn',
          detail: 'no IOMMU groups: a real NIC under vfio-pci needs the IOMMU on (virtual devices do not)',
          fix: `sed -i 's/^GRUB_CMDLINE_LINUX="/&intel_iommu=on iommu=pt /' /etc/default/grub && update-grub && reboot`,
        },
    vfio
      ? { name: 'vfio-pci', status: 'ok', detail: 'vfio-pci is loaded (bind NICs with dpdk-devbind.py -b vfio-pci <pci address>)' }
      : { name: 'vfio-pci', status: 'warn', detail: 'vfio-pci is not loaded: real NICs cannot be given to DPDK (virtual devices do not need it)', fix: 'modprobe vfio-pci' },
  ];
}

function groupCheck(core: typeof import('@mp/dpdk-core') | null): Check {
  if (core === null) return { name: 'leftover groups', status: 'warn', detail: 'not checked: @mp/dpdk-core does not load (see DPDK above)' };
  const dead = core
    .listPrefixes()
    .map((p) => core.describePrefix(p))
    .filter((s) => !s.primaryAlive && !s.secondaries.some((x) => x.alive));
  if (dead.length === 0) return { name: 'leftover groups', status: 'ok', detail: 'no group left files behind' };
  const size = dead.reduce((n, s) => n + s.hugepageFiles.reduce((m, f) => m + f.bytes, 0), 0);
  return {
    name: 'leftover groups',
    status: 'warn',
    detail: `${dead.length} dead group${dead.length > 1 ? 's' : ''} left files behind (${dead.map((s) => s.prefix).join(', ')}), holding ${bytes(size)} of hugepages`,
    fix: 'dpdk-mp clean --all-dead',
  };
}

export function runChecks(): Check[] {
  const { checks: dpdk, core } = dpdkChecks();
  return [...hugepageChecks(), ...dpdk, permissionCheck(), ...nicChecks(), groupCheck(core)];
}

export function renderChecks(checks: readonly Check[]): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  const lines = checks.flatMap((c) => [
    `${(c.status === 'fail' ? 'FAIL' : c.status).padEnd(4)}  ${c.name.padEnd(width)}  ${c.detail}`,
    ...(c.fix !== undefined ? [`${' '.repeat(width + 8)}fix: ${c.fix}`] : []),
  ]);
  const failed = checks.filter((c) => c.status === 'fail').length;
  lines.push('', failed === 0 ? 'no problem found' : `${failed} problem${failed > 1 ? 's' : ''} found`);
  return `${lines.join('\n')}\n`;
}

export const command: Command<Options> = {
  options: { json: { type: 'boolean' } },
  schema,
  async run(o) {
    const checks = runChecks();
    process.stdout.write(o.json ? `${JSON.stringify({ checks }, null, 2)}\n` : renderChecks(checks));
    return checks.some((c) => c.status === 'fail') ? EXIT.environment : EXIT.ok;
  },
};
