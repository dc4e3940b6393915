/**
 * mp-client --reattach: the process keeps its pid while its server is
 * SIGKILLed and restarted with the same --file-prefix, joins the new group
 * (another generation) and forwards again; a client waits out the group it
 * left and refuses a registry other than the one the ready server announced;
 * a launcher waiting for a server stops on SIGINT. Bounds
 * are generous: these hold with CPU hogs beside the suite.
 */
import fs from 'node:fs';
import path from 'node:path';
import { assertCleanTeardown, leftovers, requireHugepages, uniquePrefix, startProcess, type Fixture } from '@mp/test-kit';
import { EXIT } from '@mp/dpdk-core/cli';
import { REATTACH_ENV } from '../src/reattach-child';
import { BIN, clientEal, forwarding, serverEal, statsUntil, tsClient, tsServer } from './helpers';

beforeAll(() => requireHugepages());

afterAll(async () => {
  await assertCleanTeardown();
});

function startServer(prefix: string): Fixture {
  return tsServer('server', [...serverEal(prefix, ['net_null0', 'net_null1']), '--', '-p', '3', '-n', '2', '--stats-interval', '0.2', '--stats-format', 'json']);
}

async function generation(client: Fixture, from = 0): Promise<number> {
  return Number((await client.waitForLine(/^mp-client \d+: joined the group of generation (\d+)$/, 60_000, { from }))[1]);
}

it('survives a SIGKILL of its server and a restart: same pid, a new generation, forwarding again', async () => {
  const prefix = uniquePrefix('cs-reattach');
  let server = startServer(prefix);
  await server.waitForLine(/Finished Process Init/, 60_000);
  const client = tsClient('client0', [...clientEal(prefix, 2), '--', '-n', '0', '--stats-interval', '0.1', '--reattach']);
  const first = await generation(client);
  await forwarding(client, 60_000);

  for (let restart = 0; restart < 2; restart++) {
    const from = client.stdoutLines.length;
    const fromErr = client.stderrLines.length;
    server.kill('SIGKILL');
    await server.waitForExit();
    await client.waitForLine(/the server \(primary process\) has exited; re-attaching once a new one runs/, 20_000, { stream: 'stderr', from: fromErr });
    await client.waitForLine(/waiting for a server with --file-prefix=/, 20_000, { from });
    expect(client.exitStatus).toBeUndefined();

    server = startServer(prefix);
    const next = await generation(client, from);
    expect(next).not.toBe(first);
    await forwarding(client, 60_000);
    // The new server counts what this client transmits in the new group's port_info.
    await statsUntil(server, (s) => (s.clients[0]?.tx ?? 0) > 0, 60_000);
  }

  server.kill('SIGINT');
  const [s, c] = await Promise.all([server.waitForExit(60_000), client.waitForExit(60_000)]);
  expect([s.code, c.code]).toEqual([0, 0]);
  // The restarted server took over what the killed ones left, and its clean stop removed it all.
  expect(leftovers(prefix)).toEqual([]);
});

it('a client waits out the server it left, and refuses a registry other than the one the ready server announced', async () => {
  const prefix = uniquePrefix('cs-stale');
  const server = startServer(prefix);
  await server.waitForLine(/Finished Process Init/, 60_000);
  const client = tsClient('client0', [...clientEal(prefix, 2), '--', '-n', '0', '--reattach']);
  const current = await generation(client);
  const asLaunched = (label: string, after: number): Fixture =>
    startProcess(label, process.execPath, [BIN.client, ...clientEal(prefix, 3), '--', '-n', '1'], { env: { [REATTACH_ENV]: String(after) } });

  // Left the group of `current`: it waits for another server and does not attach.
  const waiting = asLaunched('waiting client', current);
  await new Promise((r) => setTimeout(r, 3000));
  expect(waiting.stdout).not.toMatch(/handling packets/);
  waiting.kill('SIGINT');
  // Exit 0 once it waits; on a busy machine it may still be loading, where SIGINT ends Node by default.
  expect([{ code: 0, signal: null }, { code: null, signal: 'SIGINT' }]).toContainEqual(await waiting.waitForExit(30_000));

  // A ready mark that announces another generation than the registry holds: attached, it leaves untouched.
  const markFile = path.join('/var/run/dpdk', prefix, 'mp_server_ready');
  const mark = fs.readFileSync(markFile, 'utf8');
  fs.writeFileSync(markFile, JSON.stringify({ ...JSON.parse(mark), generation: (current % 1000) + 1 }));
  try {
    const stale = asLaunched('stale client', 0);
    expect((await stale.waitForExit(60_000)).code).toBe(EXIT.peerGone);
    expect(stale.stderr).toMatch(new RegExp(`attached to the registry of generation ${current}, not ${(current % 1000) + 1} \\(the server it waited for\\); re-attaching`));
  } finally {
    fs.writeFileSync(markFile, mark);
  }
  // Not joined: slot 1 is still free for a client of this group.
  const fresh = tsClient('client1', [...clientEal(prefix, 3), '--', '-n', '1', '--stats-interval', '0.1']);
  await forwarding(fresh, 60_000);

  server.kill('SIGINT');
  expect((await Promise.all([server, client, fresh].map((p) => p.waitForExit(60_000)))).map((x) => x.code)).toEqual([0, 0, 0]);
});

it('waits for a server that is not there yet, and stops on SIGINT while it waits', async () => {
  const prefix = uniquePrefix('cs-wait');
  const client = tsClient('client0', [...clientEal(prefix, 2), '--', '-n', '0', '--reattach']);
  await client.waitForLine(new RegExp(`^mp-client 0: waiting for a server with --file-prefix=${prefix}$`), 30_000);
  client.kill('SIGINT');
  expect(await client.waitForExit(30_000)).toEqual({ code: 0, signal: null });
});
