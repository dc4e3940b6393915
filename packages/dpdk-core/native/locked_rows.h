// Copying rows out of DPDK's shared tables under the locks DPDK takes on
// them for every process of the group (memzones, mempools, rings, memsegs).
// Nothing may allocate or throw while such a lock is held: an exception
// unwinding past the unlock (std::bad_alloc, a JS exception) leaves the lock
// held, and every later reserve, create or free in the group waits for ever.
// So rows are plain structs (names in char arrays) copied into storage
// reserved before the walk; a walk that finds more rows than it has room for
// runs again with more room, after the lock is released.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace dpdk_core {

template <typename Row>
class LockedRows {
 public:
  explicit LockedRows(size_t room) { rows_.reserve(room); }
  // Keeps the row when there is room (no allocation); otherwise notes that
  // the walk must run again.
  void Add(const Row& row) noexcept {
    if (rows_.size() < rows_.capacity()) {
      rows_.push_back(row);
    } else {
      overflowed_ = true;
    }
  }
  const std::vector<Row>& rows() const noexcept { return rows_; }
  bool overflowed() const noexcept { return overflowed_; }
  std::vector<Row> Take() { return std::move(rows_); }

 private:
  std::vector<Row> rows_;
  bool overflowed_ = false;
};

// Runs walk(LockedRows<Row>&) -- which takes and releases DPDK's lock itself
// -- with room for `room` rows, and again with twice the room while rows did
// not fit.
template <typename Row, typename Walk>
std::vector<Row> CollectUnderLock(size_t room, Walk walk) {
  for (;; room *= 2) {
    LockedRows<Row> out(room);
    walk(out);
    if (!out.overflowed()) return out.Take();
  }
}

}  // namespace dpdk_core
