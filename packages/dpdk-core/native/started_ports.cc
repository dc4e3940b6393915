// Which ports are started. The primary starts and stops them and publishes
// the set to its secondaries in a memzone; every burst and vector call checks
// its port and queue against it before the driver sees them.
#include "started_ports.h"

#include <rte_ethdev.h>
#include <rte_memzone.h>

#include <string>

#include "common.h"

namespace dpdk_core {

namespace {

// Ports this process started. The primary is the only process that starts
// ports, so there this is the truth; a stopped port's fast-path entry points at
// a dummy that logs a stack dump on every call, so the primary never calls it.
uint32_t g_startedPorts = 0;
static_assert(RTE_MAX_ETHPORTS <= 32, "g_startedPorts is a 32-bit mask");

// g_startedPorts as the primary publishes it to its secondaries. A
// secondary's ethdev state (rte_eth_fp_ops, rte_eth_devices[].state) is its
// own, filled at attach: it never learns that the primary stopped or closed
// a port, and would call the driver on queues the primary has freed. The
// primary clears a port's bit before it stops the port, so a secondary's
// next call is refused instead. A call already past the check still races
// with the stop; the apps ask their secondaries to stop before they stop
// ports. Null in a secondary of a primary that publishes nothing (the C
// samples): there the queue pointers are the only evidence available.
constexpr char kStartedPortsZone[] = "mpcore_started_ports";
uint32_t* g_sharedStartedPorts = nullptr;
// The second word of the zone: ports the primary closed, whose driver data is
// gone, so that a secondary refuses them before asking the driver anything.
uint32_t* g_sharedClosedPorts = nullptr;
uint32_t g_closedPorts = 0;

void PublishStartedPorts() {
  if (g_sharedStartedPorts != nullptr) __atomic_store_n(g_sharedStartedPorts, g_startedPorts, __ATOMIC_RELEASE);
  if (g_sharedClosedPorts != nullptr) __atomic_store_n(g_sharedClosedPorts, g_closedPorts, __ATOMIC_RELEASE);
}

bool StoppedByPrimary(uint32_t port) {
  return rte_eal_process_type() != RTE_PROC_PRIMARY && g_sharedStartedPorts != nullptr &&
         (__atomic_load_n(g_sharedStartedPorts, __ATOMIC_ACQUIRE) & (1u << port)) == 0;
}

// A queue pointer is set only while the queue is set up; in a secondary (whose
// fast-path table was filled at attach) it is the only evidence besides
// what the primary publishes.
inline bool QueueReady(uint32_t port, uint32_t queue, bool rx) {
  if (port >= RTE_MAX_ETHPORTS || queue >= RTE_MAX_QUEUES_PER_PORT) return false;
  if (rte_eal_process_type() == RTE_PROC_PRIMARY) {
    if ((g_startedPorts & (1u << port)) == 0) return false;
  } else if (!rte_eth_dev_is_valid_port(static_cast<uint16_t>(port)) || StoppedByPrimary(port)) {
    return false;
  }
  const rte_ethdev_qdata& q = rx ? rte_eth_fp_ops[port].rxq : rte_eth_fp_ops[port].txq;
  return q.data != nullptr && q.data[queue] != nullptr;
}

// Off the fast path: why a queue cannot be used right now.
[[noreturn]] void ThrowQueueNotReady(Napi::Env env, uint32_t port, uint32_t queue, bool rx, const char* op) {
  const char* dir = rx ? "rx" : "tx";
  if (port >= RTE_MAX_ETHPORTS || !rte_eth_dev_is_valid_port(static_cast<uint16_t>(port))) {
    ThrowDpdkCode(env, op, "ENODEV", "port " + std::to_string(port) + " does not exist (ports: " + PortIds() + ")");
  }
  // Before asking the driver anything: a port the primary closed has no
  // private data left, and its dev_info callback would read through null.
  if (StoppedByPrimary(port)) {
    ThrowDpdkCode(env, op, "E_PORT_STOPPED",
                  "port " + std::to_string(port) + " is stopped: the primary process stopped or closed it; " +
                      "stop using it, or wait until the primary starts it again");
  }
  rte_eth_dev_info di;
  uint16_t have = 0;
  if (rte_eth_dev_info_get(static_cast<uint16_t>(port), &di) == 0) have = rx ? di.nb_rx_queues : di.nb_tx_queues;
  if (queue >= have) {
    ThrowDpdkCode(env, op, "EINVAL",
                  std::string(dir) + " queue " + std::to_string(queue) + " is out of range: port " +
                      std::to_string(port) + " has " + std::to_string(have) + " " + dir + " queues");
  }
  ThrowDpdkCode(env, op, "E_PORT_STOPPED",
                "port " + std::to_string(port) + " " + dir + " queue " + std::to_string(queue) +
                    " is not ready: set the queue up and start the port (in the primary) first");
}

}  // namespace

std::string PortIds() {
  std::string ids;
  uint16_t p;
  RTE_ETH_FOREACH_DEV(p) { ids += (ids.empty() ? "" : ",") + std::to_string(p); }
  return ids.empty() ? "none" : ids;
}

void SetPortClosed(uint16_t port) {
  g_startedPorts &= ~(1u << port);
  g_closedPorts |= 1u << port;
  PublishStartedPorts();
}

bool ClosedByPrimary(uint32_t port) {
  return port < 32 && rte_eal_process_type() != RTE_PROC_PRIMARY && g_sharedClosedPorts != nullptr &&
         (__atomic_load_n(g_sharedClosedPorts, __ATOMIC_ACQUIRE) & (1u << port)) != 0;
}

void SetPortStarted(uint16_t port, bool started) {
  if (started) {
    g_startedPorts |= 1u << port;
  } else {
    g_startedPorts &= ~(1u << port);
  }
  PublishStartedPorts();
}

void RequireQueueReady(Napi::Env env, uint32_t port, uint32_t queue, bool rx, const char* op) {
  if (!QueueReady(port, queue, rx)) ThrowQueueNotReady(env, port, queue, rx, op);
}

void AttachStartedPorts() {
  if (rte_eal_process_type() == RTE_PROC_PRIMARY) {
    const rte_memzone* mz = rte_memzone_reserve(kStartedPortsZone, 2 * sizeof(uint32_t), SOCKET_ID_ANY, 0);
    g_sharedStartedPorts = mz != nullptr ? static_cast<uint32_t*>(mz->addr) : nullptr;
    g_sharedClosedPorts = mz != nullptr ? static_cast<uint32_t*>(mz->addr) + 1 : nullptr;
    PublishStartedPorts();
  } else {
    const rte_memzone* mz = rte_memzone_lookup(kStartedPortsZone);
    g_sharedStartedPorts = mz != nullptr ? static_cast<uint32_t*>(mz->addr) : nullptr;
    g_sharedClosedPorts = mz != nullptr && mz->len >= 2 * sizeof(uint32_t) ? static_cast<uint32_t*>(mz->addr) + 1 : nullptr;
  }
}

}  // namespace dpdk_core
