import { DpdkError } from '@mp/dpdk-core';
import { enabledPorts, pairPorts, parseAppArgs, slaveUnits } from '../src/args';

function rejects(argv: string[], msg: RegExp): void {
  let caught: unknown;
  try {
    parseAppArgs(argv);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(DpdkError);
  expect((caught as DpdkError).code).toBe('EINVAL');
  expect((caught as DpdkError).message).toMatch(msg);
  expect((caught as DpdkError).message).toMatch(/usage: mp-l2fwd/);
}

test('l2fwd defaults and every option', () => {
  expect(parseAppArgs(['-p', '3'])).toEqual({ portmask: 3, portsPerSlave: 1, statsPeriod: 10, float: false, macUpdating: true, json: false, coldRestart: false, ackTimeout: 100 });
  expect(parseAppArgs(['-p', '0xf0', '-q', '16', '-T', '0', '-f', '--no-mac-updating', '--json', '--cold-restart', '--ack-timeout', '2000'])).toEqual({
    portmask: 0xf0,
    portsPerSlave: 16,
    statsPeriod: 0,
    float: true,
    macUpdating: false,
    json: true,
    coldRestart: true,
    ackTimeout: 2000,
  });
  expect(() => parseAppArgs(['-p', '3', '--ack-timeout', '0'])).toThrow(/--ack-timeout is at least 1 ms/);
  expect(parseAppArgs(['--float', '-p', 'ffffffff', '-T', '86399']).portmask).toBe(0xffffffff);
});

test("l2fwd's rules: non-zero hexadecimal mask, 1 <= q <= 16, 0 <= T < 86400", () => {
  rejects([], /-p PORTMASK is required/);
  rejects(['-p', '0'], /non-zero mask/);
  rejects(['-p', 'xyz'], /hexadecimal port mask/);
  rejects(['-p', '3', '-q', '0'], /-q is at least 1/);
  rejects(['-p', '3', '-q', '17'], /-q is at most 16/);
  rejects(['-p', '3', '-q', '1.5'], /-q takes an integer/);
  // Decimal, as l2fwd's strtol(q, &end, 10); the mask is strtoul(p, &end, 16), which takes 0X too.
  rejects(['-p', '3', '-q', '0x10'], /-q takes a decimal number/);
  rejects(['-p', '3', '-T', '1e3'], /-T takes a decimal number/);
  expect(parseAppArgs(['-p', '0X3']).portmask).toBe(3);
  rejects(['-p', '3', '-T', '86400'], /below 86400/);
  rejects(['-p', '3', '-T', '-1'], /at least 0/);
  rejects(['-p', '3', '-s', '1'], /unknown option '-s'/);
  rejects(['-p'], /-p needs a value/);
});

test('--metrics-port and --metrics-host: checked with the reason and the usage', () => {
  expect(parseAppArgs(['-p', '3', '--metrics-port', '9464'])).toMatchObject({ metricsPort: 9464 });
  expect(parseAppArgs(['-p', '3', '--metrics-port', '9464', '--metrics-host', '::1'])).toMatchObject({ metricsPort: 9464, metricsHost: '::1' });
  rejects(['-p', '3', '--metrics-port', '0'], /the metrics port is 1-65535 \(0 would pick a random port nobody could scrape\); e\.g\. --metrics-port 9464/);
  rejects(['-p', '3', '--metrics-port', '65536'], /the metrics port is 1-65535; e\.g\. --metrics-port 9464/);
  rejects(['-p', '3', '--metrics-port', 'x'], /the metrics port is a TCP port number, e\.g\. --metrics-port 9464/);
  rejects(['-p', '3', '--metrics-port'], /--metrics-port needs a value/);
  rejects(['-p', '3', '--metrics-port', '9464', '--metrics-host', 'a b'], /the metrics host is an address or host name of this machine \(default 127\.0\.0\.1\); e\.g\. --metrics-host 0\.0\.0\.0/);
  rejects(['-p', '3', '--metrics-host', '127.0.0.1'], /--metrics-host goes with --metrics-port N, which turns the metrics on/);
});

test('ports pair 0<->1, 2<->3 over the enabled ports; an odd last port forwards to itself', () => {
  expect([...pairPorts([0, 1, 2, 3])]).toEqual([[0, 1], [1, 0], [2, 3], [3, 2]]);
  expect([...pairPorts([1, 4, 6])]).toEqual([[1, 4], [4, 1], [6, 6]]);
  expect(enabledPorts(0b1011, [0, 1, 2])).toEqual({ enabled: [0, 1], missing: [3] });
  expect(slaveUnits([0, 1, 2, 3], 1)).toEqual([[0], [1], [2], [3]]);
  expect(slaveUnits([0, 1, 2, 3], 2)).toEqual([[0, 1], [2, 3]]);
  expect(slaveUnits([0, 1, 2], 2)).toEqual([[0, 1], [2]]);
});
