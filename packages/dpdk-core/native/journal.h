// The journal of a named PortForwarder that pulls from a ring
// (forwarder.forward()): what a process killed in the middle of a batch
// leaves is enough to finish or undo that batch from another process, so
// every packet ends up exactly once either in the ring (for the next
// consumer) or in a TX buffer (reclaimed) or sent, with one narrow exception
// (below).
//
// A batch: the ring's consumer tail is recorded and the journal marked
// active; the packets are peeked (rte_ring_dequeue_burst_start: the ring
// still lists them); each chunk routed to a TX buffer is counted in `done`
// before its pointers are stored and published; finally the dequeue is
// finished (the ring's tail moves past the batch) and the journal cleared.
// Recovery, with the owner dead: if the tail has not moved, the first
// `done` packets of the batch are consumed (head = tail = tail0 + done) and
// the rest stay in the ring; what the TX buffers list goes back to the pool.
// The exception is a kill between counting a chunk and publishing it (two
// adjacent stores): that chunk is lost, never freed twice. Packets a flush
// already handed to the device belong to the device.
#pragma once

#include <rte_memzone.h>
#include <rte_ring.h>

#include <cstdint>
#include <string>

#include "common.h"

namespace dpdk_core {

constexpr uint64_t kJournalMagic = 0x6677646a726e3031ULL;  // "fwdjrn01"

struct ForwardJournal {
  uint64_t magic;
  uint32_t active;   // 1 between recording tail0 and clearing after the finish
  uint32_t tail0;    // the ring's consumer tail when the batch began
  uint32_t count;    // packets the batch peeked
  uint32_t done;     // of those, counted before each went to a TX buffer, out, or was freed
  uint32_t outPorts; // bit p: a TX buffer zone "<name>_<p>" exists
  uint32_t unused;   // keeps ring 8-byte aligned
  char ring[RTE_RING_NAMESIZE];  // the source ring ("" if none)
};
static_assert(sizeof(ForwardJournal) <= 128, "a journal fits two cache lines");

// The zone name of output port p's TX buffer of forwarder `name`.
std::string ForwarderBufferName(const std::string& name, uint16_t port);

// Finishes or undoes the journal's batch on its ring (the TX buffers are
// the caller's); returns how many packets stay in the ring. The owner must
// be dead (or be the caller, adopting the name).
uint32_t RecoverRing(ForwardJournal* j);

// Fault injection for the tests, read from DPDK_MP_FAILPOINT when a named
// forwarder is created:
// "forward-kill-after-chunk" SIGKILLs the process inside forward(), right
// after the first chunk of a batch went into a TX buffer.
enum class Failpoint { kNone, kForwardKillAfterChunk };
Failpoint ReadFailpoint();

// A zone is a journal (the name says nothing).
bool IsJournalZone(const rte_memzone* mz);

void InitJournal(Napi::Env env, Napi::Object exports);

}  // namespace dpdk_core
