/**
 * The packages as a user gets them: scripts/pack.sh makes the tarballs,
 * `npm install` of them in an empty directory outside the workspace, with no
 * compiler, make or cc on PATH, uses the prebuilt addon; the installed
 * packages attach to a running primary, and a DPDK library that cannot be
 * loaded is one error that names the fix.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assertCleanTeardown, requireHugepages, startProcess, uniquePrefix } from '@mp/test-kit';
import { Namespace, primary } from './helpers';

const ROOT = path.join(__dirname, '..', '..', '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mpt-install-'));
const project = path.join(work, 'project');
const noCompiler = path.join(work, 'bin');

/**
 * Every program on PATH except compilers, assemblers, linkers and make: what
 * a machine with Node and DPDK's runtime but no build tools offers.
 */
function pathWithoutBuildTools(): string {
  fs.mkdirSync(noCompiler);
  const build = /^(cc|c\+\+|c89|c99|cpp|gcc|g\+\+|make|gmake|clang|ld|as|tcc)([-.].*)?$|-(gcc|g\+\+|cpp|ld|as)(-.*)?$/;
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
      const link = path.join(noCompiler, name);
      if (!build.test(name) && !fs.existsSync(link)) fs.symlinkSync(path.join(dir, name), link);
    }
  }
  return noCompiler;
}

/** Runs a command in the installed project, without build tools on PATH. */
function inProject(command: string, args: readonly string[]): string {
  return execFileSync(command, args, { cwd: project, encoding: 'utf8', env: { ...process.env, PATH: noCompiler }, stdio: ['ignore', 'pipe', 'pipe'] });
}

let tarballs: string[];

beforeAll(() => {
  requireHugepages();
  const out = execFileSync('bash', [path.join(ROOT, 'scripts', 'pack.sh'), path.join(work, 'packed')], { encoding: 'utf8' });
  tarballs = out.trim().split('\n');
  pathWithoutBuildTools();
  fs.mkdirSync(project);
}, 600_000);

afterAll(async () => {
  try {
    await assertCleanTeardown();
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

it('packs the public packages, and npm installs them without a compiler using the prebuilt addon', () => {
  expect(tarballs.map((t) => path.basename(t))).toEqual([
    'mp-dpdk-core-0.1.0.tgz',
    'mp-dpdk-mp-0.1.0.tgz',
    'mp-lcore-alloc-0.1.0.tgz',
    'mp-mp-ring-0.1.0.tgz',
    'mp-recovery-0.1.0.tgz',
  ]);
  expect(() => inProject('bash', ['-c', 'command -v gcc || command -v g++ || command -v make || command -v cc'])).toThrow();
  inProject('npm', ['init', '-y']);
  inProject('npm', ['install', '--no-audit', '--no-fund', ...tarballs]);
  const core = path.join(project, 'node_modules', '@mp', 'dpdk-core');
  expect(fs.existsSync(path.join(core, 'build'))).toBe(false);
  const addon = inProject('node', ['-p', `require('node-gyp-build').path(${JSON.stringify(core)})`]).trim();
  expect(addon).toBe(path.join(core, 'prebuilds', 'linux-x64', '@mp+dpdk-core.node'));
  expect(inProject('node', ['-p', "require('@mp/dpdk-core').dpdkVersion()"])).toMatch(/^DPDK 22\.11\.\d+/);
});

it('the installed packages attach to a running primary: a memzone lookup, and dpdk-mp status', async () => {
  const prefix = uniquePrefix('mp-install');
  const p = await primary(prefix);
  try {
    const lookup = `
      const { cleanup, initEal, lookupMemzone, processType } = require('@mp/dpdk-core');
      initEal({ processType: 'secondary', filePrefix: ${JSON.stringify(prefix)}, noPci: true, lcores: '100@0', logLevel: 'error' });
      console.log(JSON.stringify({ type: processType(), pid: lookupMemzone('mpt_primary').load32(0) }));
      cleanup();`;
    expect(JSON.parse(inProject('node', ['-e', lookup]))).toEqual({ type: 'secondary', pid: p.pid });
    const status = JSON.parse(inProject(path.join('node_modules', '.bin', 'dpdk-mp'), ['status', '--file-prefix', prefix, '--json', '--interval', '100'])) as {
      primary: { pid: number };
      memzones: Array<{ name: string }>;
    };
    expect(status.primary.pid).toBe(p.pid);
    expect(status.memzones.map((m) => m.name)).toContain('mpt_primary');
  } finally {
    p.kill('SIGTERM');
  }
  expect(await p.waitForExit()).toEqual({ code: 0, signal: null });
});

it('a DPDK library that cannot be loaded is one error naming the fix (in a private mount namespace: the library is only hidden there)', async () => {
  const lib = fs.realpathSync('/usr/lib/x86_64-linux-gnu/librte_pdump.so.23');
  const ns = await Namespace.create(`mount -t tmpfs tmpfs /mnt; touch /mnt/empty; mount --bind /mnt/empty ${lib}`);
  try {
    const load = ns.start('load', ['env', `PATH=${noCompiler}`, process.execPath, '-e', "require('@mp/dpdk-core')"], { cwd: project });
    expect((await load.waitForExit()).code).toBe(1);
    expect(load.stderr).toMatch(/DpdkError: load: cannot load DPDK's librte_pdump\.so\.23 \(.*\): this @mp\/dpdk-core addon needs DPDK 22\.11's runtime libraries\. Install them \(Debian 12: apt-get install dpdk\), or rebuild the addon against the DPDK you have: npm rebuild @mp\/dpdk-core/);
    const doctor = ns.start('doctor', ['env', `PATH=${noCompiler}`, path.join(project, 'node_modules', '.bin', 'dpdk-mp'), 'doctor', '--json'], { cwd: project });
    expect((await doctor.waitForExit()).code).toBe(3);
    const check = (JSON.parse(doctor.stdout) as { checks: Array<{ name: string }> }).checks.find((c) => c.name === 'DPDK');
    expect(check).toEqual({ name: 'DPDK', status: 'fail', detail: expect.stringMatching(/^load: cannot load DPDK's librte_pdump\.so\.23/), fix: 'apt-get install dpdk' });
  } finally {
    await ns.close();
  }
});
