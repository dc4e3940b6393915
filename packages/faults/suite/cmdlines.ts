/**
 * The table of bad command lines of mp-server, mp-client, mp-l2fwd and
 * dpdk-mp: each must exit by itself with a clear error naming the fix
 * (judge.ts), leave no runtime directory or hugepage file behind, and
 * disturb no running group (mp-client's are run beside a live group).
 */
import { ealArgs, leftovers, uniquePrefix } from '@mp/test-kit';
import { row, type Fault, type FaultRow } from './fault';
import { BIN, CsGroup, NULL_PORTS, node } from './groups';
import { judgeExit } from './judge';

interface Case {
  what: string;
  args: (ctx: { prefix: string; live: CsGroup | null }) => string[];
}

const nullVdevs = NULL_PORTS.map((v) => `--vdev=${v}`);
const server = (app: string[], eal: string[] = ['-l', '0', ...nullVdevs]): Case['args'] => ({ prefix }) => [...ealArgs(prefix, eal), '--', ...app];
const serverCases: Case[] = [
  { what: 'no options', args: () => [] },
  { what: 'no -p', args: server(['-n', '2']) },
  { what: '-p with no value', args: server(['-n', '2', '-p']) },
  { what: '-n 0', args: server(['-p', '3', '-n', '0']) },
  { what: '-n 17', args: server(['-p', '3', '-n', '17']) },
  { what: '-n two', args: server(['-p', '3', '-n', 'two']) },
  { what: 'odd number of ports', args: server(['-p', '1', '-n', '2']) },
  { what: 'empty port mask', args: server(['-p', '0', '-n', '2']) },
  { what: 'port mask not hexadecimal', args: server(['-p', 'zz', '-n', '2']) },
  { what: 'ports that do not exist', args: server(['-p', 'c', '-n', '2']) },
  { what: '--stats-format xml', args: server(['-p', '3', '-n', '2', '--stats-format', 'xml']) },
  { what: '--stats-interval -1', args: server(['-p', '3', '-n', '2', '--stats-interval', '-1']) },
  { what: '--duration 0', args: server(['-p', '3', '-n', '2', '--duration', '0']) },
  { what: '--duration beyond a timer (M11)', args: server(['-p', '3', '-n', '2', '--duration', '99999999']) },
  { what: '--distribute random', args: server(['-p', '3', '-n', '2', '--distribute', 'random']) },
  { what: '--metrics-port 70000', args: server(['-p', '3', '-n', '2', '--metrics-port', '70000']) },
  { what: '--metrics-host without --metrics-port', args: server(['-p', '3', '-n', '2', '--metrics-host', '0.0.0.0']) },
  { what: 'unknown option', args: server(['-p', '3', '-n', '2', '--frobnicate']) },
  { what: 'stray argument', args: server(['-p', '3', '-n', '2', 'extra']) },
  { what: 'as a secondary', args: server(['-p', '3', '-n', '2'], ['-l', '0', '--proc-type=secondary', ...nullVdevs]) },
  { what: 'EAL: lcore 999', args: server(['-p', '3', '-n', '2'], ['-l', '999', ...nullVdevs]) },
  { what: 'EAL: unknown driver', args: server(['-p', '3', '-n', '2'], ['-l', '0', '--vdev=net_bogus0']) },
  { what: 'EAL: -m not a number', args: ({ prefix }) => [`--file-prefix=${prefix}`, '--no-pci', '-m', 'lots', '-l', '0', ...nullVdevs, '--', '-p', '3', '-n', '2'] },
  { what: 'EAL: unknown EAL option', args: server(['-p', '3', '-n', '2'], ['-l', '0', '--frobnicate', ...nullVdevs]) },
];

/** mp-client beside a live group (2 client slots; client 0 runs on lcore 2, the server on lcore 0). */
const client = (app: string[], lcore = 11): Case['args'] => ({ live }) => [...(live as CsGroup).clientEal(lcore), '--', ...app];
const clientCases: Case[] = [
  { what: 'no -n', args: client([]) },
  { what: '-n 16', args: client(['-n', '16']) },
  { what: '-n -1', args: client(['-n', '-1']) },
  { what: '-n x', args: client(['-n', 'x']) },
  { what: 'id beyond the server\'s clients', args: client(['-n', '5']) },
  { what: "the server's lcore (H2)", args: client(['-n', '1'], 0) },
  { what: "a live client's lcore", args: client(['-n', '1'], 2) },
  { what: '--stats-interval x', args: client(['-n', '1', '--stats-interval', 'x']) },
  { what: '--stats-format yaml', args: client(['-n', '1', '--stats-format', 'yaml']) },
  { what: 'unknown option', args: client(['-n', '1', '--frobnicate']) },
  { what: 'stray argument', args: client(['-n', '1', 'extra']) },
  {
    what: 'as a primary',
    args: ({ live }) => [...(live as CsGroup).clientEal(11).filter((a) => !a.startsWith('--proc-type')), '--proc-type=primary', '--', '-n', '1'],
  },
  { what: 'no server on the prefix', args: ({ prefix }) => [`--file-prefix=${prefix}`, '--no-pci', '--lcores=11@1', '--proc-type=secondary', '--', '-n', '0'] },
];

