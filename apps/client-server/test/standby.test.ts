/**
 * Warm standbys (`mp-client --standby`, ClientStandby): the active client is
 * SIGKILLed under traffic, the standby takes over once the server has
 * repaired the slot, and forwarding goes on; with two CPU hogs beside it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { assertCleanTeardown, requireHugepages, uniquePrefix } from '@mp/test-kit';
import { ClientStandby } from '../src/client-standby';
import { clientEal, forwarding, poolAudit, serverEal, statsUntil, tsClient, tsServer } from './helpers';

const TAKEOVERS = 3;
const hogs: ChildProcess[] = [];

beforeAll(() => {
  requireHugepages();
  // Two busy loops beside the suite: the takeover must not depend on an idle machine.
  for (let i = 0; i < 2; i++) hogs.push(spawn('sh', ['-c', 'exec yes > /dev/null'], { stdio: 'ignore' }));
});

afterAll(async () => {
  await Promise.all(
    hogs.map((h) => {
      const gone = new Promise((resolve) => h.once('exit', resolve));
      h.kill('SIGKILL');
      return gone;
    }),
  );
  await assertCleanTeardown();
});

it(`a standby takes over a SIGKILLed client under traffic, ${TAKEOVERS} times; nothing lost beyond what the repairs report`, async () => {
  const prefix = uniquePrefix('cs-standby');
  const server = tsServer('server', [...serverEal(prefix, ['net_null0', 'net_null1']), '--', '-p', '3', '-n', '2', '--stats-interval', '0.1', '--stats-format', 'json']);
  await server.waitForLine(/Finished Process Init/);
  const steady = tsClient('client1', [...clientEal(prefix, 3), '--', '-n', '1', '--stats-interval', '0.1']);
  const first = tsClient('client0', [...clientEal(prefix, 2), '--', '-n', '0', '--stats-interval', '0.1']);
  await Promise.all([forwarding(steady, 60_000), forwarding(first, 60_000)]);
  const tx0 = (s: { clients: Array<{ id: number; tx: number }> }): number => s.clients.find((c) => c.id === 0)?.tx ?? 0;

  let kill: () => Promise<void> = async () => {
    first.kill('SIGKILL');
    await first.waitForExit();
  };
  const standbys: ClientStandby[] = [];
  for (let k = 0; k < TAKEOVERS; k++) {
    // The standby waits on the active client's lcore id, as a restart would use it.
    const standby = new ClientStandby({ clientId: 0, eal: clientEal(prefix, 2) });
    standbys.push(standby);
    await standby.ready;
    const before = tx0(await statsUntil(server, (s) => tx0(s) > 0, 60_000));
    await kill();
    await standby.promoted;
    await statsUntil(server, (s) => tx0(s) > before, 60_000);
    kill = async () => {
      await standby.stop('SIGKILL');
    };
  }
  // One more standing by at shutdown: the server waits for it too, and it detaches cleanly.
  const idle = new ClientStandby({ clientId: 0, eal: clientEal(prefix, 2) });
  await idle.ready;
  await forwarding(steady, 60_000);

  server.kill('SIGINT');
  const last = standbys[standbys.length - 1] as ClientStandby;
  const [s, c1, active, waiting] = await Promise.all([server.waitForExit(30_000), steady.waitForExit(30_000), last.exited, idle.exited]);
  expect({ codes: [s.code, c1.code, active.code, waiting.code], err: server.stderrLines.filter((l) => !l.startsWith('TELEMETRY:')) }).toEqual({
    codes: [0, 0, 0, 0],
    err: [],
  });
  const repairs = server.stdoutLines.filter((l) => /^client 0 .* died; pool repair: /.test(l));
  expect(repairs).toHaveLength(TAKEOVERS);
  // As after any kill: a flush under way (at most a TX burst) and the cached buffers the repair could not prove stored.
  const discarded = repairs.reduce((n, l) => n + Number(/, (\d+) discarded\)/.exec(l)?.[1]), 0);
  const audit = poolAudit(server);
  expect(audit.twice).toBe(0);
  expect(audit.lost).toBeLessThanOrEqual(discarded + TAKEOVERS * 32);
  expect(standbys.every((b) => b.child.exitCode !== null || b.child.signalCode !== null)).toBe(true);
});
