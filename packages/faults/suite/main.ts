/**
 * `pnpm faults`: runs every fault of the suite (or those --only selects),
 * prints the table and writes RELIABILITY.md at the repository root.
 * Bounded in time: repeated faults inject --rounds times each, and stop
 * early once their share of --seconds (an equal share of what is left) has gone.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { EXIT } from '@mp/dpdk-core/cli';
import { assertCleanTeardown, requireHugepages } from '@mp/test-kit';
import { commandLineFaults } from './cmdlines';
import { clientServerFaults } from './cs-faults';
import { row, seeded, type Fault, type FaultRow } from './fault';
import { ROOT } from './groups';
import { masterSlaveFaults } from './ms-faults';
import { problems, reliabilityMarkdown, terminalTable } from './report';

const USAGE = `usage: pnpm faults [--seconds S] [--rounds N] [--only REGEX] [--seed N] [--report FILE|none] [--json]
  --seconds S     the run's budget: each fault gets an equal share of what is left, and a
                  repeated fault stops injecting when its share runs out (default 600)
  --rounds N      injections of each repeated fault: random kills, stops (default 20)
  --only REGEX    only the faults whose "app: fault" matches
  --seed N        seed of the random moments (default: the time)
  --report FILE   where to write the report (default RELIABILITY.md at the root; none: do not write)
  --json          also print the rows as one line "FAULTS [...]" (for the tests)`;

const positive = (what: string, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `${what} is a whole number`)
    .transform(Number)
    .pipe(z.number().min(1, `${what} is at least 1`).max(max, `${what} is at most ${max}`));

const optionsSchema = z.object({
  seconds: positive('--seconds', 86_400).default(600),
  rounds: positive('--rounds', 100_000).default(20),
  only: z
    .string()
    .refine((s) => {
      try {
        new RegExp(s);
        return true;
      } catch {
        return false;
      }
    }, '--only takes a regular expression, e.g. --only "client-server: client"')
    .optional(),
  seed: z.string().regex(/^\d+$/, '--seed is a whole number').transform(Number).optional(),
  report: z.string().default(path.join(ROOT, 'RELIABILITY.md')),
  json: z.boolean().default(false),
  help: z.boolean().default(false),
});

function parse(argv: string[]): z.infer<typeof optionsSchema> {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: 'string' },
      rounds: { type: 'string' },
      only: { type: 'string' },
      seed: { type: 'string' },
      report: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  const r = optionsSchema.safeParse(values);
  if (!r.success) throw new Error(r.error.issues.map((i) => i.message).join('; '));
  return r.data;
}

/**
 * The report's "## Long runs" part, kept as it is when the report is written
 * again: long runs of a few faults (e.g. 1000 kills) take an hour, and a
 * run of the whole suite should not erase their tables.
 */
const LONG_RUNS = '\n## Long runs\n';
function longRunsOf(report: string): string {
  const text = fs.existsSync(report) ? fs.readFileSync(report, 'utf8') : '';
  const at = text.indexOf(LONG_RUNS);
  return at < 0 ? '' : text.slice(at);
}

async function main(argv: string[]): Promise<number> {
  let opts: z.infer<typeof optionsSchema>;
  try {
    opts = parse(argv);
  } catch (e) {
    process.stderr.write(`faults: ${(e as Error).message}\n${USAGE}\n`);
    return EXIT.usage;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  requireHugepages();
  const only = opts.only === undefined ? null : new RegExp(opts.only);
  const all: Fault[] = [...clientServerFaults, ...masterSlaveFaults, ...commandLineFaults];
  const chosen = all.filter((f) => only === null || only.test(`${f.app}: ${f.name}`));
  const seed = opts.seed ?? Date.now() % 1_000_000;
  const random = seeded(seed);
  const startedAt = new Date();
  const rows: FaultRow[] = [];
  let left = chosen.length;
  for (const f of chosen) {
    // Each fault's share of what is left of the time, so one slow fault does not starve the rest.
    const remaining = startedAt.getTime() + opts.seconds * 1000 - Date.now();
    const deadline = Date.now() + Math.max(0, remaining / left);
    left--;
    process.stdout.write(`fault: ${f.app}: ${f.name} ...\n`);
    let r: FaultRow;
    try {
      r = await f.run({ rounds: opts.rounds, deadline, random });
    } catch (e) {
      r = row(f.app, f.name, { notes: [`the suite failed running it: ${(e as Error).message}`] });
      // Whatever the fault left running is stopped (by PID) and what its prefixes left is removed, so the next fault starts clean.
      await assertCleanTeardown().catch((left: Error) => r.notes.push(left.message));
    }
    rows.push(r);
    process.stdout.write(`  ${r.injected} injected, ${r.recovered} recovered${problems(r).length > 0 ? `; ${problems(r).join(', ')}` : ''}\n`);
  }
  let leftBehind = '';
  await assertCleanTeardown().catch((e: Error) => {
    leftBehind = e.message;
  });
  const seconds = Math.round((Date.now() - startedAt.getTime()) / 1000);
  const command = `pnpm faults --seconds ${opts.seconds} --rounds ${opts.rounds}${opts.only === undefined ? '' : ` --only '${opts.only}'`} --seed ${seed}`;
  process.stdout.write(`\n${terminalTable(rows)}\n\nseed ${seed}, ${seconds} s\n`);
  for (const r of rows) for (const n of r.notes) process.stdout.write(`  ${r.app}, ${r.fault}: ${n}\n`);
  if (leftBehind !== '') process.stdout.write(`LEFT BEHIND: ${leftBehind}\n`);
  if (opts.report !== 'none') {
    fs.writeFileSync(opts.report, reliabilityMarkdown(rows, command, startedAt, seconds) + longRunsOf(opts.report));
    process.stdout.write(`wrote ${path.relative(process.cwd(), opts.report) || opts.report}\n`);
  }
  if (opts.json) process.stdout.write(`FAULTS ${JSON.stringify({ rows, leftBehind })}\n`);
  return rows.some((r) => problems(r).length > 0) || leftBehind !== '' ? EXIT.failure : 0;
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
