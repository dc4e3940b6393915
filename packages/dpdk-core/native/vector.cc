#include "vector.h"

#include <rte_ethdev.h>
#include <rte_ring_peek.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <string>

#include "fastcall.h"

namespace dpdk_core {

namespace {

// The layout of the ArrayBuffer JavaScript reads (offsets in bytes, exported
// to TypeScript so neither side writes them twice): per packet a uint32
// offset, then uint16 length, input port and destination; then the float64
// counters; then the uint32 count of packets held.
struct MetaLayout {
  size_t off, len, port, dest, received, sent, dropped, discarded, count, bytes;

  MetaLayout(uint32_t capacity, size_t sources, size_t outputs) {
    off = 0;
    len = off + 4 * capacity;
    port = len + 2 * capacity;
    dest = port + 2 * capacity;
    received = (dest + 2 * capacity + 7) & ~size_t{7};
    sent = received + 8 * sources;
    dropped = sent + 8 * outputs;
    discarded = dropped + 8 * outputs;
    count = discarded + 8;
    bytes = count + 8;
  }
};

// A store another process may read after this one is killed: the release
// orders what came before, the fence keeps what follows after it.
inline void Publish(uint32_t* word, uint32_t value) {
  __atomic_store_n(word, value, __ATOMIC_RELEASE);
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

inline void Count(uint32_t* counted, uint32_t n) {
  if (counted != nullptr) Publish(counted, *counted + n);
}

// What the device refused is counted here; TxFlush has freed it.
void OnUnsent(rte_mbuf**, uint16_t count, void* userdata) {
  auto* out = static_cast<Output*>(userdata);
  out->owner->AddDropped(out->index, count);
}

}  // namespace

void VectorState::Describe(uint32_t from, uint32_t to, int32_t inputPort) {
  // Locals, so the stores below are not taken to alias this state's fields.
  rte_mbuf* const* __restrict p = pkts;
  uint32_t* __restrict o = off;
  uint16_t* __restrict l = len;
  uint16_t* __restrict in = port;
  const uintptr_t base = span.base;
  const uint64_t limit = span.length;
  for (uint32_t i = from; i < to; i++) {
    const rte_mbuf* m = p[i];
    const uintptr_t data = reinterpret_cast<uintptr_t>(m->buf_addr) + m->data_off;
    // In place when the bytes are one segment inside the pool's memory (an
    // indirect or external buffer may live elsewhere).
    const uint64_t at = data - base;
    const bool inPlace = m->nb_segs == 1 && at <= limit && m->data_len <= limit - at;
    o[i] = inPlace ? static_cast<uint32_t>(at) : 0;
    l[i] = inPlace ? m->data_len : 0;
    in[i] = inputPort >= 0 ? static_cast<uint16_t>(inputPort) : m->port;
  }
  // Every new packet goes nowhere until the handler says otherwise.
  std::fill(dest + from, dest + to, kDropDestination);
}

void VectorState::AddSent(uint32_t out, uint32_t n) {
  sent[out] += n;
  if (mirror != nullptr && sentAt[out] >= 0) mirror[sentAt[out]] += n;
}

void VectorState::AddDropped(uint32_t out, uint32_t n) {
  dropped[out] += n;
  if (mirror != nullptr && droppedAt[out] >= 0) mirror[droppedAt[out]] += n;
}

namespace {

void RequireLive(napi_env env, VectorState& s, const char* op) {
  FastRequireEal(env, *s.data, op);
  if (s.closed) ThrowDpdkCode(Napi::Env(env), op, "E_CLOSED", "this packet vector is closed; create a new one");
  s.mirror = s.counters != nullptr ? s.counters->Require(env, *s.data, op) : nullptr;
}

void AddReceived(VectorState& s, uint32_t source, uint32_t n) {
  s.received[source] += n;
  if (s.mirror != nullptr && s.receivedAt[source] >= 0) s.mirror[s.receivedAt[source]] += n;
}

void FillFromPorts(napi_env env, VectorState& s, const char* op) {
  if (s.pool->mp == nullptr) ThrowClosed(env, op, "mempool", s.pool->name);
  for (const RxSource& src : s.sources) RequireQueueReady(Napi::Env(env), src.port, src.queue, true, op);
  const uint32_t nsources = static_cast<uint32_t>(s.sources.size());
  uint32_t k = s.cursor;
  uint32_t empty = 0;
  PoolActivity* activity = ActivityHere();
  while (s.count < s.capacity && empty < nsources) {
    const RxSource& src = s.sources[k];
    const uint16_t want = static_cast<uint16_t>(std::min<uint32_t>(s.burstSize, s.capacity - s.count));
    // Journaled: until the count below says so, a kill leaves the burst's
    // packets to repairMempool (they go back to the pool).
    const Guard published = s.journal != nullptr ? Guard{&s.journal->count, s.count} : Guard{};
    const uint16_t got = JournaledRx(activity, s.pool->mp, src.port, src.queue, s.pkts + s.count, want, published);
    if (got > 0) {
      // The port each packet was read from, whether or not its driver
      // stamped mbuf->port (net_ring does not).
      s.Describe(s.count, s.count + got, src.port);
      s.count += got;
      if (s.journal != nullptr) Publish(&s.journal->count, s.count);
      AddReceived(s, k, got);
      empty = 0;
    } else {
      empty++;
    }
    if (++k == nsources) k = 0;
  }
  ActivityIdle(activity);
  s.cursor = k;
}

void FillFromRing(napi_env env, VectorState& s, const char* op) {
  if (s.pool->mp == nullptr) ThrowClosed(env, op, "mempool", s.pool->name);
  rte_ring* r = s.inRing->Live(env, op);
  if (s.journal == nullptr) {
    if (s.inRing->peekedBy != nullptr) s.inRing->Idle(env, op);
    const uint32_t n = rte_ring_dequeue_burst(r, reinterpret_cast<void**>(s.pkts + s.count), s.capacity - s.count, nullptr);
    s.Describe(s.count, s.count + n, -1);
    s.count += n;
    AddReceived(s, 0, n);
    return;
  }
  // A batch is peeked, not taken: the ring keeps listing it until send()
  // finishes the dequeue, so a process killed in between leaves it there.
  if (s.count > 0) {
    ThrowDpdkCode(Napi::Env(env), op, "EBUSY",
                  "this vector still holds a batch from ring '" + s.inRing->name + "'; send() or free() it before filling again");
  }
  if (s.inRing->peekedBy != nullptr) s.inRing->Idle(env, op);
  VectorJournal* j = s.journal;
  j->tail0 = __atomic_load_n(&r->cons.tail, __ATOMIC_ACQUIRE);
  j->count = 0;
  j->done = 0;
  Publish(&j->active, 1);
  const uint32_t n = rte_ring_dequeue_burst_start(r, reinterpret_cast<void**>(s.pkts), s.capacity, nullptr);
  Publish(&j->count, n);
  if (n == 0) {
    rte_ring_dequeue_finish(r, 0);
    Publish(&j->active, 0);
    return;
  }
  s.peeked = r;
  s.inRing->peekedBy = &s;
  s.Describe(0, n, -1);
  s.count = n;
  AddReceived(s, 0, n);
}

// fill(): returns how many packets the vector holds.
uint32_t OpFill(napi_env env, VectorState& s, const double*) {
  const char* op = "packetVector.fill";
  RequireLive(env, s, op);
  if (s.inRing != nullptr) {
    FillFromRing(env, s, op);
  } else {
    FillFromPorts(env, s, op);
  }
  *s.held = s.count;
  if (s.failpoint == Failpoint::kKillAfterFill && s.count > 0) raise(SIGKILL);
  return s.count;
}

// Hands packets [p, p+k) to output `out` (outputs.size(): dropped); with
// `counted`, each chunk is counted there before it leaves the vector.
// Returns how many went on (buffered, sent or enqueued).
uint32_t Hand(VectorState& s, uint32_t out, rte_mbuf** p, uint32_t k, uint32_t* counted) {
  // A journaled vector's packets are in its zone: shared memory.
  const bool shared = counted != nullptr;
  const Guard handed = counted != nullptr ? Guard{counted, *counted + k} : Guard{};
  if (out == s.outputs.size()) {
    JournaledFree(p, k, shared, handed, [&] { Count(counted, k); });
    *s.discarded += k;
    return 0;
  }
  Output& o = s.outputs[out];
  switch (o.kind) {
    case OutputKind::kBuffered: {
      s.AddSent(out, TxPutBulk(o.port, o.queue, o.held.buf, p, k, counted));
      return k;
    }
    case OutputKind::kDirect: {
      // Sent until the device takes no more; the rest is freed.
      const uint32_t sent = JournaledTx(o.port, o.queue, p, static_cast<uint16_t>(k), shared, true, handed, [&] { Count(counted, k); });
      if (sent < k) s.AddDropped(out, k - sent);
      s.AddSent(out, sent);
      return sent;
    }
    case OutputKind::kRing: {
      // What the ring refuses is freed.
      const uint32_t in = JournaledEnqueue(o.ring->r, p, k, o.bulk, shared, handed, [&] { Count(counted, k); });
      if (in < k) s.AddDropped(out, k - in);
      s.AddSent(out, in);
      return in;
    }
  }
  return 0;
}

[[noreturn]] void BadDestination(napi_env env, uint32_t i, uint16_t d, size_t outputs) {
  throw Napi::RangeError::New(env, "packet " + std::to_string(i) + " has destination " + std::to_string(d) +
                                       "; this vector has " + std::to_string(outputs) + " outputs (0.." +
                                       std::to_string(outputs - 1) + ") and DROP (65535); nothing was sent");
}

// The vector ends empty; a journal says so before anything else may reuse
// the slots (count first: a kill between the two stores then frees nothing).
// The lengths JavaScript checks against go to 0, so no accessor reaches a
// packet the vector no longer holds, and so does the count it reads: this
// also runs when the vector is emptied behind JavaScript's back (its ring
// handle closing, cleanup()).
void Settle(VectorState& s, uint32_t n) {
  std::memset(s.len, 0, sizeof(uint16_t) * s.count);
  *s.held = 0;
  if (s.peeked != nullptr) {
    rte_ring_dequeue_finish(s.peeked, n);
    s.peeked = nullptr;
    if (s.inRing != nullptr) s.inRing->peekedBy = nullptr;
  }
  if (s.journal != nullptr) {
    Publish(&s.journal->count, 0);
    Publish(&s.journal->done, 0);
    Publish(&s.journal->active, 0);
  }
  s.count = 0;
}

// send(): every packet goes to the output its destination names (DROP: freed
// and counted as discarded); the vector ends empty. Returns how many packets
// were buffered, sent or enqueued.
uint32_t OpSend(napi_env env, VectorState& s, const double*) {
  const char* op = "packetVector.send";
  RequireLive(env, s, op);
  const uint32_t n = s.count;
  if (n == 0) return 0;
  const uint32_t nout = static_cast<uint32_t>(s.outputs.size());
  // Destinations are checked before anything moves, so a bad one leaves the
  // vector as it was: a branch-free pass (the compiler vectorizes it), then
  // a search only when it found something.
  const uint16_t* __restrict dest = s.dest;
  uint32_t bad = 0;
  for (uint32_t i = 0; i < n; i++) bad |= static_cast<uint32_t>(dest[i] >= nout) & static_cast<uint32_t>(dest[i] != kDropDestination);
  if (bad != 0) {
    for (uint32_t i = 0; i < n; i++) {
      if (dest[i] >= nout && dest[i] != kDropDestination) BadDestination(env, i, dest[i], nout);
    }
  }
  for (const Output& o : s.outputs) {
    if (o.kind == OutputKind::kRing) {
      o.ring->Live(env, op);
    } else {
      RequireQueueReady(Napi::Env(env), o.port, o.queue, false, op);
    }
  }
  uint32_t handed = 0;
  uint32_t* counted = s.journal != nullptr ? &s.journal->done : nullptr;
  if (counted != nullptr || !s.groupShares) {
    // In order, run by run: a journal counts a prefix of the vector, and a TX
    // buffer takes a run as well as a share.
    for (uint32_t i = 0; i < n;) {
      const uint16_t d = dest[i];
      uint32_t end = i + 1;
      while (end < n && dest[end] == d) end++;
      handed += Hand(s, d == kDropDestination ? nout : d, s.pkts + i, end - i, counted);
      i = end;
      if (s.failpoint == Failpoint::kSendKillAfterChunk && counted != nullptr) raise(SIGKILL);
    }
  } else {
    // A bulk ring's share goes in whole or not at all (client_server_mp's
    // enqueue_bulk per client), any ring's in one enqueue: group the shares
    // first, each in arrival order.
    std::fill(s.shares.begin(), s.shares.end(), 0);
    for (uint32_t i = 0; i < n; i++) s.shares[dest[i] == kDropDestination ? nout : dest[i]]++;
    uint32_t at = 0;
    for (uint32_t k = 0; k <= nout; k++) {
      const uint32_t share = s.shares[k];
      s.shares[k] = at;
      at += share;
    }
    for (uint32_t i = 0; i < n; i++) s.staging[s.shares[dest[i] == kDropDestination ? nout : dest[i]]++] = s.pkts[i];
    uint32_t start = 0;
    for (uint32_t k = 0; k <= nout; k++) {
      const uint32_t end = s.shares[k];
      if (end > start) handed += Hand(s, k, s.staging.data() + start, end - start, nullptr);
      start = end;
    }
  }
  Settle(s, n);
  return handed;
}

// flush(): what the TX buffers hold goes out; returns how many were sent.
uint32_t OpFlush(napi_env env, VectorState& s, const double*) {
  const char* op = "packetVector.flush";
  RequireLive(env, s, op);
  uint32_t total = 0;
  for (uint32_t k = 0; k < s.outputs.size(); k++) {
    Output& o = s.outputs[k];
    if (o.kind != OutputKind::kBuffered || TxLength(o.held.buf) == 0) continue;
    RequireQueueReady(Napi::Env(env), o.port, o.queue, false, op);
    const uint16_t sent = TxFlush(o.port, o.queue, o.held.buf);
    s.AddSent(k, sent);
    total += sent;
  }
  return total;
}

// Packets held go back: a peeked batch stays in its ring (the dequeue is
// undone), anything else is freed and counted as discarded. Returns how many.
uint32_t Release(VectorState& s) {
  const uint32_t n = s.count;
  if (n == 0) return 0;
  if (s.peeked != nullptr) {
    Settle(s, 0);
    return n;
  }
  // The journal says empty before the packets are freed, and the free is
  // journaled from then on.
  const Guard emptied = s.journal != nullptr ? Guard{&s.journal->count, 0} : Guard{};
  JournaledFree(s.pkts, n, s.journal != nullptr, emptied, [&] { Settle(s, 0); });
  *s.discarded += n;
  return n;
}

uint32_t OpFree(napi_env env, VectorState& s, const double*) {
  FastRequireEal(env, *s.data, "packetVector.free");
  return Release(s);
}

// Empties and frees the TX buffers and zones; the vector is closed after.
void Close(VectorState& s) {
  if (s.closed) return;
  // The caller's counters may be gone by now (teardown, a freed memzone):
  // what is dropped here is counted in the vector only.
  s.mirror = nullptr;
  Release(s);
  for (Output& o : s.outputs) {
    if (o.kind != OutputKind::kBuffered || o.held.buf == nullptr) continue;
    o.owner->AddDropped(o.index, TxDiscard(o.held.buf));
    ReleaseTxBuffer(*s.data, o.held);
  }
  if (s.zone != nullptr) {
    ReleaseNamedZone(*s.data, s.zone);
    s.zone = nullptr;
    s.journal = nullptr;
  }
  s.closed = true;
}

// Settles what a dead owner left in a vector zone; the caller holds the zone.
// Returns {requeued (back in the ring), freed (back to the pool)}.
std::pair<uint32_t, uint32_t> SettleZone(const rte_memzone* mz) {
  auto* j = static_cast<VectorJournal*>(mz->addr);
  const uint32_t count = std::min(__atomic_load_n(&j->count, __ATOMIC_ACQUIRE), j->capacity);
  const uint32_t done = std::min(__atomic_load_n(&j->done, __ATOMIC_ACQUIRE), count);
  uint32_t requeued = 0;
  uint32_t freed = 0;
  if (j->input == kInputRing) {
    if (__atomic_load_n(&j->active, __ATOMIC_ACQUIRE) != 0) {
      char name[RTE_RING_NAMESIZE];
      std::memcpy(name, j->ring, sizeof(name));
      name[sizeof(name) - 1] = '\0';
      rte_ring* r = rte_ring_lookup(name);
      // A finished batch moved the tail; an unfinished one left it at tail0,
      // with the head wherever the peek put it.
      if (r != nullptr && r->cons.sync_type == RTE_RING_SYNC_ST &&
          __atomic_load_n(&r->cons.tail, __ATOMIC_ACQUIRE) == j->tail0) {
        const uint32_t pos = j->tail0 + done;
        r->cons.head = pos;
        __atomic_store_n(&r->cons.tail, pos, __ATOMIC_RELEASE);
        requeued = count - done;
      }
    }
  } else if (count > done) {
    // Emptied before the free, which is journaled from then on: a reclaim
    // killed in between never frees them twice.
    JournaledFree(ZonePackets(mz) + done, count - done, true, Guard{&j->count, 0}, [j] { Publish(&j->count, 0); });
    freed = count - done;
  }
  Publish(&j->count, 0);
  Publish(&j->done, 0);
  Publish(&j->active, 0);
  return {requeued, freed};
}

}  // namespace

class PacketVector : public Napi::ObjectWrap<PacketVector> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "PacketVector",
                       {
                           InstanceAccessor<&PacketVector::Meta>("meta"),
                           InstanceAccessor<&PacketVector::Layout>("layout"),
                           InstanceAccessor<&PacketVector::Settled>("settled"),
                           InstanceAccessor<&PacketVector::Closed>("closed"),
                           InstanceAccessor<&PacketVector::Buffered>("buffered"),
                           InstanceMethod<&PacketVector::FastPath>("fastPath"),
                           InstanceMethod<&PacketVector::Why>("why"),
                           InstanceMethod<&PacketVector::ArmFailpoint>("armFailpoint"),
                           InstanceMethod<&PacketVector::CloseMethod>("close"),
                       });
  }

  // (capacity, pool, input, outputs, name?, counters?): shapes checked by
  // TypeScript (vector.ts); here types, and ports, queues and rings against
  // what exists.
  explicit PacketVector(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PacketVector>(info) {
    Napi::Env env = info.Env();
    const char* op = "createPacketVector";
    RequireEal(env, op);
    VectorState& s = *st_;
    s.data = &Data(env);
    s.capacity = ArgU32(info, 0, "capacity");
    if (s.capacity == 0 || s.capacity > kMaxVector) {
      throw Napi::RangeError::New(env, "capacity must be 1.." + std::to_string(kMaxVector));
    }
    s.pool = PoolStateFrom(env, info[1], "pool");
    s.span = SpanOf(s.pool->mp);
    if (s.span.length == 0 || s.span.length > kMaxViewBytes) {
      ThrowDpdkCode(env, op, "EINVAL", "mempool '" + s.pool->name + "' spans more than 4 GiB; packet views cover smaller pools");
    }
    if (!info[2].IsObject() || !info[3].IsArray()) {
      throw Napi::TypeError::New(env, "createPacketVector: input must be an object and outputs an array");
    }
    ParseInput(env, info[2].As<Napi::Object>());
    ParseOutputs(env, info[3].As<Napi::Array>());
    const std::string name = info[4].IsString() ? info[4].As<Napi::String>().Utf8Value() : "";
    if (info[5].IsObject()) ParseCounters(env, info[5].As<Napi::Object>());
    const MetaLayout layout(s.capacity, s.sources.size() + (s.inRing ? 1 : 0), s.outputs.size());
    Napi::ArrayBuffer meta = Napi::ArrayBuffer::New(env, layout.bytes);
    auto* base = static_cast<uint8_t*>(meta.Data());
    s.off = reinterpret_cast<uint32_t*>(base + layout.off);
    s.len = reinterpret_cast<uint16_t*>(base + layout.len);
    s.port = reinterpret_cast<uint16_t*>(base + layout.port);
    s.dest = reinterpret_cast<uint16_t*>(base + layout.dest);
    s.received = reinterpret_cast<double*>(base + layout.received);
    s.sent = reinterpret_cast<double*>(base + layout.sent);
    s.dropped = reinterpret_cast<double*>(base + layout.dropped);
    s.discarded = reinterpret_cast<double*>(base + layout.discarded);
    s.held = reinterpret_cast<uint32_t*>(base + layout.count);
    meta_ = Napi::Persistent(meta);
    layout_ = Napi::Persistent(LayoutObject(env, layout));
    s.staging.assign(s.capacity, nullptr);
    s.shares.assign(s.outputs.size() + 1, 0);
    try {
      if (!name.empty()) HoldZone(env, name);
      if (s.zone == nullptr) {
        s.own.assign(s.capacity, nullptr);
        s.pkts = s.own.data();
      }
      HoldBuffers(env);
    } catch (...) {
      Close(s);
      throw;
    }
    s.data->vectors.Add(this);
  }

  ~PacketVector() override {
    AddonData& data = Data(Env());
    if (data.EalUsable()) Close(*st_);
    st_->closed = true;
    data.vectors.Remove(this);
  }

  void Release() {
    Close(*st_);
    st_->data->vectors.Remove(this);
  }

  // The handle of `pool` is closing: if this vector views it, the lengths
  // JavaScript checks go to 0 (the packets stay held; send() and free() work).
  void Hide(const PoolState& pool) {
    VectorState& s = *st_;
    if (s.pool.get() == &pool) std::memset(s.len, 0, sizeof(uint16_t) * s.count);
  }

 private:
  void ParseInput(Napi::Env env, Napi::Object input) {
    VectorState& s = *st_;
    Napi::Value ring = input.Get("ring");
    if (!ring.IsUndefined()) {
      s.inRing = PacketRingSlotFrom(env, ring, "input.ring");
      return;
    }
    Napi::Array ports = input.Get("ports").As<Napi::Array>();
    s.burstSize = static_cast<uint16_t>(input.Get("burstSize").As<Napi::Number>().Uint32Value());
    for (uint32_t i = 0; i < ports.Length(); i++) {
      Napi::Object src = ports.Get(i).As<Napi::Object>();
      const uint32_t port = src.Get("port").As<Napi::Number>().Uint32Value();
      const uint32_t queue = src.Get("queue").As<Napi::Number>().Uint32Value();
      RequirePortQueue(env, port, queue, true);
      s.sources.push_back({static_cast<uint16_t>(port), static_cast<uint16_t>(queue)});
    }
  }

  void ParseOutputs(Napi::Env env, Napi::Array list) {
    VectorState& s = *st_;
    s.outputs.reserve(list.Length());
    for (uint32_t i = 0; i < list.Length(); i++) {
      Napi::Object o = list.Get(i).As<Napi::Object>();
      Output out;
      out.owner = &s;
      out.index = i;
      Napi::Value ring = o.Get("ring");
      if (!ring.IsUndefined()) {
        out.kind = OutputKind::kRing;
        out.ring = PacketRingSlotFrom(env, ring, "outputs[].ring");
        out.bulk = o.Get("bulk").ToBoolean();
        s.groupShares = true;
      } else {
        out.kind = o.Get("bufferSize").IsNumber() ? OutputKind::kBuffered : OutputKind::kDirect;
        const uint32_t port = o.Get("port").As<Napi::Number>().Uint32Value();
        const uint32_t queue = o.Get("queue").As<Napi::Number>().Uint32Value();
        RequirePortQueue(env, port, queue, false);
        out.port = static_cast<uint16_t>(port);
        out.queue = static_cast<uint16_t>(queue);
      }
      s.outputs.push_back(std::move(out));
    }
    outputSpecs_ = Napi::Persistent(list);
  }

  void ParseCounters(Napi::Env env, Napi::Object c) {
    VectorState& s = *st_;
    auto indexes = [&](const char* key, size_t n) {
      std::vector<int32_t> at(n, -1);
      Napi::Value v = c.Get(key);
      if (!v.IsArray()) return at;
      Napi::Array a = v.As<Napi::Array>();
      for (uint32_t i = 0; i < std::min<size_t>(n, a.Length()); i++) at[i] = a.Get(i).As<Napi::Number>().Int32Value();
      return at;
    };
    counters_.Hold(env, c.Get("array"), 1, "counters.array");
    s.counters = &counters_;
    s.receivedAt = indexes("received", s.sources.size() + (s.inRing ? 1 : 0));
    s.sentAt = indexes("sent", s.outputs.size());
    s.droppedAt = indexes("dropped", s.outputs.size());
  }

  static void RequirePortQueue(Napi::Env env, uint32_t port, uint32_t queue, bool rx) {
    rte_eth_dev_info di;
    if (port >= RTE_MAX_ETHPORTS || !rte_eth_dev_is_valid_port(static_cast<uint16_t>(port)) ||
        rte_eth_dev_info_get(static_cast<uint16_t>(port), &di) != 0) {
      ThrowDpdkCode(env, "createPacketVector", "ENODEV", "port " + std::to_string(port) + " does not exist");
    }
    const uint16_t have = rx ? di.nb_rx_queues : di.nb_tx_queues;
    if (queue >= have) {
      ThrowDpdkCode(env, "createPacketVector", "EINVAL",
                    "port " + std::to_string(port) + " has no " + (rx ? "rx" : "tx") + " queue " + std::to_string(queue) +
                        " (it has " + std::to_string(have) + "); the primary sets the queues up");
    }
  }

  // A named vector's zone: reserved, or taken over from a dead owner, whose
  // packets are settled first (back to their ring or pool).
  void HoldZone(Napi::Env env, const std::string& name) {
    VectorState& s = *st_;
    if (s.inRing != nullptr && s.inRing->r->cons.sync_type != RTE_RING_SYNC_ST) {
      ThrowDpdkCode(env, "createPacketVector", "EINVAL",
                    "ring '" + s.inRing->name +
                        "' has several consumers; a named vector takes batches it can undo, which needs a single-consumer ring");
    }
    const NamedZone zone = HoldNamedZone(env, "createPacketVector", name,
                                         kVectorZoneHeader + sizeof(rte_mbuf*) * s.capacity, SOCKET_ID_ANY,
                                         kVectorZoneMagic, "packet vector");
    s.zone = zone.mz;
    if (zone.adopted) {
      auto [requeued, freed] = SettleZone(zone.mz);
      *s.discarded += freed;
      settledRequeued_ = requeued;
      settledFreed_ = freed;
    }
    s.journal = static_cast<VectorJournal*>(zone.mz->addr);
    s.journal->capacity = s.capacity;
    s.journal->input = s.inRing != nullptr ? kInputRing : kInputPorts;
    std::memset(s.journal->ring, 0, sizeof(s.journal->ring));
    if (s.inRing != nullptr) std::strncpy(s.journal->ring, s.inRing->name.c_str(), sizeof(s.journal->ring) - 1);
    s.pkts = ZonePackets(zone.mz);
  }

  // TX buffers of the buffered outputs; a named one ("<name>" given per
  // output) in its zone, taken over from a dead owner (what it held is
  // freed and counted as dropped on that output).
  void HoldBuffers(Napi::Env env) {
    VectorState& s = *st_;
    Napi::Array specs = outputSpecs_.Value();
    for (uint32_t k = 0; k < s.outputs.size(); k++) {
      Output& o = s.outputs[k];
      if (o.kind != OutputKind::kBuffered) continue;
      Napi::Object spec = specs.Get(k).As<Napi::Object>();
      const uint32_t size = spec.Get("bufferSize").As<Napi::Number>().Uint32Value();
      Napi::Value bufferName = spec.Get("bufferName");
      uint64_t discarded = 0;
      o.held = HoldTxBuffer(env, "createPacketVector", bufferName.IsString() ? bufferName.As<Napi::String>().Utf8Value() : "",
                            size, rte_eth_dev_socket_id(o.port), &discarded);
      rte_eth_tx_buffer_init(o.held.buf, static_cast<uint16_t>(size));
      rte_eth_tx_buffer_set_err_callback(o.held.buf, OnUnsent, &o);
      s.dropped[k] += static_cast<double>(discarded);
    }
  }

  static Napi::Object LayoutObject(Napi::Env env, const MetaLayout& l) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("off", l.off);
    o.Set("len", l.len);
    o.Set("port", l.port);
    o.Set("dest", l.dest);
    o.Set("received", l.received);
    o.Set("sent", l.sent);
    o.Set("dropped", l.dropped);
    o.Set("discarded", l.discarded);
    o.Set("count", l.count);
    return o;
  }

  Napi::Value Meta(const Napi::CallbackInfo& info) { return meta_.Value(); }
  Napi::Value Layout(const Napi::CallbackInfo& info) { return layout_.Value(); }
  // What this vector found of a dead owner's in its zone when it took it over.
  Napi::Value Settled(const Napi::CallbackInfo& info) {
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("requeued", settledRequeued_);
    o.Set("freed", settledFreed_);
    return o;
  }
  Napi::Value Closed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), st_->closed); }
  Napi::Value Buffered(const Napi::CallbackInfo& info) {
    uint32_t n = 0;
    if (!st_->closed) {
      for (const Output& o : st_->outputs) {
        if (o.kind == OutputKind::kBuffered) n += TxLength(o.held.buf);
      }
    }
    return Napi::Number::New(info.Env(), n);
  }

  // { fill, send, flush, free }, called through the frame (fastcall.h).
  Napi::Value FastPath(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object fns = Napi::Object::New(env);
    fns.Set("fill", Bind<VectorState, OpFill>(env, "fill", st_));
    fns.Set("send", Bind<VectorState, OpSend>(env, "send", st_));
    fns.Set("flush", Bind<VectorState, OpFlush>(env, "flush", st_));
    fns.Set("free", Bind<VectorState, OpFree>(env, "free", st_));
    return fns;
  }

  // Why packet i cannot be viewed in place (for TypeScript's error message).
  Napi::Value Why(const Napi::CallbackInfo& info) {
    const uint32_t i = ArgU32(info, 0, "index");
    VectorState& s = *st_;
    if (i >= s.count || s.closed) return info.Env().Undefined();
    if (s.pool->mp == nullptr) {
      return Napi::String::New(info.Env(), "the handle of mempool '" + s.pool->name +
                                               "' this vector views was closed; send() or free() the packets, and make a "
                                               "new vector over a handle from lookupMempool()");
    }
    const rte_mbuf* m = s.pkts[i];
    if (m->nb_segs != 1) {
      return Napi::String::New(info.Env(), "it has " + std::to_string(m->nb_segs) +
                                               " segments; views show single-segment packets only (copy it with a Burst's readBytes)");
    }
    // Fresh from a pool (allocBulk) and sent on before anybody wrote it.
    if (m->data_len == 0) return Napi::String::New(info.Env(), "it holds no bytes (data length 0)");
    return Napi::String::New(info.Env(), std::string("its data is not in mempool '") + s.pool->name +
                                             "' (it comes from pool '" + (m->pool != nullptr ? m->pool->name : "?") +
                                             "' or an external buffer); view it with a vector of that pool");
  }

  Napi::Value ArmFailpoint(const Napi::CallbackInfo& info) {
    const std::string which = ArgString(info, 0, "failpoint");
    st_->failpoint = which == "send-kill-after-chunk" ? Failpoint::kSendKillAfterChunk
                     : which == "kill-after-fill"     ? Failpoint::kKillAfterFill
                                                      : Failpoint::kNone;
    return info.Env().Undefined();
  }

  Napi::Value CloseMethod(const Napi::CallbackInfo& info) {
    if (!st_->closed) RequireEal(info.Env(), "packetVector.close");
    Release();
    return info.Env().Undefined();
  }

  Napi::Reference<Napi::ArrayBuffer> meta_;
  Napi::ObjectReference layout_;
  Napi::Reference<Napi::Array> outputSpecs_;
  CounterArray counters_;
  uint32_t settledRequeued_ = 0;
  uint32_t settledFreed_ = 0;
  std::shared_ptr<VectorState> st_ = std::make_shared<VectorState>();
};

