/**
 * Two real processes share a pool, two packet rings, a message ring and a
 * struct memzone: 1 000 000 packets go primary -> secondary -> primary, each
 * stamped with its sequence number and checked on both sides, and 100 000
 * typed messages go secondary -> primary. Mismatched lookups are refused.
 */
import path from 'node:path';
import { assertCleanTeardown, ealArgs, requireHugepages, startFixture, uniquePrefix } from '@mp/test-kit';

const FIXTURE = path.join(__dirname, 'fixtures', 'exchange.ts');
const PACKETS = 1_000_000;
const MESSAGES = 100_000;

beforeAll(() => {
  requireHugepages();
});

afterAll(async () => {
  await assertCleanTeardown();
});

interface PrimaryResult {
  sent: number;
  returned: number;
  badReturned: number;
  received: number;
  badMessages: number;
  inUseAtStart: number;
  inUseAtEnd: number;
  ringsEmpty: boolean;
  secondary: { pid: number; packetsSeen: string; badPackets: string; messagesSent: string; done: number };
}

test('1 000 000 packets and 100 000 typed messages cross between a primary and a secondary intact', async () => {
  const prefix = uniquePrefix('xp');
  const primary = startFixture(FIXTURE, [...ealArgs(prefix, ['-l', '0']), '--', 'primary', String(PACKETS), String(MESSAGES)]);
  const ready = await primary.waitForJson<{ inUseAtStart: number; messageSize: number; statsSize: number }>('READY');
  expect(ready.messageSize).toBe(40);
  const secondary = startFixture(FIXTURE, [
    ...ealArgs(prefix, ['-l', '1', '--proc-type=secondary']),
    '--',
    'secondary',
    String(PACKETS),
    String(MESSAGES),
  ]);
  primary.send('go');
  const result = await primary.waitForJson<PrimaryResult>('RESULT', 110_000);
  const sec = await secondary.waitForJson<{
    refused: Record<string, string>;
    freeByNonCreator: string;
    seen: number;
    bad: number;
    msgSent: number;
    burstLeft: number;
  }>('RESULT', 10_000);
  expect(sec.refused).toEqual({
    wrongSchema: 'ESCHEMA',
    packetRingWithSchema: 'ESCHEMA',
    messageRingWithoutSchema: 'ESCHEMA',
    wrongStruct: 'ESCHEMA',
    missingRing: 'ENOENT',
  });
  expect(sec.freeByNonCreator).toBe('EPERM');
  expect(sec).toMatchObject({ seen: PACKETS, bad: 0, msgSent: MESSAGES, burstLeft: 0 });
  expect((await secondary.waitForExit()).code).toBe(0);
  expect(result).toEqual({
    sent: PACKETS,
    returned: PACKETS,
    badReturned: 0,
    received: MESSAGES,
    badMessages: 0,
    inUseAtStart: ready.inUseAtStart,
    inUseAtEnd: ready.inUseAtStart,
    ringsEmpty: true,
    secondary: {
      pid: secondary.pid,
      packetsSeen: String(PACKETS),
      badPackets: '0',
      messagesSent: String(MESSAGES),
      done: 1,
    },
  });
  primary.send('exit');
  await primary.waitForJson('CLEANED');
  expect((await primary.waitForExit()).code).toBe(0);
}, 150_000);
