// Rings: named lockless FIFOs in shared memory. A packet ring holds rte_mbuf*
// and moves a whole Burst per call; an element ring holds fixed-size elements
// copied from/to a caller's Uint8Array. One wrapper per rte_ring in this
// process, tracked in AddonData so cleanup can free what this process created
// and invalidate every handle. Looking a ring up is in ring_find.cc.
#include <rte_errno.h>
#include <rte_memzone.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "journaled.h"
#include "burst.h"
#include "common.h"
#include "fastcall.h"
#include "handle_registry.h"
#include "ring.h"

namespace dpdk_core {

namespace {

constexpr uint32_t kKnownFlags = RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ | RING_F_MP_RTS_ENQ |
                                 RING_F_MC_RTS_DEQ | RING_F_MP_HTS_ENQ | RING_F_MC_HTS_DEQ;
// rte_ring_create stores pointers: 8-byte elements.
constexpr uint32_t kPointerSize = sizeof(void*);

// Packets still queued in a packet ring go back to their pools rather than
// leak with the ring. Returns how many.
uint32_t DrainPackets(rte_ring* r) {
  void* batch[64];
  unsigned n;
  uint32_t drained = 0;
  while ((n = rte_ring_dequeue_burst(r, batch, 64, nullptr)) > 0) {
    JournaledFree(reinterpret_cast<rte_mbuf**>(batch), n, false);
    drained += n;
  }
  return drained;
}

// Dequeues and drops what an element ring holds. Returns how many.
uint32_t DrainElems(rte_ring* r, uint32_t esize) {
  std::vector<uint8_t> scratch(std::max<uint32_t>(esize, 64 * 1024));
  const uint32_t chunk = static_cast<uint32_t>(scratch.size() / esize);
  unsigned n;
  uint32_t drained = 0;
  while ((n = rte_ring_dequeue_burst_elem(r, scratch.data(), esize, chunk, nullptr)) > 0) drained += n;
  return drained;
}

void FreeRing(rte_ring* r, bool packets) {
  if (packets) DrainPackets(r);
  rte_ring_free(r);
}

uint32_t OpEnqueueBurst(napi_env env, RingSlot& s, const double* args) {
  rte_ring* r = s.Live(env, "enqueueBurst");
  Burst* b = Burst::FromId(env, *s.data, args[0]);
  unsigned n = rte_ring_enqueue_burst(r, reinterpret_cast<void* const*>(b->pkts()), b->count(), nullptr);
  b->Consume(n);
  return n;
}

uint32_t OpEnqueueBulk(napi_env env, RingSlot& s, const double* args) {
  rte_ring* r = s.Live(env, "enqueueBulk");
  Burst* b = Burst::FromId(env, *s.data, args[0]);
  unsigned n = rte_ring_enqueue_bulk(r, reinterpret_cast<void* const*>(b->pkts()), b->count(), nullptr);
  b->Consume(n);
  return n;
}

// An omitted max arrives as Infinity and means the burst's free room; larger
// values are clamped to it, so nothing past the burst's array is ever written.
uint32_t OpDequeueBurst(napi_env env, RingSlot& s, const double* args) {
  rte_ring* r = s.Idle(env, "dequeueBurst");
  Burst* b = Burst::FromId(env, *s.data, args[0]);
  uint32_t want = b->room();
  const double max = args[1];
  if (!(max >= 0)) throw Napi::TypeError::New(env, "dequeueBurst: max must be a number >= 0");
  if (max < want) want = static_cast<uint32_t>(max);
  unsigned n = rte_ring_dequeue_burst(r, reinterpret_cast<void**>(b->pkts() + b->count()), want, nullptr);
  b->SetCount(b->count() + n);
  return n;
}

uint32_t OpDequeueBulk(napi_env env, RingSlot& s, const double* args) {
  rte_ring* r = s.Idle(env, "dequeueBulk");
  Burst* b = Burst::FromId(env, *s.data, args[0]);
  const double want = args[1];
  if (!(want >= 0 && want <= UINT32_MAX) || want != static_cast<uint32_t>(want)) {
    throw Napi::TypeError::New(env, "dequeueBulk: n must be an integer >= 0");
  }
  if (want > b->room()) {
    ThrowDpdkCode(Napi::Env(env), "dequeueBulk", "EINVAL",
                  "cannot dequeue " + std::to_string(static_cast<uint32_t>(want)) + " packets into a burst with room for " +
                      std::to_string(b->room()) + "; free or send what it holds, or use a larger burst");
  }
  unsigned n = rte_ring_dequeue_bulk(r, reinterpret_cast<void**>(b->pkts() + b->count()), static_cast<uint32_t>(want), nullptr);
  b->SetCount(b->count() + n);
  return n;
}

}  // namespace

class Ring : public TrackedHandle<Ring, rte_ring> {
 public:
  static constexpr const char* kKind = "ring";
  static HandleRegistry<Ring>& Registry(AddonData& data) { return data.rings; }

  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Ring",
                       {
                           InstanceAccessor("name", &Ring::Name, nullptr),
                           InstanceAccessor<&Ring::ElementSize>("elementSize"),
                           InstanceAccessor<&Ring::IsPacketRing>("packets"),
                           InstanceAccessor<&Ring::Flags>("flags"),
                           InstanceAccessor("created", &Ring::Created, nullptr),
                           InstanceAccessor("closed", &Ring::Closed, nullptr),
                           InstanceAccessor<&Ring::Size>("size"),
                           InstanceAccessor<&Ring::Capacity>("capacity"),
                           InstanceAccessor<&Ring::Socket>("socket"),
                           InstanceMethod<&Ring::Count>("count"),
                           InstanceMethod<&Ring::FreeCount>("freeCount"),
                           InstanceMethod<&Ring::Reset>("reset"),
                           InstanceMethod<&Ring::Free>("free"),
                           InstanceMethod("close", &Ring::Close),
                           InstanceMethod<&Ring::EnqueueElems>("enqueueElems"),
                           InstanceMethod<&Ring::DequeueElems>("dequeueElems"),
                           InstanceMethod<&Ring::FastPath>("fastPath"),
                       });
  }

  // (External<rte_ring>, created, elementSize, packets)
  explicit Ring(const Napi::CallbackInfo& info)
      : TrackedHandle(info, 4, "Ring handles come from createRing() or lookupRing()") {
    esize_ = info[2].As<Napi::Number>().Uint32Value();
    packets_ = info[3].ToBoolean();
    size_ = ptr_->size;
    slot_ = std::make_shared<RingSlot>();
    slot_->r = ptr_;
    slot_->data = data_;
    slot_->name = name_;
    slot_->packets = packets_;
  }

  ~Ring() override {
    if (slot_->peekedBy != nullptr && data_->EalUsable()) AbandonPeek(*slot_->peekedBy);
    slot_->r = nullptr;
  }

  // A ring of the same name re-created with another size is another ring.
  bool Describes(const rte_ring* r) const { return TrackedHandle::Describes(r) && r->size == size_; }

  static Napi::Object Wrap(Napi::Env env, rte_ring* r, bool created, uint32_t esize, bool packets) {
    if (Ring* existing = Find(env, r)) {
      if (existing->esize_ != esize || existing->packets_ != packets) {
        ThrowDpdkCode(env, "lookupRing", "EINVAL",
                      "ring '" + existing->name_ + "' is already open in this process as a " +
                          existing->Describe() + "; look it up the same way");
      }
      return existing->Value();
    }
    return Data(env).ringCtor.New({Napi::External<rte_ring>::New(env, r), Napi::Boolean::New(env, created),
                                   Napi::Number::New(env, esize), Napi::Boolean::New(env, packets)});
  }

  const std::shared_ptr<RingSlot>& Slot() const { return slot_; }

  void Retire() { Invalidate(false); }

  // A freed packet ring's packets go back to their pools first.
  void Invalidate(bool free) {
    if (ptr_ == nullptr) return;
    if (slot_->peekedBy != nullptr) AbandonPeek(*slot_->peekedBy);
    rte_ring* r = ptr_;
    bool packets = false;
    if (Unregister(free, &packets)) FreeRing(r, packets);
    slot_->r = nullptr;
  }

 private:
  std::string Describe() const {
    return packets_ ? std::string("packet ring") : std::to_string(esize_) + "-byte element ring";
  }

  rte_ring* LivePackets(const char* op) {
    rte_ring* r = Live(op);
    if (!packets_) {
      ThrowDpdkCode(Env(), op, "EINVAL",
                    "ring '" + name_ + "' is a " + Describe() + ", not a packet ring; use enqueueElems/dequeueElems");
    }
    return r;
  }

  rte_ring* LiveElems(const char* op) {
    rte_ring* r = Live(op);
    if (packets_) {
      ThrowDpdkCode(Env(), op, "EINVAL",
                    "ring '" + name_ + "' is a packet ring; move packets with a Burst (enqueueBurst/dequeueBurst)");
    }
    return r;
  }

  Napi::Value ElementSize(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), esize_); }
  Napi::Value IsPacketRing(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), packets_); }
  Napi::Value Flags(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), Live("flags")->flags); }
  Napi::Value Size(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), rte_ring_get_size(Live("size")));
  }
  Napi::Value Capacity(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), rte_ring_get_capacity(Live("capacity")));
  }
  Napi::Value Socket(const Napi::CallbackInfo& info) {
    const rte_ring* r = Live("socket");
    return Napi::Number::New(info.Env(), r->memzone != nullptr ? r->memzone->socket_id : -1);
  }
  Napi::Value Count(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), rte_ring_count(Live("count")));
  }
  Napi::Value FreeCount(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), rte_ring_free_count(Live("freeCount")));
  }

  // Empties the ring by dequeuing, as a consumer would: rte_ring_reset
  // zeroes heads and tails under any producer in the middle of an enqueue,
  // which then waits for ever for a tail that will not come back (or, single,
  // publishes entries the ring no longer counts). A packet ring's packets go
  // back to their pools.
  Napi::Value Reset(const Napi::CallbackInfo& info) {
    rte_ring* r = Live("reset");
    slot_->Idle(info.Env(), "reset");
    return Napi::Number::New(info.Env(), packets_ ? DrainPackets(r) : DrainElems(r, esize_));
  }

  Napi::Value Free(const Napi::CallbackInfo& info) {
    if (ptr_ == nullptr) return info.Env().Undefined();
    RequireCreator(info.Env(), "freeRing");
    Invalidate(true);
    return info.Env().Undefined();
  }

  // (bytes: Uint8Array, n, bulk): the elements are bytes[0 .. n*esize).
  uint8_t* ElemBytes(const Napi::CallbackInfo& info, const char* op, uint32_t* n) {
    if (info.Length() < 3 || !info[0].IsTypedArray() ||
        info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      throw Napi::TypeError::New(info.Env(), std::string(op) + ": elements must be a Uint8Array");
    }
    Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
    *n = ArgU32(info, 1, "n");
    if (static_cast<uint64_t>(*n) * esize_ > bytes.ByteLength()) {
      ThrowDpdkCode(info.Env(), op, "EINVAL",
                    std::to_string(*n) + " elements of " + std::to_string(esize_) + " bytes do not fit in a " +
                        std::to_string(bytes.ByteLength()) + "-byte buffer");
    }
    return bytes.Data();
  }

  Napi::Value EnqueueElems(const Napi::CallbackInfo& info) {
    rte_ring* r = LiveElems("enqueueElems");
    uint32_t n = 0;
    uint8_t* p = ElemBytes(info, "enqueueElems", &n);
    unsigned done = info[2].ToBoolean() ? rte_ring_enqueue_bulk_elem(r, p, esize_, n, nullptr)
                                        : rte_ring_enqueue_burst_elem(r, p, esize_, n, nullptr);
    return Napi::Number::New(info.Env(), done);
  }

  Napi::Value DequeueElems(const Napi::CallbackInfo& info) {
    rte_ring* r = LiveElems("dequeueElems");
    uint32_t n = 0;
    uint8_t* p = ElemBytes(info, "dequeueElems", &n);
    unsigned done = info[2].ToBoolean() ? rte_ring_dequeue_bulk_elem(r, p, esize_, n, nullptr)
                                        : rte_ring_dequeue_burst_elem(r, p, esize_, n, nullptr);
    return Napi::Number::New(info.Env(), done);
  }

  // { enqueueBurst(id), enqueueBulk(id), dequeueBurst(id, max?), dequeueBulk(id, n) }
  // taking a Burst's id: what the TypeScript handle calls on the packet path.
  Napi::Value FastPath(const Napi::CallbackInfo& info) {
    LivePackets("fastPath");
    Napi::Env env = info.Env();
    Napi::Object fns = Napi::Object::New(env);
    fns.Set("enqueueBurst", Bind<RingSlot, OpEnqueueBurst>(env, "enqueueBurst", slot_));
    fns.Set("enqueueBulk", Bind<RingSlot, OpEnqueueBulk>(env, "enqueueBulk", slot_));
    fns.Set("dequeueBurst", Bind<RingSlot, OpDequeueBurst>(env, "dequeueBurst", slot_));
    fns.Set("dequeueBulk", Bind<RingSlot, OpDequeueBulk>(env, "dequeueBulk", slot_));
    return fns;
  }

  std::shared_ptr<RingSlot> slot_;
  bool packets_ = false;
  uint32_t esize_ = 0;
  uint32_t size_ = 0;
};

