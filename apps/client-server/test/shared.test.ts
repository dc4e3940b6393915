import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MAX_CLIENTS, MAX_ETHPORTS, PORT_INFO, clientRingName, pairPorts, poolSize, queuePlan } from '../src/shared';

const COMMON_H_DIR = '/usr/share/dpdk/examples/multi_process/client_server_mp/shared';

describe("shared names and sizing (the C sample's common.h and init.c)", () => {
  it('names the client rings like MP_CLIENT_RXQ_NAME', () => {
    expect(clientRingName(0)).toBe('MProc_Client_0_RX');
    expect(clientRingName(15)).toBe('MProc_Client_15_RX');
  });

  it('sizes the pool like init_mbuf_pools (2 ports, 2 clients: 7936)', () => {
    expect(poolSize(2, 2)).toBe(7936);
    expect(poolSize(4, 16)).toBe(1024 * 4 + 16 * (128 + 1024 * 4) + 17 * 512);
  });

  it('plans one RX queue and one TX queue per client', () => {
    expect(queuePlan(3)).toEqual({ rxQueues: 1, txQueues: 3 });
  });

  it('pairs ports by position in the list, not by id', () => {
    expect([...pairPorts([0, 1, 2, 3])]).toEqual([[0, 1], [1, 0], [2, 3], [3, 2]]);
    expect([...pairPorts([1, 4])]).toEqual([[1, 4], [4, 1]]);
  });
});

describe('struct port_info layout', () => {
  it('matches what gcc makes of common.h', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'port-info-'));
    try {
      const src = path.join(dir, 'layout.c');
      fs.writeFileSync(
        src,
        `#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <rte_config.h>
#include <rte_common.h>
#include "common.h"
int main(void) {
  struct port_info p;
  printf("%zu %zu %zu %zu %zu %zu %zu %zu %zu\\n", sizeof(struct port_info), offsetof(struct port_info, num_ports),
         offsetof(struct port_info, id[1]), (size_t)((char *)&p.rx_stats.rx[5] - (char *)&p),
         (size_t)((char *)&p.tx_stats[0] - (char *)&p), sizeof(struct tx_stats),
         (size_t)((char *)&p.tx_stats[3].tx[7] - (char *)&p), (size_t)((char *)&p.tx_stats[15].tx_drop[31] - (char *)&p),
         (size_t)(${MAX_CLIENTS} * 1000 + RTE_MAX_ETHPORTS));
  return 0;
}
`,
      );
      const cflags = execFileSync('pkg-config', ['--cflags', 'libdpdk'], { encoding: 'utf8' }).trim().split(/\s+/);
      execFileSync('gcc', ['-o', path.join(dir, 'layout'), src, `-I${COMMON_H_DIR}`, ...cflags]);
      const got = execFileSync(path.join(dir, 'layout'), { encoding: 'utf8' }).trim().split(' ').map(Number);
      expect(got).toEqual([
        PORT_INFO.size,
        PORT_INFO.numPorts,
        PORT_INFO.id(1),
        PORT_INFO.rx(5),
        PORT_INFO.txStats,
        PORT_INFO.txStatsSize,
        PORT_INFO.tx(3, 7),
        PORT_INFO.txDrop(15, 31),
        MAX_CLIENTS * 1000 + MAX_ETHPORTS,
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
