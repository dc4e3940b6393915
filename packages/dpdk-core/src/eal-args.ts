/**
 * EAL configuration → EAL argv, and checks on raw EAL argv. Pure functions:
 * no EAL, no I/O, unit-tested on their own.
 */
import { z } from 'zod';
import { dpdkError } from './errors';

/** RTE_MAX_LCORE of Debian's DPDK 22.11 build. */
export const MAX_LCORE = 128;

const lcoreId = z.number().int().min(0).max(MAX_LCORE - 1);

/** A --file-prefix becomes part of file names under /var/run/dpdk and the hugepage mount. */
export const filePrefixSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'use 1-64 letters, digits, "_", "-" or "."')
  .refine((s) => s !== '.' && s !== '..', 'must not be "." or ".."');

const devArg = z
  .string()
  .min(1)
  .regex(/^[^\s]+$/, 'device arguments contain no whitespace');

const logLevel = z.union([
  z.number().int().min(1).max(8),
  z.enum(['emergency', 'alert', 'critical', 'error', 'warning', 'notice', 'info', 'debug']),
  z.string().regex(/^[A-Za-z0-9_.*]+:[A-Za-z0-9]+$/, 'use "<type-match>:<level>"'),
]);

export const ealConfigSchema = z
  .object({
    /** Core list for -l, e.g. [0, 1] or '0-1'. */
    cores: z.union([z.array(lcoreId).nonempty(), z.string().regex(/^[0-9,-]+$/)]).optional(),
    /** Lcore-to-CPU map for --lcores, e.g. '0@0,1@(0-1)' or '5@(0-1)'. */
    lcores: z
      .string()
      .regex(/^[0-9@(),-]+$/, 'use DPDK --lcores syntax, e.g. "0@0,1@(0-1)"')
      .optional(),
    mainLcore: lcoreId.optional(),
    processType: z.enum(['primary', 'secondary', 'auto']).default('primary'),
    filePrefix: filePrefixSchema.optional(),
    /** Hugepage memory to preallocate, in MiB (-m). */
    memoryMb: z.number().int().min(1).max(1024 * 1024).optional(),
    noPci: z.boolean().default(false),
    noHuge: z.boolean().default(false),
    vdevs: z.array(devArg).default([]),
    allow: z.array(devArg).default([]),
    block: z.array(devArg).default([]),
    logLevel: z.union([logLevel, z.array(logLevel)]).optional(),
    /** --base-virtaddr: where to map shared memory so every process can map it at the same address. */
    baseVirtaddr: z
      .union([z.bigint().min(0n), z.string().regex(/^0x[0-9a-fA-F]+$/, 'use a hex address like "0x7f0000000000"')])
      .optional(),
    mbufPoolOpsName: z.string().min(1).max(31).optional(),
    telemetry: z.boolean().optional(),
    inMemory: z.boolean().default(false),
    noSharedConfig: z.boolean().default(false),
    hugeUnlink: z.boolean().default(false),
    /**
     * Whether other processes will attach to this one's shared memory (true
     * unless told otherwise: multi-process is what this project is for).
     */
    secondariesWillAttach: z.boolean().default(true),
    /** Raw EAL arguments appended after the generated ones, checked like any raw argv. */
    extraArgs: z.array(z.string()).default([]),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.cores !== undefined && c.lcores !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'give either cores (-l) or lcores (--lcores), not both' });
    }
    if (c.noHuge && c.secondariesWillAttach) {
      ctx.addIssue({
        code: 'custom',
        message: 'noHuge gives no shared memory, so secondaries cannot attach; set secondariesWillAttach: false',
      });
    }
  });

export type EalConfig = z.input<typeof ealConfigSchema>;

interface OptionSpec {
  /** 'required': takes a value; 'optional': only as --opt=value; 'none': a flag. */
  arg: 'required' | 'optional' | 'none';
  /** Why we refuse it before it reaches C, if we do. */
  refuse?: string;
  /** Refused only when secondaries will attach (unless its value is one of `sharedValues`). */
  refuseShared?: string;
  sharedValues?: readonly string[];
  /** The values DPDK reads as meant (others it takes silently as something else, or exits on); the message says what to give instead. */
  value?: z.ZodType<string>;
}

const EXITS = 'makes DPDK print and exit() the whole process';