namespace {

uint32_t ArgFlags(const Napi::CallbackInfo& info, size_t i, const char* op) {
  uint32_t flags = ArgU32(info, i, "flags");
  if ((flags & ~kKnownFlags) != 0) {
    ThrowDpdkCode(info.Env(), op, "EINVAL", "unknown ring flag bits " + std::to_string(flags & ~kKnownFlags) + "; use the RING_F_* values");
  }
  return flags;
}

[[noreturn]] void ThrowCreate(Napi::Env env, const char* op, const std::string& name, uint32_t count) {
  int err = rte_errno;
  std::string hint = err == EEXIST ? "; a ring or memzone of that name exists: look it up instead, or pick another name"
                     : err == ENOMEM ? "; not enough hugepage memory: raise -m / nr_hugepages or use a smaller ring"
                     : err == EINVAL ? "; the size must be a power of two (or ask for an exact size) up to 2^31-1"
                     : err == ENOSPC ? "; all RTE_MAX_MEMZONE slots are used: free some"
                     : err == E_RTE_SECONDARY ? "; the ring list could not be updated from this process"
                                              : "";
  ThrowDpdk(env, op, err, "cannot create ring '" + name + "' of " + std::to_string(count) + " entries" + hint);
}

int SocketArg(const Napi::CallbackInfo& info, size_t i) {
  int64_t socket = ArgI64(info, i, "socket");
  if (socket < -1 || socket > 0x7fffffff) throw Napi::RangeError::New(info.Env(), "socket must be -1 or a socket id");
  return static_cast<int>(socket);
}

// (name, count, socket, flags): a packet ring.
Napi::Value Create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env, "createRing");
  std::string name = ArgString(info, 0, "name");
  uint32_t count = ArgU32(info, 1, "count");
  int socket = SocketArg(info, 2);
  uint32_t flags = ArgFlags(info, 3, "createRing");
  rte_ring* r = rte_ring_create(name.c_str(), count, socket, flags);
  if (r == nullptr) ThrowCreate(env, "createRing", name, count);
  Data(env).rings.MarkCreated(r, true);
  return Ring::Wrap(env, r, true, kPointerSize, true);
}