void AbandonPeek(VectorState& vector) { Settle(vector, 0); }

void HideViewsOf(AddonData& data, const PoolState& pool) {
  data.vectors.ForEach([&pool](PacketVector& v) { v.Hide(pool); });
}

void ReleaseVectors(AddonData& data) {
  data.vectors.ForEach([](PacketVector& v) { v.Release(); });
  data.vectors.Clear();
}

namespace {

// reclaimPacketVector(name): for a named vector whose process is gone.
Napi::Value ReclaimPacketVector(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "reclaimPacketVector";
  RequireEal(env, op);
  const std::string name = ArgString(info, 0, "name");
  const rte_memzone* mz = rte_memzone_lookup(name.c_str());
  if (mz == nullptr) {
    ThrowDpdkCode(env, op, "ENOENT", "no packet vector '" + name + "' (no memzone of that name): it was never named so, or it was freed");
  }
  if (mz->len < kVectorZoneHeader ||
      static_cast<const VectorJournal*>(mz->addr)->capacity > (mz->len - kVectorZoneHeader) / sizeof(rte_mbuf*)) {
    ThrowDpdkCode(env, op, "EINVAL", "memzone '" + name + "' is not a packet vector's; nothing was changed");
  }
  ClaimDeadZone(env, op, mz, kVectorZoneMagic, "packet vector", name);
  auto [requeued, freed] = SettleZone(mz);
  ReleaseNamedZone(Data(env), mz);
  Napi::Object out = Napi::Object::New(env);
  out.Set("requeued", requeued);
  out.Set("freed", freed);
  return out;
}

}  // namespace

void InitVector(Napi::Env env, Napi::Object exports) {
  exports.Set("PacketVector", PacketVector::Define(env));
  exports.Set("reclaimPacketVector", Napi::Function::New(env, ReclaimPacketVector, "reclaimPacketVector"));
  exports.Set("maxVector", kMaxVector);
}

}  // namespace dpdk_core
