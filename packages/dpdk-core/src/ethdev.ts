/** Ethernet ports. */
import { native, type PortSummary } from './native';

export type { PortSummary };

/** Every available port: id, device name, MAC and NUMA socket. */
export function ports(): PortSummary[] {
  return native.portList();
}