// (name, elemSize, count, socket, flags): an element ring.
Napi::Value CreateElem(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env, "createRing");
  std::string name = ArgString(info, 0, "name");
  uint32_t esize = ArgU32(info, 1, "elemSize");
  if (esize == 0 || esize % 4 != 0 || esize > kMaxElemSize) {
    ThrowDpdkCode(env, "createRing", "EINVAL",
                  "element size " + std::to_string(esize) + " must be a multiple of 4 in 4.." +
                      std::to_string(kMaxElemSize));
  }
  uint32_t count = ArgU32(info, 2, "count");
  int socket = SocketArg(info, 3);
  uint32_t flags = ArgFlags(info, 4, "createRing");
  rte_ring* r = rte_ring_create_elem(name.c_str(), esize, count, socket, flags);
  if (r == nullptr) ThrowCreate(env, "createRing", name, count);
  Data(env).rings.MarkCreated(r, false);
  return Ring::Wrap(env, r, true, esize, false);
}

// (name, elemSize): elemSize 0 asks for a packet ring.
Napi::Value Lookup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env, "lookupRing");
  std::string name = ArgString(info, 0, "name");
  uint32_t want = ArgU32(info, 1, "elemSize");
  bool packets = want == 0;
  if (packets) want = kPointerSize;
  return Ring::Wrap(env, FindRing(env, "lookupRing", name, want, packets), false, want, packets);
}

}  // namespace

