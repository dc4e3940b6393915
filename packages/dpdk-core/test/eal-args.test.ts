import { codeOf } from '@mp/test-kit';
import { applyEalDefaults, DEFAULT_BASE_VIRTADDR, DEFAULT_FILE_PREFIX, buildEalArgs, ealArgvOf, ealOptionValue, filePrefixOf, parseEalArgs, splitArgv, EAL_OPTIONS, checkDpdkVersion, lcoreIdsFromArgv } from '../src';

describe('buildEalArgs', () => {
  it('defaults to a primary with nothing else', () => {
    expect(buildEalArgs({})).toEqual(['--proc-type=primary']);
  });

  it('turns every option into EAL argv', () => {
    expect(
      buildEalArgs({
        cores: [0, 1],
        mainLcore: 1,
        processType: 'auto',
        filePrefix: 'demo',
        memoryMb: 128,
        noPci: true,
        vdevs: ['net_null0', 'net_ring0'],
        allow: ['0000:01:00.0'],
        block: ['0000:02:00.0'],
        logLevel: ['notice', 'pmd.net.*:debug'],
        baseVirtaddr: 0x7f0000000000n,
        mbufPoolOpsName: 'lf_stack',
        telemetry: false,
        extraArgs: ['--single-file-segments'],
      }),
    ).toEqual([
      '-l',
      '0,1',
      '--main-lcore=1',
      '--proc-type=auto',
      '--file-prefix=demo',
      '-m',
      '128',
      '--no-pci',
      '--vdev=net_null0',
      '--vdev=net_ring0',
      '-a',
      '0000:01:00.0',
      '-b',
      '0000:02:00.0',
      '--log-level=notice',
      '--log-level=pmd.net.*:debug',
      '--base-virtaddr=0x7f0000000000',
      '--mbuf-pool-ops-name=lf_stack',
      '--no-telemetry',
      '--single-file-segments',
    ]);
  });

  it('accepts a core list string, an lcore map and a hex base address', () => {
    expect(buildEalArgs({ cores: '0-1', processType: 'secondary', baseVirtaddr: '0x100000000' })).toEqual([
      '-l',
      '0-1',
      '--proc-type=secondary',
      '--base-virtaddr=0x100000000',
    ]);
    expect(buildEalArgs({ lcores: '5@(0-1)', logLevel: 7, telemetry: true })).toEqual([
      '--lcores=5@(0-1)',
      '--proc-type=primary',
      '--log-level=7',
      '--telemetry',
    ]);
  });

  it('allows single-process memory options only when no secondary will attach', () => {
    expect(
      buildEalArgs({ secondariesWillAttach: false, inMemory: true, noSharedConfig: true, hugeUnlink: true, noHuge: true }),
    ).toEqual(['--proc-type=primary', '--no-huge', '--in-memory', '--no-shconf', '--huge-unlink']);
    expect(codeOf(() => buildEalArgs({ inMemory: true }))).toBe('EINVAL');
    expect(codeOf(() => buildEalArgs({ noSharedConfig: true }))).toBe('EINVAL');
    expect(codeOf(() => buildEalArgs({ hugeUnlink: true }))).toBe('EINVAL');
    expect(codeOf(() => buildEalArgs({ noHuge: true }))).toBe('EINVAL');
  });

  it.each<[string, Record<string, unknown>]>([
    ['lcore id out of range', { cores: [128] }],
    ['negative lcore', { cores: [-1] }],
    ['empty core list', { cores: [] }],
    ['bad core string', { cores: '0;1' }],
    ['cores and lcores together', { cores: [0], lcores: '0@0' }],
    ['bad lcores map', { lcores: '0 @ 0' }],
    ['main lcore out of range', { mainLcore: 200 }],
    ['unknown process type', { processType: 'tertiary' }],
    ['prefix with a slash', { filePrefix: 'a/b' }],
    ['empty prefix', { filePrefix: '' }],
    ['zero memory', { memoryMb: 0 }],
    ['fractional memory', { memoryMb: 1.5 }],
    ['vdev with a space', { vdevs: ['net_null0, x'] }],
    ['bad log level', { logLevel: 'loud' }],
    ['bad base address', { baseVirtaddr: '7f00' }],
    ['unknown key', { cpus: [0] }],
    ['help in extra args', { extraArgs: ['--help'] }],
    ['unknown extra arg', { extraArgs: ['--turbo'] }],
  ])('rejects %s', (_label, config) => {
    expect(codeOf(() => buildEalArgs(config as never))).toBe('EINVAL');
  });

  it('names the field and the fix in the message', () => {
    expect(() => buildEalArgs({ filePrefix: 'a/b' })).toThrow(/filePrefix/);
    expect(() => buildEalArgs({ inMemory: true })).toThrow(/secondariesWillAttach/);
  });
});

