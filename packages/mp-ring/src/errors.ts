export { DpdkError, dpdkError } from '@mp/dpdk-core';