/** Every EAL option of DPDK 22.11 (lib/eal/common/eal_common_options.c). */
export const EAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  '-c': { arg: 'required' },
  '-l': { arg: 'required' },
  '--lcores': { arg: 'required' },
  '-s': { arg: 'required' },
  '-S': { arg: 'required' },
  '--main-lcore': { arg: 'required' },
  '--mbuf-pool-ops-name': { arg: 'required' },
  '-n': { arg: 'required' },
  // DPDK 22.11 reads -m with atoi(): "lots" is 0 (no -m at all), "1G" is 1 MB.
  '-m': { arg: 'required', value: z.string().regex(/^\d+$/, 'give megabytes of hugepage memory as a number, e.g. -m 64') },
  '-r': { arg: 'required' },
  '-b': { arg: 'required' },
  '--block': { arg: 'required' },
  '-a': { arg: 'required' },
  '--allow': { arg: 'required' },
  '--vdev': { arg: 'required' },
  '--iova-mode': { arg: 'required' },
  '-d': { arg: 'required' },
  '--vmware-tsc-map': { arg: 'none' },
  '--proc-type': { arg: 'required' },
  '--syslog': { arg: 'required' },
  '--log-level': { arg: 'required', value: z.string().refine((v) => v !== 'help', `'help' ${EXITS}; pass a level such as --log-level=notice`) },
  '--trace': { arg: 'required' },
  '--trace-dir': { arg: 'required' },
  '--trace-bufsz': { arg: 'required' },
  '--trace-mode': { arg: 'required' },
  '-v': { arg: 'none', refuse: 'prints the version from inside DPDK; read dpdkVersion() instead' },
  '-h': { arg: 'none', refuse: EXITS },
  '--help': { arg: 'none', refuse: EXITS },
  '--in-memory': { arg: 'none', refuseShared: 'keeps no shared config, so secondaries cannot attach' },
  '--base-virtaddr': { arg: 'required' },
  '--telemetry': { arg: 'none' },
  '--no-telemetry': { arg: 'none' },
  '--force-max-simd-bitwidth': { arg: 'required' },
  // =existing clears old files and =never keeps them: the files a secondary maps stay either way.
  '--huge-unlink': { arg: 'optional', refuseShared: 'unlinks hugepage files, so secondaries cannot map them (=existing or =never keep them)', sharedValues: ['existing', 'never'] },
  '--no-huge': { arg: 'none', refuseShared: 'uses private memory, so secondaries cannot attach' },
  '--no-pci': { arg: 'none' },
  '--no-hpet': { arg: 'none' },
  '--no-shconf': { arg: 'none', refuseShared: 'keeps no shared config, so secondaries cannot attach' },
  '--socket-mem': { arg: 'required' },
  '--socket-limit': { arg: 'required' },
  '--huge-dir': { arg: 'required' },
  // Also a directory name under /var/run/dpdk that the primary's cleanup empties: ".." would be /var/run itself.
  '--file-prefix': { arg: 'required', value: filePrefixSchema },
  '--create-uio-dev': { arg: 'none' },
  '--vfio-intr': { arg: 'required' },
  '--vfio-vf-token': { arg: 'required' },
  '--legacy-mem': { arg: 'none' },
  '--single-file-segments': { arg: 'none' },
  '--match-allocations': { arg: 'none' },
  '--huge-worker-stack': { arg: 'optional' },
};

export interface ParsedEalOption {
  name: string;
  value?: string;
}

/** DPDK's --file-prefix when none is given. */
export const DEFAULT_FILE_PREFIX = 'rte';

/** The value of EAL option `name` as DPDK takes it: the last one given; undefined when it is not. */
export function ealOptionValue(opts: readonly ParsedEalOption[], name: string): string | undefined {
  for (let i = opts.length - 1; i >= 0; i--) if (opts[i]?.name === name) return opts[i]?.value;
  return undefined;
}

/** The --file-prefix EAL runs under. */
export function filePrefixOf(opts: readonly ParsedEalOption[]): string {
  return ealOptionValue(opts, '--file-prefix') ?? DEFAULT_FILE_PREFIX;
}

/** Parsed options as argv again: `--name=value`, `-x value`, or the flag alone. */
export function ealArgvOf(opts: readonly ParsedEalOption[]): string[] {
  return opts.flatMap((o) => (o.value === undefined ? [o.name] : o.name.startsWith('--') ? [`${o.name}=${o.value}`] : [o.name, o.value]));
}

/**
 * Parses raw EAL arguments the way DPDK's getopt_long does (`-l 0,1`, `-l0,1`,
 * `--vdev x`, `--vdev=x`), refusing what would exit() or break multi-process
 * before DPDK sees it. Throws DpdkError 'EINVAL' naming the argument.
 */
