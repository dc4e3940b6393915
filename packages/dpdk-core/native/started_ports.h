// What the port calls need of the started ports (started_ports.cc); the
// queue check itself is RequireQueueReady (common.h).
#pragma once

#include <cstdint>
#include <string>

namespace dpdk_core {

// The primary started or is about to stop or close `port`: the bit is
// published to the secondaries, cleared before the port stops, so their next
// call is refused instead of reaching queues the primary freed.
void SetPortStarted(uint16_t port, bool started);

// The primary closed `port`: published to the secondaries (with the port
// stopped), whose calls on it are then refused before reaching the driver.
void SetPortClosed(uint16_t port);

// In a secondary: whether the primary closed `port`.
bool ClosedByPrimary(uint32_t port);

// The ids of every port ("0,1" or "none"), for messages.
std::string PortIds();

}  // namespace dpdk_core
