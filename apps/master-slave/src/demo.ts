/**
 * `pnpm --filter master-slave start`: mp-l2fwd on two net_null ports (a
 * null port's RX hands out packets as fast as they are polled, so it is its
 * own traffic source), one slave per port, stats every 2 s, and how to kill
 * a slave to watch recovery.
 */
import { main } from './main';

const argv = [
  '--file-prefix=mp_l2fwd_demo',
  '-m',
  '256',
  '--no-pci',
  '--log-level=warning',
  '--lcores=0@0,1@0,2@1',
  '--vdev=net_null0',
  '--vdev=net_null1',
  '--',
  '-p',
  '3',
  '-q',
  '1',
  '-T',
  '2',
];

// Started, stopped and failing as mp-l2fwd itself (main): errors by the CLI convention, Ctrl-C stops in order.
void main(argv, (master) => {
  const pids = master.supervisor.status().map((s) => `${s.name}: kill -9 ${s.pid}   (or kill -STOP ${s.pid} to watch hang detection)`);
  process.stdout.write(
    [
      '',
      'mp-l2fwd demo: net_null0 <-> net_null1, one slave process per port.',
      'Kill a slave from another terminal and watch the [recovery] lines:',
      ...pids.map((p) => `  ${p}`),
      'Each slave has a warm standby process (attached, idle) that takes over within milliseconds;',
      'a new standby starts in the background. Slave pids change after each recovery: `pgrep -af dist/slave.js`',
      'lists the current ones (actives and standbys).',
      'Ctrl-C stops everything in order.',
      '',
    ].join('\n'),
  );
});