export function parseEalArgs(args: readonly string[], opts: { secondariesWillAttach?: boolean } = {}): ParsedEalOption[] {
  const shared = opts.secondariesWillAttach ?? true;
  const out: ParsedEalOption[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq < 0 ? arg : arg.slice(0, eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
    } else if (/^-[A-Za-z]/.test(arg)) {
      name = arg.slice(0, 2);
      inline = arg.length > 2 ? arg.slice(2) : undefined;
    } else {
      throw dpdkError('EINVAL', 'initEal', `unexpected EAL argument '${arg}'; application arguments go after '--'`);
    }
    const spec = EAL_OPTIONS[name];
    if (spec === undefined) {
      throw dpdkError('EINVAL', 'initEal', `unknown EAL option '${name}'; see DPDK's EAL parameters (linux_eal_parameters)`);
    }
    if (spec.refuse !== undefined) {
      throw dpdkError('EINVAL', 'initEal', `EAL option '${name}' is refused: it ${spec.refuse}`);
    }
    if (spec.refuseShared !== undefined && shared && !(inline !== undefined && spec.sharedValues?.includes(inline))) {
      throw dpdkError(
        'EINVAL',
        'initEal',
        `EAL option '${name}' ${spec.refuseShared}; drop it, or declare secondariesWillAttach: false`,
      );
    }
    let value: string | undefined;
    if (spec.arg === 'none') {
      if (inline !== undefined) {
        throw dpdkError('EINVAL', 'initEal', `EAL option '${name}' takes no value (got '${arg}')`);
      }
    } else if (spec.arg === 'optional') {
      value = inline;
    } else if (inline !== undefined) {
      value = inline;
    } else {
      const next = args[i + 1];
      if (next === undefined) {
        throw dpdkError('EINVAL', 'initEal', `EAL option '${name}' needs a value`);
      }
      value = next;
      i++;
    }
    if (value === '') {
      throw dpdkError('EINVAL', 'initEal', `EAL option '${name}' needs a non-empty value`);
    }
    const checked = value === undefined ? undefined : spec.value?.safeParse(value);
    if (checked !== undefined && !checked.success) {
      throw dpdkError('EINVAL', 'initEal', `EAL option '${name}' does not take '${value}': ${checked.error.issues[0]?.message ?? 'not a valid value'}`);
    }
    out.push(value === undefined ? { name } : { name, value });
  }
  return out;
}

/**
 * Where a primary maps shared memory unless told otherwise. Secondaries must
 * map it at the same addresses, and DPDK's default (just above 4 GiB) lies in
 * the range where V8 places its own reservations at random (below 2^46), so a
 * Node secondary could find the range taken and fail to attach. Above 2^46 and
 * far below the mmap base near 2^47, nothing in a Node process lives.
 */
export const DEFAULT_BASE_VIRTADDR = '0x600000000000';

/**
 * Adds the defaults this project relies on to raw EAL args: a primary (or an
 * `auto` process that may become one) without --base-virtaddr gets
 * DEFAULT_BASE_VIRTADDR.
 */
export function applyEalDefaults(args: readonly string[]): string[] {
  const opts = parseEalArgs(args, { secondariesWillAttach: false });
  const type = ealOptionValue(opts, '--proc-type') ?? 'primary';
  const hasBase = opts.some((o) => o.name === '--base-virtaddr');
  return type === 'secondary' || hasBase ? [...args] : [...args, `--base-virtaddr=${DEFAULT_BASE_VIRTADDR}`];
}

/** Splits DPDK-style argv, `[EAL args] -- [app args]`, at the first `--`. */
export function splitArgv(argv: readonly string[]): { ealArgs: string[]; appArgs: string[] } {
  const sep = argv.indexOf('--');
  return sep < 0
    ? { ealArgs: [...argv], appArgs: [] }
    : { ealArgs: argv.slice(0, sep), appArgs: argv.slice(sep + 1) };
}

