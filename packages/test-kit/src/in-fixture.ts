/**
 * Helpers for the fixture's side: the process a test spawns reads its role
 * and arguments, answers commands on stdin, and reports results and errors
 * as tagged JSON lines the test waits for.
 */
import readline from 'node:readline';

/**
 * Inside a fixture process: splits its argv, `[EAL args] -- ROLE [ARGS]`, into
 * the whole argv (for initEalFromArgv), the role and the role's arguments.
 */
export function fixtureArgs(argv: readonly string[] = process.argv.slice(2)): {
  argv: string[];
  role: string | undefined;
  roleArgs: string[];
} {
  const sep = argv.indexOf('--');
  return { argv: [...argv], role: argv[sep + 1], roleArgs: argv.slice(sep + 2) };
}

/**
 * Inside a fixture process: runs `handlers[cmd](args)` for each stdin line
 * `cmd args...` (unknown commands are ignored).
 */
export function onCommands(handlers: Record<string, (args: string[]) => unknown>): void {
  readline.createInterface({ input: process.stdin }).on('line', (line) => {
    const [cmd, ...args] = line.trim().split(/\s+/);
    const h = handlers[cmd ?? ''];
    if (h) void h(args);
  });
}

/** Inside a fixture process: prints `TAG {json}` (bigints as strings) for waitForJson. */
export function emit(tag: string, value: unknown): void {
  process.stdout.write(`${tag} ${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
}

/** What a fixture reports of a thrown error. */
export interface ErrorInfo {
  code?: string;
  errno?: number;
  op?: string;
  message: string;
  isDpdkError: boolean;
}

// By name: test-kit does not load the addon, and a fixture may hold more than one copy of the class.
function isDpdkError(e: unknown): e is Error & { code: string; errno: number; op: string } {
  return e instanceof Error && e.name === 'DpdkError' && typeof (e as { code?: unknown }).code === 'string';
}

/** A DpdkError's code, errno, op and message; any other error's text, marked as not a DpdkError. */
export function errorInfo(e: unknown): ErrorInfo {
  if (isDpdkError(e)) return { code: e.code, errno: e.errno, op: e.op, message: e.message, isDpdkError: true };
  return { message: String(e), isDpdkError: false };
}

/** The code of the DpdkError `f` throws: 'no error' if it returns, 'not a DpdkError: <error>' for any other error. */
export function codeOf(f: () => unknown): string {
  try {
    f();
    return 'no error';
  } catch (e) {
    return isDpdkError(e) ? e.code : `not a DpdkError: ${String(e)}`;
  }
}

/** What calling `f` came to: 'no error', a DpdkError's code, or another error's kind and message. */
export type Outcome = 'no error' | { code: string } | { kind: string; message: string };

export function outcomeOf(f: () => unknown): Outcome {
  try {
    f();
    return 'no error';
  } catch (e) {
    if (isDpdkError(e)) return { code: e.code };
    if (e instanceof Error) return { kind: e.constructor.name, message: e.message };
    return { kind: typeof e, message: String(e) };
  }
}

/**
 * Inside a fixture: runs labelled calls that are expected to throw and keeps,
 * per label, the error's info (or 'no error'), for one RESULT line.
 */
export function errorTable(): {
  results: Record<string, unknown>;
  attempt(label: string, f: () => unknown): void;
} {
  const results: Record<string, unknown> = {};
  return {
    results,
    attempt(label, f) {
      try {
        f();
        results[label] = 'no error';
      } catch (e) {
        results[label] = errorInfo(e);
      }
    },
  };
}
