/** A slave's spec is checked before anything starts: a bad CPU list is refused with what is wrong, not handed to EAL. */
import { validate } from '@mp/dpdk-core';
import { slaveSpecSchema } from '../src/supervisor-spec';

const spec = (lcore: unknown): unknown => ({ name: 's', entry: 'slave.js', lcore });
const check = (lcore: unknown): unknown => validate(slaveSpecSchema, spec(lcore), 'Supervisor', 'slave');

test.each([
  [{ floating: true, cpus: '3-1' }, /range 3-1 goes backwards/],
  [{ floating: true, cpus: '0-1024' }, /CPU 1024 is beyond CPU_SETSIZE/],
  [{ floating: true, cpus: '(0-1)' }, /use a CPU list like "0-1"/],
  [{ id: 1, cpu: 1024 }, /1023/],
  [{ id: 1, cpu: '(2-0)' }, /range 2-0 goes backwards/],
  [{ id: 128 }, /lcore ids are 0\.\.127/],
])('refuses %j with EINVAL naming the problem', (lcore, message) => {
  expect(() => check(lcore)).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringMatching(message) }));
});

test('takes CPU numbers and lists, a pinned one in EAL\'s parentheses or not', () => {
  expect(check({ floating: true, cpus: '0-1,3' })).toMatchObject({ lcore: { floating: true, cpus: '0-1,3' } });
  expect(check({ id: 1, cpu: 1 })).toMatchObject({ lcore: { id: 1, cpu: 1 } });
  expect(check({ id: 1, cpu: '(0-1)' })).toMatchObject({ lcore: { id: 1, cpu: '0-1' } });
  expect(check({ id: 1, cpu: '0,1' })).toMatchObject({ lcore: { id: 1, cpu: '0,1' } });
});
