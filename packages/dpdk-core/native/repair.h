// What the two halves of repairMempool share: mempool_repair.cc (the entry
// point, and the repair by proof when there is no usable journal) and
// repair_record.cc (the exact repair from the dead process's activity
// record, activity.h). The file comment of mempool_repair.cc says what each
// half may return and why.
#pragma once

#include <rte_mempool.h>
#include <rte_ring.h>

#include <cstdint>
#include <string>
#include <vector>

#include "activity.h"

namespace dpdk_core {
namespace repair {

enum class Outcome { kClean, kReturned, kPublished, kRepublished, kUnrepairable };

struct Repair {
  Outcome puts = Outcome::kClean;
  uint32_t returned = 0;
  uint32_t discarded = 0;
  Outcome refill = Outcome::kClean;
  uint32_t republished = 0;
  std::string activity = "none";
  uint32_t completed = 0;  // slots a dead put had claimed, rewritten with what it was storing
  uint32_t freed = 0;      // objects the dead process was putting and had not reached, freed for it
  uint32_t enqueued = 0;   // packets its interrupted enqueue into an output ring put there
  uint32_t lost = 0;
  std::vector<std::string> reasons;
  bool judged = false;     // a reservation taken for the dead one's by its tail staying put

  void Lose(uint32_t n, const std::string& why) {
    if (n == 0) return;
    lost += n;
    reasons.push_back(std::to_string(n) + " " + why);
  }
  void Unrepairable(const std::string& why) {
    puts = Outcome::kUnrepairable;
    reasons.push_back(why);
  }
};

enum class Settled { kIdle, kStuck, kBusy };
// Whether one side of the ring has a reservation nobody will finish: its
// tail stays put for settleMs with the head ahead. head/tail: its bounds.
Settled Settle(const rte_ring_headtail& ht, uint32_t settleMs, uint32_t* head, uint32_t* tail);

enum class AtPos { kPassed, kAt, kBusy };
// Waits for one side's tail to reach `pos`: kPassed once it is beyond,
// kAt once it has stayed at pos for `settleMs`, kBusy if neither comes soon.
AtPos WaitForTail(const rte_ring_headtail& ht, uint32_t pos, uint32_t settleMs);

// How many of objs[0 .. n) the ring's slots from `from` on list, in order.
uint32_t CopiedPrefix(rte_ring* r, uint32_t from, void* const* objs, uint32_t n);

// Whether objs[0 .. n) are n distinct objects of the pool that nothing else
// lists right now: not the ring's published entries (outside [skipFrom,
// skipTo)), not another lcore's cache.
bool ListedNowhereElse(rte_mempool* mp, rte_ring* r, void* const* objs, uint32_t n, uint32_t lcore, uint32_t skipFrom,
                       uint32_t skipTo);

// The repair with the dead process's record (repair_record.cc); false: the
// record is not usable for this pool, repair by proof.
bool RepairByRecord(PoolActivity& a, rte_mempool* mp, rte_ring* r, rte_mempool_cache* cache, uint32_t lcore,
                    uint32_t settleMs, Repair* out);

}  // namespace repair
}  // namespace dpdk_core