/** The EAL argv (without argv[0]) for a config. Validates with zod. */
export function buildEalArgs(input: EalConfig): string[] {
  const parsed = ealConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw dpdkError('EINVAL', 'initEal', `invalid EAL config: ${where}${issue?.message ?? 'invalid'}`);
  }
  const c = parsed.data;
  const args: string[] = [];
  if (c.cores !== undefined) args.push('-l', Array.isArray(c.cores) ? c.cores.join(',') : c.cores);
  if (c.lcores !== undefined) args.push(`--lcores=${c.lcores}`);
  if (c.mainLcore !== undefined) args.push(`--main-lcore=${c.mainLcore}`);
  args.push(`--proc-type=${c.processType}`);
  if (c.filePrefix !== undefined) args.push(`--file-prefix=${c.filePrefix}`);
  if (c.memoryMb !== undefined) args.push('-m', String(c.memoryMb));
  if (c.noPci) args.push('--no-pci');
  if (c.noHuge) args.push('--no-huge');
  for (const v of c.vdevs) args.push(`--vdev=${v}`);
  for (const a of c.allow) args.push('-a', a);
  for (const b of c.block) args.push('-b', b);
  const levels = c.logLevel === undefined ? [] : Array.isArray(c.logLevel) ? c.logLevel : [c.logLevel];
  for (const l of levels) args.push(`--log-level=${l}`);
  if (c.baseVirtaddr !== undefined) {
    const addr = typeof c.baseVirtaddr === 'bigint' ? `0x${c.baseVirtaddr.toString(16)}` : c.baseVirtaddr;
    args.push(`--base-virtaddr=${addr}`);
  }
  if (c.mbufPoolOpsName !== undefined) args.push(`--mbuf-pool-ops-name=${c.mbufPoolOpsName}`);
  if (c.telemetry !== undefined) args.push(c.telemetry ? '--telemetry' : '--no-telemetry');
  if (c.inMemory) args.push('--in-memory');
  if (c.noSharedConfig) args.push('--no-shconf');
  if (c.hugeUnlink) args.push('--huge-unlink');
  args.push(...c.extraArgs);
  parseEalArgs(args, { secondariesWillAttach: c.secondariesWillAttach });
  return args;
}

/** "1-3" -> [1, 2, 3]; "5" -> [5]; null if not a number or an ascending range. */
function idRange(text: string): number[] | null {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  if (!m) return null;
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  if (to < from || to >= MAX_LCORE) return null;
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** -l's list, "0,2-3". */
function corelistIds(list: string): number[] | null {
  const ids = list.split(',').map(idRange);
  return ids.every((r) => r !== null) ? ids.flat() : null;
}

/** --lcores' map, "1@0,(2-3)@(0-1),4": the ids left of each '@'. */
function lcoresMapIds(map: string): number[] | null {
  const ids: number[] = [];
  for (const element of map.match(/(\([^)]*\)|[^,(])+/g) ?? []) {
    const left = (element.split(/@(?![^(]*\))/)[0] ?? '').replace(/^\((.*)\)$/, '$1');
    const parsed = corelistIds(left);
    if (parsed === null) return null;
    ids.push(...parsed);
  }
  return ids.length > 0 ? ids : null;
}

/** -c's hexadecimal mask. */
function coremaskIds(mask: string): number[] | null {
  if (!/^(0x)?[0-9a-f]+$/i.test(mask)) return null;
  const bits = BigInt(mask.startsWith('0x') || mask.startsWith('0X') ? mask : `0x${mask}`);
  const ids: number[] = [];
  for (let id = 0; id < MAX_LCORE; id++) if ((bits >> BigInt(id)) & 1n) ids.push(id);
  return ids.length > 0 ? ids : null;
}

/**
 * The lcore ids a process runs as, read from the EAL options in its argv
 * (-l, -c, --lcores, --main-lcore), or null when it gives none or they do not
 * parse (then EAL gives it one lcore per CPU, id = CPU number, the first one
 * main). Only options before the first `--` count and anything else is
 * skipped, so any DPDK process's command line will do: a Node
 * `node bin/mp-client --lcores=5@(0-1) ...` as well as a C program's.
 */
export function lcoreIdsFromArgv(argv: readonly string[]): { ids: number[]; main: number } | null {
  let ids: number[] | null = null;
  let main: number | undefined;
  const end = argv.indexOf('--');
  const args = end < 0 ? argv : argv.slice(0, end);
  for (let i = 0; i < args.length; i++) {
    const m = /^(-l|-c|--lcores|--main-lcore)(?:=?(.+))?$/.exec(args[i] as string);
    if (!m) continue;
    const value = m[2] ?? args[++i] ?? '';
    if (m[1] === '-l') ids = corelistIds(value);
    else if (m[1] === '-c') ids = coremaskIds(value);
    else if (m[1] === '--lcores') ids = lcoresMapIds(value);
    else main = Number(value);
  }
  if (ids === null) return null;
  const unique = [...new Set(ids)].sort((a, b) => a - b);
  return { ids: unique, main: main !== undefined && unique.includes(main) ? main : (unique[0] as number) };
}
