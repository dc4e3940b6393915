import { EXIT, UsageError } from '@mp/dpdk-core/cli';
import { parseClientArgs, parseServerArgs } from '../src/args';

const eal = ['-l', '0,1', '--no-pci', '--file-prefix=X', '--vdev=net_null0', '--vdev=net_null1'];

function serverError(app: string[]): UsageError {
  try {
    parseServerArgs([...eal, '--', ...app]);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return e as UsageError;
  }
  throw new Error(`accepted: ${app.join(' ')}`);
}

function clientError(app: string[]): UsageError {
  try {
    parseClientArgs(['--proc-type=secondary', '--', ...app]);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return e as UsageError;
  }
  throw new Error(`accepted: ${app.join(' ')}`);
}

describe('server command line', () => {
  it("takes the C sample's form and splits EAL args from app args", () => {
    const r = parseServerArgs([...eal, '--', '-p', '3', '-n', '2']);
    expect(r.help).toBe(false);
    if (r.help) return;
    expect(r.ealArgs).toEqual(eal);
    expect(r.options).toMatchObject({ portIds: [0, 1], clients: 2, statsInterval: 1, statsFormat: 'text' });
    expect(r.options.duration).toBeUndefined();
  });

  it('takes long options, inline values and 0x masks', () => {
    const r = parseServerArgs(['--', '--portmask=0xf0', '--clients', '16', '--stats-interval=0.5', '--stats-format', 'json', '--duration=3']);
    if (r.help) throw new Error('help');
    expect(r.options).toMatchObject({ portIds: [4, 5, 6, 7], clients: 16, statsInterval: 0.5, statsFormat: 'json', duration: 3 });
    const s = parseServerArgs(['--', '-p3', '-n1']);
    if (s.help) throw new Error('help');
    expect(s.options.portIds).toEqual([0, 1]);
  });

  it('takes --metrics-port and --metrics-host; the host defaults to the loopback (applied where it listens)', () => {
    const r = parseServerArgs(['--', '-p', '3', '-n', '2', '--metrics-port', '9464', '--metrics-host=0.0.0.0']);
    if (r.help) throw new Error('help');
    expect(r.options).toMatchObject({ metricsPort: 9464, metricsHost: '0.0.0.0' });
    const d = parseServerArgs(['--', '-p', '3', '-n', '2', '--metrics-port=9464']);
    if (d.help) throw new Error('help');
    expect(d.options).toMatchObject({ metricsPort: 9464 });
    expect(d.options.metricsHost).toBeUndefined();
  });

  it.each([
    ['0', /--metrics-port: the metrics port is 1-65535 \(0 would pick a random port nobody could scrape\); e\.g\. --metrics-port 9464/],
    ['65536', /--metrics-port: the metrics port is 1-65535; e\.g\. --metrics-port 9464/],
    ['http', /--metrics-port: the metrics port is a TCP port number, e\.g\. --metrics-port 9464/],
    ['-1', /--metrics-port/],
  ])('refuses --metrics-port %s with the reason', (port, message) => {
    const e = serverError(['-p', '3', '-n', '2', '--metrics-port', port]);
    expect(e.exitCode).toBe(EXIT.usage);
    expect(e.message).toMatch(message);
  });

  it('refuses a bad --metrics-host, and one without --metrics-port', () => {
    expect(serverError(['-p', '3', '-n', '2', '--metrics-port', '9464', '--metrics-host', 'a b']).message).toMatch(
      /--metrics-host: the metrics host is an address or host name of this machine \(default 127\.0\.0\.1/,
    );
    expect(serverError(['-p', '3', '-n', '2', '--metrics-host', '127.0.0.1']).message.split('\n')[0]).toBe('mp-server: --metrics-host: serves metrics only with --metrics-port; add --metrics-port N');
  });

  it('answers --help without validating anything else', () => {
    expect(parseServerArgs(['--', '--help']).help).toBe(true);
  });

  it.each([
    [['-p', '3', '-n', '17'], /at most 16 clients/],
    [['-p', '3', '-n', '0'], /at least 1 client/],
    [['-p', '3', '-n', '-1'], /unexpected|decimal/],
    [['-p', '3', '-n', 'two'], /decimal number/],
    [['-p', '0', '-n', '2'], /port mask is empty/],
    [['-p', '7', '-n', '2'], /even number of ports.*selects 3 \(0, 1, 2\)/],
    [['-p', '1', '-n', '2'], /even number of ports/],
    [['-p', 'xyz', '-n', '2'], /hexadecimal/],
    [['-p', '100000000', '-n', '2'], /at most 32 ports/],
    [['-n', '2'], /-p\/--portmask is required/],
    [['-p', '3'], /-n\/--clients is required/],
    [['-p', '3', '-n', '2', '-s', '1'], /unknown option '-s'/],
    [['-p', '3', '-n', '2', 'extra'], /unexpected argument 'extra'/],
    [['-p', '3', '-n', '2', '-n', '3'], /given twice/],
    [['-p', '3', '-n'], /needs a value/],
    [['-p', '3', '-n', '2', '--stats-format', 'xml'], /--stats-format: use 'text'/],
    [['-p', '3', '-n', '2', '--stats-interval', 'soon'], /--stats-interval: give seconds/],
    [['-p', '3', '-n', '2', '--duration', '0'], /--duration: must be more than 0/],
    // Node timers wait at most 2^31-1 ms; a longer delay fires after 1 ms (M11).
    [['-p', '3', '-n', '2', '--duration', '2147484'], /--duration: at most 2147483 seconds/],
    [['-p', '3', '-n', '2', '--duration', '9'.repeat(400)], /--duration: at most 2147483 seconds/],
  ])('refuses %j', (app, message) => {
    const e = serverError(app);
    expect(e.message).toMatch(message);
    expect(e.code).toBe('EINVAL');
    expect(e.exitCode).toBe(EXIT.usage);
  });

  it("refuses app options without '--'", () => {
    expect(() => parseServerArgs(['-p', '3', '-n', '2'])).toThrow(/after '--'/);
  });

  it('refuses a bad EAL option as a usage error, before EAL starts', () => {
    for (const bad of [['--bogus'], ['--no-huge'], ['-l']]) {
      const e = (() => {
        try {
          parseServerArgs([...bad, '--', '-p', '3', '-n', '2']);
        } catch (err) {
          return err;
        }
        throw new Error(`accepted: ${bad.join(' ')}`);
      })();
      expect(e).toBeInstanceOf(UsageError);
      expect((e as UsageError).exitCode).toBe(EXIT.usage);
      expect((e as UsageError).message).toMatch(/EAL option '(--bogus|--no-huge|-l)'/);
    }
    expect(() => parseClientArgs(['--bogus', '--', '-n', '0'])).toThrow(UsageError);
  });
});

describe('client command line', () => {
  it("takes the C sample's -n and the long form", () => {
    const r = parseClientArgs(['--proc-type=secondary', '--', '-n', '3']);
    if (r.help) throw new Error('help');
    expect(r.options).toMatchObject({ clientId: 3, statsInterval: 0 });
    expect(r.ealArgs).toEqual(['--proc-type=secondary']);
    const l = parseClientArgs(['--', '--client-id=15']);
    if (l.help) throw new Error('help');
    expect(l.options.clientId).toBe(15);
  });

  it.each([
    [['-n', '16'], /client ids are 0-15/],
    [['-n', '300'], /client ids are 0-15/],
    [['-n', '-1'], /unexpected|decimal/],
    [['-n', '1x'], /decimal number/],
    [[], /-n\/--client-id is required/],
    [['-n', '1', '-p', '3'], /unknown option '-p'/],
  ])('refuses %j', (app, message) => {
    const e = clientError(app);
    expect(e.message).toMatch(message);
    expect(e.exitCode).toBe(EXIT.usage);
  });
});