describe('parseEalArgs', () => {
  it('parses separate, attached and = values like getopt_long', () => {
    expect(parseEalArgs(['-l', '0,1', '-m64', '--vdev', 'net_null0', '--file-prefix=x', '--no-pci', '--huge-unlink=never'], {
      secondariesWillAttach: false,
    })).toEqual([
      { name: '-l', value: '0,1' },
      { name: '-m', value: '64' },
      { name: '--vdev', value: 'net_null0' },
      { name: '--file-prefix', value: 'x' },
      { name: '--no-pci' },
      { name: '--huge-unlink', value: 'never' },
    ]);
  });

  it('keeps --huge-unlink=existing and =never for a group secondaries attach to: the files they map stay', () => {
    expect(parseEalArgs(['--huge-unlink=existing', '--huge-unlink=never'])).toEqual([
      { name: '--huge-unlink', value: 'existing' },
      { name: '--huge-unlink', value: 'never' },
    ]);
    expect(() => parseEalArgs(['--huge-unlink=always'])).toThrow(/secondaries cannot map them/);
  });

  it.each([
    [['--help'], /exit/],
    [['-h'], /exit/],
    [['-v'], /version/],
    [['--log-level=help'], /exit/],
    [['--log-level', 'help'], /'--log-level' does not take 'help': 'help' makes DPDK print and exit\(\) the whole process/],
    [['--file-prefix=..'], /'--file-prefix' does not take '\.\.': must not be "\." or "\.\."/],
    [['--file-prefix', 'a/b'], /'--file-prefix' does not take 'a\/b': use 1-64 letters/],
    [['-m', '1G'], /'-m' does not take '1G': give megabytes of hugepage memory as a number/],
    [['--in-memory'], /secondaries/],
    [['--no-shconf'], /secondaries/],
    [['--huge-unlink'], /secondaries/],
    [['--no-huge'], /secondaries/],
    [['--bogus'], /unknown EAL option '--bogus'/],
    [['-Z'], /unknown EAL option '-Z'/],
    [['stray'], /after '--'/],
    [['-l'], /needs a value/],
    [['--no-pci=1'], /takes no value/],
    [['--file-prefix='], /non-empty/],
    [['-m', 'lots'], /'-m' does not take 'lots': give megabytes of hugepage memory as a number, e\.g\. -m 64/],
  ])('rejects %j', (args, message) => {
    expect(() => parseEalArgs(args)).toThrow(message);
    expect(codeOf(() => parseEalArgs(args))).toBe('EINVAL');
  });

  it('knows the options DPDK 22.11 documents', () => {
    for (const o of ['-l', '--lcores', '--proc-type', '--file-prefix', '--vdev', '-a', '-b', '--base-virtaddr', '--main-lcore']) {
      expect(EAL_OPTIONS[o]).toBeDefined();
    }
  });
});

describe('parsed EAL options', () => {
  const opts = parseEalArgs(['--file-prefix', 'a', '-d', '/x.so', '--no-pci', '--log-level=warning', '--file-prefix=b', '--proc-type', 'auto'], { secondariesWillAttach: false });

  it('take the last value given, as DPDK does, and rte for no --file-prefix', () => {
    expect(ealOptionValue(opts, '--file-prefix')).toBe('b');
    expect(ealOptionValue(opts, '--vdev')).toBeUndefined();
    expect(filePrefixOf(opts)).toBe('b');
    expect(filePrefixOf(parseEalArgs(['-l', '0']))).toBe(DEFAULT_FILE_PREFIX);
  });

  it('go back to argv one token per long option, two per short one', () => {
    expect(ealArgvOf(opts)).toEqual(['--file-prefix=a', '-d', '/x.so', '--no-pci', '--log-level=warning', '--file-prefix=b', '--proc-type=auto']);
    expect(parseEalArgs(ealArgvOf(opts), { secondariesWillAttach: false })).toEqual(opts);
  });
});

