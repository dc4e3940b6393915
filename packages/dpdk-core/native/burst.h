// A burst: a reusable native array of up to `capacity` packet buffers
// (rte_mbuf*). Every packet-moving call (rx, tx, ring enqueue/dequeue, pool
// alloc) fills or drains a Burst in one native call, so the packet path does
// no per-packet work in JS and no allocation anywhere.
#pragma once

#include <rte_mbuf.h>

#include <vector>

#include "common.h"

namespace dpdk_core {

// Packet-path operations on bursts, called with burst ids (fastcall.h):
// burstMoveTo(fromId, toId, start, count).
uint32_t MoveTo(napi_env env, AddonData& data, const double* args);

class Burst : public Napi::ObjectWrap<Burst> {
 public:
  // Largest burst: far above any PMD's useful burst size, small enough that a
  // burst's array stays in L1.
  static constexpr uint32_t kMaxCapacity = 1024;

  static Napi::Function Define(Napi::Env env);
  // The live Burst whose id is `value` (see fastcall.h); a TypeError otherwise.
  static Burst* FromId(napi_env env, const AddonData& data, double id);
  // The same for args[0], with room for args[1] packets (stored in *n); a
  // DpdkError ENOSPC naming op otherwise.
  static Burst* FromIdWithRoom(napi_env env, const AddonData& data, const double* args, const char* op, uint32_t* n);

  explicit Burst(const Napi::CallbackInfo& info);
  ~Burst() override;

  rte_mbuf** pkts() { return pkts_.data(); }
  uint32_t count() const { return count_; }
  uint32_t capacity() const { return capacity_; }
  uint32_t room() const { return capacity_ - count_; }
  // Sets the count after a native call appended packets at pkts()[count()..].
  void SetCount(uint32_t n) { count_ = n; }
  // Drops the first n packets from the array (they were sent/enqueued):
  // what remains moves to the front, in order.
  void Consume(uint32_t n);
  // Frees every packet held (back to its pool).
  void FreeAll();

 private:
  Napi::Value Length(const Napi::CallbackInfo& info);
  Napi::Value Capacity(const Napi::CallbackInfo& info);
  Napi::Value Free(const Napi::CallbackInfo& info);
  Napi::Value FreeFrom(const Napi::CallbackInfo& info);

  // Packet contents (packet.cc): copy-in/copy-out of byte ranges, lengths,
  // l2fwd's MAC rewrite and allocation with given bytes, each one call per burst.
  rte_mbuf* PacketAt(const Napi::CallbackInfo& info, size_t arg, const char* op);
  Napi::Value PacketLength(const Napi::CallbackInfo& info);
  Napi::Value SetPacketLength(const Napi::CallbackInfo& info);
  Napi::Value ReadBytes(const Napi::CallbackInfo& info);
  Napi::Value WriteBytes(const Napi::CallbackInfo& info);
  Napi::Value AllocPackets(const Napi::CallbackInfo& info);

  std::vector<rte_mbuf*> pkts_;
  uint32_t id_ = UINT32_MAX;
  uint32_t count_ = 0;
  uint32_t capacity_ = 0;
};

}  // namespace dpdk_core
