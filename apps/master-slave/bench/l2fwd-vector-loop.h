/*
 * C l2fwd's receive-and-forward step in the shape of mp-l2fwd's slave, for
 * the bench's "C vector" side (bench.ts): a vector of up to VECTOR_CAPACITY
 * packets filled by RX bursts of MAX_PKT_BURST (SLAVE_BURST) from each port
 * in turn, then three passes as a packet vector makes them: describe (each
 * packet's input port, and with MAC updating its data offset in the pool's
 * memory and its length), the handler (destination, and l2fwd's MAC rewrite
 * through the offsets, frames shorter than an Ethernet header left as they
 * are), and the send into the TX buffers. What it leaves out of the slave:
 * JavaScript, and the pool journal that makes the slave safe to kill.
 *
 * bench.ts includes it in place of main.c's "Read packet from RX queues"
 * part, inside l2fwd_main_loop, whose variables it uses.
 */
{
	/* Per lcore (on the stack): in -q 1 each forwarding lcore has its own. */
	struct rte_mbuf *vec[VECTOR_CAPACITY];
	uint32_t off[VECTOR_CAPACITY];
	uint16_t len[VECTOR_CAPACITY], in_port[VECTOR_CAPACITY], dest[VECTOR_CAPACITY];
	/* The lowest address of the pool's memory, which the offsets count from. */
	uint8_t *base = NULL;
	struct rte_mempool_memhdr *chunk;
	unsigned n = 0;

	STAILQ_FOREACH(chunk, &l2fwd_pktmbuf_pool->mem_list, next)
		if (base == NULL || (uint8_t *)chunk->addr < base)
			base = chunk->addr;
	for (i = 0; i < qconf->n_rx_port && n < VECTOR_CAPACITY; i++) {
		portid = qconf->rx_port_list[i];
		nb_rx = rte_eth_rx_burst(portid, 0, vec + n, RTE_MIN(MAX_PKT_BURST, VECTOR_CAPACITY - n));
		port_statistics[portid].rx += nb_rx;
		n += nb_rx;
	}
	/* Without MAC updating the slave's vector describes no bytes (bytes: false). */
	for (j = 0; j < n; j++) {
		m = vec[j];
		if (mac_updating) {
			off[j] = (uint32_t)((uint8_t *)m->buf_addr + m->data_off - base);
			len[j] = m->data_len;
		}
		in_port[j] = m->port;
	}
	for (j = 0; j < n; j++) {
		unsigned d = l2fwd_dst_ports[in_port[j]];

		dest[j] = d;
		if (mac_updating && len[j] >= RTE_ETHER_HDR_LEN) {
			uint8_t *p = base + off[j];

			/* As l2fwd_mac_updating: 02:00:00:00:00:<port>, then the port's MAC. */
			*(uint64_t *)p = 0x000000000002 + ((uint64_t)d << 40);
			rte_ether_addr_copy(&l2fwd_ports_eth_addr[d], (struct rte_ether_addr *)(p + RTE_ETHER_ADDR_LEN));
		}
	}
	for (j = 0; j < n; j++) {
		buffer = tx_buffer[dest[j]];
		sent = rte_eth_tx_buffer(dest[j], 0, buffer, vec[j]);
		if (sent)
			port_statistics[dest[j]].tx += sent;
	}
}