describe('applyEalDefaults', () => {
  it('maps a primary\'s memory above V8\'s random range unless an address is given', () => {
    expect(applyEalDefaults(['-l', '0'])).toEqual(['-l', '0', `--base-virtaddr=${DEFAULT_BASE_VIRTADDR}`]);
    expect(applyEalDefaults(['--proc-type=auto'])).toEqual(['--proc-type=auto', `--base-virtaddr=${DEFAULT_BASE_VIRTADDR}`]);
    // The last --proc-type is the one DPDK takes.
    expect(applyEalDefaults(['--proc-type=secondary', '--proc-type=primary'])).toContain(`--base-virtaddr=${DEFAULT_BASE_VIRTADDR}`);
    expect(applyEalDefaults(['--proc-type', 'secondary'])).toEqual(['--proc-type', 'secondary']);
    expect(applyEalDefaults(['--base-virtaddr=0x100000000'])).toEqual(['--base-virtaddr=0x100000000']);
  });
});

describe('splitArgv', () => {
  it('splits at the first --', () => {
    expect(splitArgv(['-l', '0', '--', '-p', '3', '--', 'x'])).toEqual({ ealArgs: ['-l', '0'], appArgs: ['-p', '3', '--', 'x'] });
    expect(splitArgv(['-l', '0'])).toEqual({ ealArgs: ['-l', '0'], appArgs: [] });
  });
});

describe('checkDpdkVersion', () => {
  it('refuses a DPDK release other than the one the addon was built for, and accepts its point releases', () => {
    expect(() => checkDpdkVersion({ built: '22.11.11', loaded: '22.11.11' })).not.toThrow();
    expect(() => checkDpdkVersion({ built: '22.11.11', loaded: '22.11.4' })).not.toThrow();
    expect(() => checkDpdkVersion({ built: '22.11.11', loaded: '23.11.0' })).toThrow(/rebuild the addon: npm rebuild @mp\/dpdk-core/);
  });
});

describe('lcoreIdsFromArgv', () => {
  it('reads -l, -c, --lcores and --main-lcore from any process argv, up to the first --', () => {
    expect(lcoreIdsFromArgv(['mp_server', '-l', '0', '-n', '4', '--', '-p', '3'])).toEqual({ ids: [0], main: 0 });
    expect(lcoreIdsFromArgv(['x', '-l0-2,5'])).toEqual({ ids: [0, 1, 2, 5], main: 0 });
    expect(lcoreIdsFromArgv(['node', '/a/bin/mp-client', '--lcores=5@(0-1)', '--', '-l', '9'])).toEqual({ ids: [5], main: 5 });
    expect(lcoreIdsFromArgv(['x', '--lcores', '1@0,(2-3)@(0-1),4'])).toEqual({ ids: [1, 2, 3, 4], main: 1 });
    expect(lcoreIdsFromArgv(['x', '--lcores=(1,3-4)@(0,1),7@1'])).toEqual({ ids: [1, 3, 4, 7], main: 1 });
    expect(lcoreIdsFromArgv(['x', '-c', '0x6'])).toEqual({ ids: [1, 2], main: 1 });
    expect(lcoreIdsFromArgv(['x', '-c3', '--main-lcore=1'])).toEqual({ ids: [0, 1], main: 1 });
  });

  it('is null when the argv gives no lcore option or one that does not parse (EAL then uses one lcore per CPU)', () => {
    expect(lcoreIdsFromArgv(['dpdk-dumpcap', '-i', '0', '--file-prefix=x'])).toBeNull();
    expect(lcoreIdsFromArgv(['x', '-l', '3-1'])).toBeNull();
    expect(lcoreIdsFromArgv(['x', '-l', '200'])).toBeNull();
    expect(lcoreIdsFromArgv(['x', '-c', 'zz'])).toBeNull();
  });
});