std::shared_ptr<RingSlot> LiveRingSlot(AddonData& data, const rte_ring* r) {
  Ring* ring = data.rings.Find(r);
  return ring == nullptr ? nullptr : ring->Slot();
}

std::shared_ptr<RingSlot> PacketRingSlotFrom(Napi::Env env, Napi::Value value, const char* what) {
  if (!value.IsObject() || !value.As<Napi::Object>().InstanceOf(Data(env).ringCtor.Value())) {
    throw Napi::TypeError::New(env, std::string(what) + " must be a Ring");
  }
  const std::shared_ptr<RingSlot>& slot = Ring::Unwrap(value.As<Napi::Object>())->Slot();
  slot->Live(env, what);
  if (!slot->packets) {
    ThrowDpdkCode(env, what, "EINVAL", "ring '" + slot->name + "' holds elements, not packets; use a packet ring");
  }
  return slot;
}

void ReleaseAllRings(Napi::Env env) {
  AddonData& data = Data(env);
  data.rings.InvalidateAll([](Ring& ring) { ring.Invalidate(true); });
  FreeCreatedRings(data);
}

void ForgetAllRings(Napi::Env env) {
  Data(env).rings.InvalidateAll([](Ring& ring) { ring.Invalidate(false); });
}

void FreeCreatedRings(AddonData& data) {
  data.rings.FreeCreated(
      [](const void* r, bool packets) { FreeRing(static_cast<rte_ring*>(const_cast<void*>(r)), packets); });
}

void InitRing(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = Ring::Define(env);
  Data(env).ringCtor = Napi::Persistent(ctor);
  exports.Set("Ring", ctor);
  exports.Set("ringCreate", Napi::Function::New(env, Create, "ringCreate"));
  exports.Set("ringCreateElem", Napi::Function::New(env, CreateElem, "ringCreateElem"));
  exports.Set("ringLookup", Napi::Function::New(env, Lookup, "ringLookup"));
}

}  // namespace dpdk_core
