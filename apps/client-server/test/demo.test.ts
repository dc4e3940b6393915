/**
 * The main job: `start` with no EAL arguments runs the server on net_null
 * ports with two clients of its own, shows stats, stops by itself after
 * --duration and leaves nothing behind; a SIGKILLed server is restarted and
 * the clients re-attach.
 */
import fs from 'node:fs';
import path from 'node:path';
import { assertCleanTeardown, leftovers, requireHugepages, startProcess, uniquePrefix, type Fixture } from '@mp/test-kit';
import { UsageError } from '@mp/dpdk-core/cli';
import { clientLcores, demoServerArgv } from '../src/demo';

const DEMO = path.join(__dirname, '..', 'dist', 'demo.js');

afterAll(async () => {
  await assertCleanTeardown();
});

describe('demo command line', () => {
  it('defaults to two net_null ports and two clients under a prefix of its own', () => {
    const { serverArgv, duration } = demoServerArgv([], 42);
    expect(serverArgv).toEqual(expect.arrayContaining(['--file-prefix=mp-demo-42', '--vdev=net_null0', '--vdev=net_null1', '-p', '3', '-n', '2']));
    expect(duration).toBeUndefined();
    expect(demoServerArgv(['--duration', '5', '--clients=3'], 1)).toMatchObject({ duration: 5, serverArgv: expect.arrayContaining(['-n', '3']) });
  });

  it('hands --metrics-port and --metrics-host to the server, which checks them', () => {
    expect(demoServerArgv(['--metrics-port', '9464', '--metrics-host=::1'], 1).serverArgv.slice(-4)).toEqual(['--metrics-port', '9464', '--metrics-host', '::1']);
  });

  it('passes EAL arguments through as they are', () => {
    const argv = ['-l', '0', '-a', '0000:01:00.0', '--', '-p', '1', '-n', '1'];
    expect(demoServerArgv(argv).serverArgv).toEqual(argv);
  });

  it("gives the clients the lowest lcore ids that are neither the server's nor lcore 0", () => {
    expect(clientLcores(['--lcores=1@0'], 2)).toEqual([2, 3]);
    expect(clientLcores(['-l', '0-3'], 2)).toEqual([4, 5]);
    // No lcore option: EAL runs the server as one lcore per CPU.
    expect(clientLcores(['--no-pci'], 1, 4)).toEqual([4]);
  });

  it.each([[['--clients', '17']], [['--duration', '0']], [['--duration', '2147484']], [['--fast']]])('refuses %j', (argv) => {
    expect(() => demoServerArgv(argv)).toThrow(UsageError);
  });
});

it('runs the server and two clients, forwards, stops after --duration and leaves nothing', async () => {
  requireHugepages();
  const demo = startProcess('demo', process.execPath, [DEMO, '--duration', '2']);
  const status = await demo.waitForExit(60_000);
  expect(status).toEqual({ code: 0, signal: null });
  const text = demo.stdoutLines.join('\n');
  const last = text.slice(text.lastIndexOf('CLIENTS'));
  const tx = [...last.matchAll(/tx: +(\d+), tx_drop/g)].map((m) => Number(m[1]));
  expect(tx).toHaveLength(2);
  for (const t of tx) expect(t).toBeGreaterThan(0);
  expect(text).toMatch(/server stopped/);
  expect(leftovers(`mp-demo-${demo.pid}`)).toEqual([]);
});

it('ends when its server ends by itself (the server\'s own --duration), its warm standby with it', async () => {
  requireHugepages();
  const prefix = uniquePrefix('demo-self');
  const argv = ['--lcores=1@0', '--no-pci', '-m', '256', `--file-prefix=${prefix}`, '--vdev=net_null0', '--vdev=net_null1', '--', '-p', '3', '-n', '2', '--duration', '3'];
  const demo = startProcess('demo', process.execPath, [DEMO, ...argv]);
  // The standby is spawned once the clients attach; the server stops 3 s after it started.
  await demo.waitForLine(/APP: Finished Process Init/, 60_000);
  expect(await demo.waitForExit(60_000)).toEqual({ code: 0, signal: null });
  expect(demo.stdoutLines.join('\n')).toMatch(/server stopped/);
  expect(leftovers(prefix)).toEqual([]);
});

/** Waits until the latest CLIENTS block of the stats screen after line `from` shows both clients transmitting. */
async function bothTransmit(demo: Fixture, from: number): Promise<void> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const text = demo.stdoutLines.slice(from).join('\n');
    const last = text.slice(text.lastIndexOf('CLIENTS'));
    const tx = [...last.matchAll(/tx: +(\d+), tx_drop/g)].map((m) => Number(m[1]));
    if (tx.length === 2 && tx.every((t) => t > 0)) return;
    if (demo.exitStatus !== undefined || Date.now() > deadline) throw new Error(`the clients did not forward\n${demo.describe()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function serverPid(demo: Fixture): number {
  for (const d of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === demo.pid && fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('mp-server')) return Number(d);
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(`the demo (pid ${demo.pid}) runs no server`);
}

it('restarts a SIGKILLed server; the clients re-attach and forward; Ctrl-C still leaves nothing', async () => {
  requireHugepages();
  const demo = startProcess('demo', process.execPath, [DEMO]);
  await bothTransmit(demo, 0);
  for (let kill = 0; kill < 2; kill++) {
    const from = demo.stdoutLines.length;
    const pid = serverPid(demo);
    process.kill(pid, 'SIGKILL');
    await demo.waitForLine(new RegExp(`demo: the server \\(pid ${pid}\\) was killed by SIGKILL`), 30_000, { stream: 'stderr' });
    await demo.waitForLine(/APP: Finished Process Init/, 90_000, { from });
    await bothTransmit(demo, demo.stdoutLines.findIndex((l, i) => i >= from && /APP: Finished Process Init/.test(l)));
    expect(serverPid(demo)).not.toBe(pid);
  }
  demo.kill('SIGINT');
  expect(await demo.waitForExit(60_000)).toEqual({ code: 0, signal: null });
  expect(demo.stderr).not.toMatch(/exited \(|giving up/);
  expect(leftovers(`mp-demo-${demo.pid}`)).toEqual([]);
});