const l2fwd = (app: string[], eal: string[] = ['-l', '0', ...nullVdevs]): Case['args'] => ({ prefix }) => [...ealArgs(prefix, eal), '--', ...app];
const l2fwdCases: Case[] = [
  { what: 'no options', args: () => [] },
  { what: 'no -p', args: l2fwd(['-q', '1']) },
  { what: '-p with no value', args: l2fwd(['-p']) },
  { what: '-p 0', args: l2fwd(['-p', '0']) },
  { what: '-p xyz', args: l2fwd(['-p', 'xyz']) },
  { what: '-q 0', args: l2fwd(['-p', '3', '-q', '0']) },
  { what: '-q 17', args: l2fwd(['-p', '3', '-q', '17']) },
  { what: '-q 1.5', args: l2fwd(['-p', '3', '-q', '1.5']) },
  { what: '-T 86400', args: l2fwd(['-p', '3', '-T', '86400']) },
  { what: '-T -1', args: l2fwd(['-p', '3', '-T', '-1']) },
  { what: 'unknown option -s', args: l2fwd(['-p', '3', '-s', '1']) },
  { what: '--metrics-port 0', args: l2fwd(['-p', '3', '--metrics-port', '0']) },
  { what: '--metrics-host without --metrics-port', args: l2fwd(['-p', '3', '--metrics-host', '127.0.0.1']) },
  { what: 'too few lcores for the slaves', args: l2fwd(['-p', '3']) },
  { what: 'ports that do not exist', args: l2fwd(['-p', 'c', '--float']) },
  { what: 'EAL: lcore 999', args: l2fwd(['-p', '3', '--float'], ['-l', '999', ...nullVdevs]) },
  { what: 'EAL: unknown driver', args: l2fwd(['-p', '3', '--float'], ['-l', '0', '--vdev=net_bogus0']) },
];

const tool = (args: string[]): Case['args'] => () => args;
const dpdkMpCases: Case[] = [
  { what: 'no command', args: tool([]) },
  { what: 'unknown command', args: tool(['frobnicate']) },
  { what: 'unknown option', args: tool(['status', '--verbose']) },
  { what: '--file-prefix with no value', args: tool(['status', '--file-prefix']) },
  { what: '--file-prefix a/b', args: tool(['status', '--file-prefix', 'a/b']) },
  { what: '--interval 10', args: tool(['status', '--file-prefix', 'x', '--interval', '10']) },
  { what: '--interval soon', args: tool(['status', '--interval', 'soon']) },
  { what: 'clean with nothing to clean', args: tool(['clean']) },
  { what: 'clean with both selections', args: tool(['clean', '--file-prefix', 'x', '--all-dead']) },
  { what: 'doctor with an argument', args: tool(['doctor', 'now']) },
];

function table(program: string, bin: string, cases: Case[], withGroup: boolean): Fault {
  return {
    app: program,
    name: 'bad command lines',
    async run() {
      const r: FaultRow = row(program, 'bad command lines');
      const live = withGroup ? new CsGroup('f-cmdlive') : null;
      await live?.ready();
      live?.startClient(0);
      if (live && !(await live.forwarding(0))) r.notes.push('the live group never forwarded');
      const unclear: string[] = [];
      for (const c of cases) {
        const prefix = uniquePrefix('f-cmd');
        const verdict = await judgeExit(node(`${program} (${c.what})`, bin, c.args({ prefix, live })));
        const left = leftovers(prefix);
        r.injected++;
        if (!verdict.clear) unclear.push(`${c.what}: ${verdict.summary}`);
        else if (left.length > 0) unclear.push(`${c.what}: left ${left.join(', ')}`);
        else r.recovered++;
        if (!verdict.clear) r.unclear++;
      }
      if (live) {
        const undisturbed = live.server.exitStatus === undefined && (await live.forwarding(0));
        if (!undisturbed) r.notes.push('the live group was disturbed');
        const end = await live.stop();
        r.leaked = end.audit?.lost ?? null;
        r.freedTwice = end.audit?.twice ?? null;
      }
      r.notes.push(`${r.recovered} of ${r.injected} refused clearly with nothing left behind${unclear.length > 0 ? `; not: ${unclear.join('; ')}` : ''}`);
      return r;
    },
  };
}

export const commandLineFaults: Fault[] = [
  table('mp-server', BIN.server, serverCases, false),
  table('mp-client', BIN.client, clientCases, true),
  table('mp-l2fwd', BIN.l2fwd, l2fwdCases, false),
  table('dpdk-mp', BIN.dpdkMp, dpdkMpCases, false),
];
