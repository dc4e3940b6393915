/**
 * DPDK's packet capture framework (librte_pdump) in a primary, so that the
 * stock `dpdk-dumpcap -i <port>` and `dpdk-pdump` can attach as secondaries
 * and capture what this process receives and sends. Nothing is installed on
 * the packet path until one of them asks. cleanup() unregisters it.
 */
import { native } from './native';

/**
 * rte_pdump_init, once per process (later calls return false). Primary only
 * ('E_RTE_SECONDARY'): in DPDK 22.11 the capture callbacks run in the
 * primary, so packets that only secondaries receive or send are not seen.
 */
export function enableCapture(): boolean {
  return native.enableCapture();
}
