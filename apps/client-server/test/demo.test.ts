/**
 * The main job: `start` with no EAL arguments runs the server on net_null
 * ports with two clients of its own, shows stats, stops by itself after
 * --duration and leaves nothing behind.
 */
import path from 'node:path';
import { assertCleanTeardown, leftovers, requireHugepages, startProcess } from '@mp/test-kit';
import { UsageError } from '@mp/dpdk-core/cli';
import { demoServerArgv } from '../src/demo';

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
