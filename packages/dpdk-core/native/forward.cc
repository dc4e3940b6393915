// Fused forwarding primitives: each moves a whole burst in one native call
// where the equivalent in JS would need one call per packet.
// - RoundRobin: hands a burst's packets to N packet rings in turn, with a
//   cursor that persists across bursts, enqueues each ring's share in bulk,
//   and drops (frees and counts) a share whose ring is full; never blocks.
// - PortForwarder: sends each packet of a burst to the output port paired
//   with the port it arrived on, through one TX buffer per output port on a
//   given TX queue; sent and dropped packets are counted per port id in a
//   caller-supplied BigUint64Array (which may view shared memory, so another
//   process can read the counters). forward() takes each burst from a source
//   ring itself, as a batch a dead process leaves settleable (journal.h).
#include <rte_ethdev.h>
#include <rte_ring.h>
#include <rte_ring_peek.h>

#include <array>
#include <csignal>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "burst.h"
#include "common.h"
#include "counters.h"
#include "fastcall.h"
#include "journal.h"
#include "ring.h"
#include "txzone.h"

namespace dpdk_core {

namespace {

constexpr uint32_t kMaxRings = 1024;
constexpr uint16_t kNoRoute = UINT16_MAX;

// A ring handle is resolved by name to the slot of this process's open handle
// of that ring, so a freed or closed ring is refused (its slot is cleared)
// instead of being written through a dangling pointer.
std::shared_ptr<RingSlot> RingFromHandle(Napi::Env env, Napi::Value value, const char* op) {
  if (!value.IsObject()) throw Napi::TypeError::New(env, std::string(op) + ": rings must be Ring handles");
  Napi::Object o = value.As<Napi::Object>();
  Napi::Value name = o.Get("name");
  Napi::Value packets = o.Get("packets");
  if (!name.IsString() || !packets.IsBoolean()) {
    throw Napi::TypeError::New(env, std::string(op) + ": rings must be Ring handles");
  }
  std::string n = name.As<Napi::String>().Utf8Value();
  if (!packets.As<Napi::Boolean>().Value()) {
    ThrowDpdkCode(env, op, "EINVAL", "ring '" + n + "' holds elements, not packets");
  }
  rte_ring* r = rte_ring_lookup(n.c_str());
  std::shared_ptr<RingSlot> slot = r == nullptr ? nullptr : LiveRingSlot(Data(env), r);
  if (slot == nullptr || slot->r == nullptr) {
    ThrowDpdkCode(env, op, "E_CLOSED", "ring '" + n + "' is closed or freed; look it up again");
  }
  return slot;
}

void RequireLive(napi_env env, const AddonData& data, bool freed, const char* op, const char* what) {
  FastRequireEal(env, data, op);
  if (freed) ThrowDpdkCode(Napi::Env(env), op, "E_CLOSED", std::string(what) + " is freed; create a new one");
}

// A RoundRobin's state, shared with its distribute and poll functions
// (fastcall.h).
struct RoundRobinState {
  AddonData* data = nullptr;
  std::vector<std::shared_ptr<RingSlot>> rings;
  std::vector<std::vector<rte_mbuf*>> staged;
  std::vector<uint64_t> enqueued;
  std::vector<uint64_t> dropped;
  std::array<uint32_t, kMaxRings> counts{};
  uint32_t cursor = 0;
  bool closed = false;
  // What poll reads: these ports' rx queue, in turn, from portIndex on.
  std::vector<uint16_t> rxPorts;
  uint16_t rxQueue = 0;
  uint16_t rxBurstSize = 0;
  uint32_t portIndex = 0;
  // Packets received per port index. Owned by the RoundRobin handle, which
  // sets closed before it goes.
  CounterArray* rxCounters = nullptr;
  std::array<rte_mbuf*, Burst::kMaxCapacity> rxBuf{};

  // Throws unless every ring is still open.
  void RequireRings(napi_env env, const char* op) const {
    for (const auto& slot : rings) {
      if (slot->r == nullptr) ThrowDpdkCode(Napi::Env(env), op, "E_CLOSED", "ring '" + slot->name + "' was freed");
    }
  }

  // Hands pkts to the rings in turn from the cursor on; a ring whose share
  // does not fit gets none of it (freed, counted). Returns how many were
  // enqueued.
  uint32_t Spread(rte_mbuf* const* pkts, uint32_t n) {
    const uint32_t nrings = static_cast<uint32_t>(rings.size());
    if (nrings == 1) return Share(0, pkts, n);
    std::fill(counts.begin(), counts.begin() + nrings, 0);
    uint32_t c = cursor;
    for (uint32_t i = 0; i < n; i++) {
      staged[c][counts[c]++] = pkts[i];
      if (++c == nrings) c = 0;
    }
    cursor = c;
    uint32_t total = 0;
    for (uint32_t k = 0; k < nrings; k++) {
      if (counts[k] > 0) total += Share(k, staged[k].data(), counts[k]);
    }
    return total;
  }

  // Ring k's share, enqueued whole or dropped whole; how many were enqueued.
  uint32_t Share(uint32_t k, rte_mbuf* const* share, uint32_t cnt) {
    if (rte_ring_enqueue_bulk(rings[k]->r, reinterpret_cast<void* const*>(share), cnt, nullptr) == 0) {
      rte_pktmbuf_free_bulk(const_cast<rte_mbuf**>(share), cnt);
      dropped[k] += cnt;
      return 0;
    }
    enqueued[k] += cnt;
    return cnt;
  }
};

// distribute(burstId): returns how many packets were enqueued; the burst ends
// empty either way.
uint32_t OpDistribute(napi_env env, RoundRobinState& s, const double* args) {
  RequireLive(env, *s.data, s.closed, "roundRobin.distribute", "this RoundRobin");
  Burst* burst = Burst::FromId(env, *s.data, args[0]);
  s.RequireRings(env, "roundRobin.distribute");
  const uint32_t total = s.Spread(burst->pkts(), burst->count());
  burst->SetCount(0);
  return total;
}

constexpr uint32_t kMaxPolls = 65536;

// poll(polls): the C server's loop, `polls` times: receive a burst from the
// next port and distribute it. Returns how many packets were received (each
// either enqueued or dropped and counted).
uint32_t OpPoll(napi_env env, RoundRobinState& s, const double* args) {
  const char* op = "roundRobin.poll";
  RequireLive(env, *s.data, s.closed, op, "this RoundRobin");
  const uint32_t polls = FastU32(env, args[0], "polls");
  if (polls == 0 || polls > kMaxPolls) {
    throw Napi::RangeError::New(env, "polls must be 1.." + std::to_string(kMaxPolls));
  }
  if (s.rxPorts.empty()) {
    ThrowDpdkCode(Napi::Env(env), op, "EINVAL", "this RoundRobin has no ports to poll; create it with { poll: { ports } }");
  }
  s.RequireRings(env, op);
  for (uint16_t port : s.rxPorts) RequireQueueReady(Napi::Env(env), port, s.rxQueue, true, op);
  volatile uint64_t* counters = s.rxCounters->Require(env, *s.data, op);
  const uint32_t nports = static_cast<uint32_t>(s.rxPorts.size());
  uint32_t index = s.portIndex;
  uint32_t received = 0;
  for (uint32_t i = 0; i < polls; i++) {
    const uint16_t n = rte_eth_rx_burst(s.rxPorts[index], s.rxQueue, s.rxBuf.data(), s.rxBurstSize);
    counters[index] += n;
    if (n > 0) {
      s.Spread(s.rxBuf.data(), n);
      received += n;
    }
    if (++index == nports) index = 0;
  }
  s.portIndex = index;
  return received;
}

struct ForwarderState;

struct ErrorContext {
  ForwarderState* state;
  uint16_t port;
};

// A PortForwarder's state, shared with its send/flush/forward functions.
struct ForwarderState {
  AddonData* data = nullptr;
  // tx[port] and, RTE_MAX_ETHPORTS on, drop[port]. Owned by the
  // PortForwarder handle, which sets freed before it goes; tx and drop point
  // into it, good while counters->Require passes.
  CounterArray* counters = nullptr;
  volatile uint64_t* tx = nullptr;
  volatile uint64_t* drop = nullptr;
  std::array<uint16_t, RTE_MAX_ETHPORTS> out{};
  std::array<HeldTxBuffer, RTE_MAX_ETHPORTS> held{};
  std::array<ErrorContext, RTE_MAX_ETHPORTS> errorCtx{};
  std::vector<uint16_t> ports;
  uint64_t unroutable = 0;
  uint16_t queue = 0;
  bool freed = false;
  // forward(): the ring it pulls from, where it peeks, and a named
  // forwarder's journal (journal.h) in its zone.
  std::shared_ptr<RingSlot> source;
  std::array<rte_mbuf*, Burst::kMaxCapacity> staging{};
  const rte_memzone* journalZone = nullptr;
  Failpoint failpoint = Failpoint::kNone;

  // Packets still buffered are freed and counted as dropped (while the
  // counters are there: env null means JavaScript cannot be asked, at
  // teardown).
  void FreeBuffers(napi_env env) {
    const bool count =
        counters != nullptr && (env != nullptr ? !counters->Gone(env, *data) : counters->KnownLive(*data));
    for (uint16_t p : ports) {
      const uint16_t discarded = TxDiscard(held[p].buf);
      if (count) drop[p] += discarded;
      ReleaseTxBuffer(*data, held[p]);
    }
    ports.clear();
    if (journalZone != nullptr) {
      ReleaseNamedZone(*data, journalZone);
      journalZone = nullptr;
    }
    freed = true;
  }

  ForwardJournal* Journal() const {
    return journalZone != nullptr ? static_cast<ForwardJournal*>(journalZone->addr) : nullptr;
  }

  // Buffers each packet for the port paired with its input port; returns how
  // many went out on the wire. With `counted`, each packet is added there
  // before it is buffered or freed (the journal's done).
  uint32_t Route(rte_mbuf* const* pkts, uint32_t n, uint32_t* counted) {
    uint32_t sent = 0;
    // Packets of one input port come in runs (a burst is read from one
    // port), and a run goes into its output buffer in one bulk put.
    for (uint32_t i = 0; i < n;) {
      const uint16_t in = pkts[i]->port;
      const uint16_t o = in < RTE_MAX_ETHPORTS ? out[in] : kNoRoute;
      if (o == kNoRoute) {
        if (counted != nullptr) {
          __atomic_store_n(counted, *counted + 1, __ATOMIC_RELEASE);
          __atomic_signal_fence(__ATOMIC_SEQ_CST);
        }
        unroutable++;
        rte_pktmbuf_free(pkts[i++]);
        continue;
      }
      uint32_t end = i + 1;
      while (end < n && pkts[end]->port == in) end++;
      const uint32_t sentNow = TxPutBulk(o, queue, held[o].buf, pkts + i, end - i, counted);
      tx[o] += sentNow;
      sent += sentNow;
      i = end;
      if (failpoint == Failpoint::kForwardKillAfterChunk && counted != nullptr) raise(SIGKILL);
    }
    return sent;
  }
};

// What the device did not take when a buffer was flushed: counted as dropped
// on that port and freed, as the C client's callback does.
void OnUnsent(rte_mbuf** unsent, uint16_t count, void* userdata) {
  auto* ctx = static_cast<ErrorContext*>(userdata);
  ctx->state->drop[ctx->port] += count;
  rte_pktmbuf_free_bulk(unsent, count);
}

// send(burstId): buffers every packet for its paired port (the burst ends
// empty); returns how many went out on the wire during the call.
uint32_t OpSend(napi_env env, ForwarderState& s, const double* args) {
  RequireLive(env, *s.data, s.freed, "portForwarder.send", "this PortForwarder");
  s.counters->Require(env, *s.data, "portForwarder.send");
  Burst* burst = Burst::FromId(env, *s.data, args[0]);
  const uint32_t sent = s.Route(burst->pkts(), burst->count(), nullptr);
  burst->SetCount(0);
  return sent;
}

// forward(max): takes up to max packets from the source ring and buffers
// them as send does, as one journaled batch (journal.h); returns how many
// it took.
uint32_t OpForward(napi_env env, ForwarderState& s, const double* args) {
  const char* op = "portForwarder.forward";
  RequireLive(env, *s.data, s.freed, op, "this PortForwarder");
  s.counters->Require(env, *s.data, op);
  if (s.source == nullptr) {
    ThrowDpdkCode(Napi::Env(env), op, "EINVAL", "this PortForwarder has no source ring; create it with { source: ring }");
  }
  rte_ring* r = s.source->Live(env, op);
  const uint32_t max = FastU32(env, args[0], "max");
  if (max == 0 || max > Burst::kMaxCapacity) {
    throw Napi::RangeError::New(env, "max must be 1.." + std::to_string(Burst::kMaxCapacity));
  }
  ForwardJournal* j = s.Journal();
  if (j != nullptr) {
    j->tail0 = r->cons.tail;
    j->count = 0;
    j->done = 0;
    __atomic_store_n(&j->active, 1u, __ATOMIC_RELEASE);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
  }
  const uint32_t n = rte_ring_dequeue_burst_start(r, reinterpret_cast<void**>(s.staging.data()), max, nullptr);
  if (j != nullptr) __atomic_store_n(&j->count, n, __ATOMIC_RELEASE);
  s.Route(s.staging.data(), n, j != nullptr ? &j->done : nullptr);
  rte_ring_dequeue_finish(r, n);
  if (j != nullptr) __atomic_store_n(&j->active, 0u, __ATOMIC_RELEASE);
  return n;
}

uint32_t OpFlush(napi_env env, ForwarderState& s, const double*) {
  RequireLive(env, *s.data, s.freed, "portForwarder.flush", "this PortForwarder");
  s.counters->Require(env, *s.data, "portForwarder.flush");
  uint32_t sent = 0;
  for (uint16_t p : s.ports) {
    if (s.held[p].buf->length == 0) continue;
    const uint16_t sentNow = TxFlush(p, s.queue, s.held[p].buf);
    s.tx[p] += sentNow;
    sent += sentNow;
  }
  return sent;
}

}  // namespace

class RoundRobin : public Napi::ObjectWrap<RoundRobin> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "RoundRobin",
                       {
                           InstanceAccessor<&RoundRobin::Cursor>("cursor"),
                           InstanceAccessor<&RoundRobin::Size>("size"),
                           InstanceMethod<&RoundRobin::FastPath>("fastPath"),
                           InstanceMethod<&RoundRobin::Enqueued>("enqueued"),
                           InstanceMethod<&RoundRobin::Dropped>("dropped"),
                           InstanceMethod<&RoundRobin::Received>("received"),
                           InstanceMethod<&RoundRobin::Close>("close"),
                       });
  }

  explicit RoundRobin(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RoundRobin>(info) {
    Napi::Env env = info.Env();
    RequireEal(env, "RoundRobin");
    if (!info[0].IsArray()) throw Napi::TypeError::New(env, "RoundRobin: rings must be an array of Ring handles");
    Napi::Array rings = info[0].As<Napi::Array>();
    if (rings.Length() == 0 || rings.Length() > kMaxRings) {
      ThrowDpdkCode(env, "RoundRobin", "EINVAL", "give 1.." + std::to_string(kMaxRings) + " rings");
    }
    st_->data = &Data(env);
    handles_ = Napi::Persistent(rings);
    for (uint32_t i = 0; i < rings.Length(); i++) {
      st_->rings.push_back(RingFromHandle(env, rings.Get(i), "RoundRobin"));
      st_->staged.emplace_back(Burst::kMaxCapacity);
    }
    st_->enqueued.assign(st_->rings.size(), 0);
    st_->dropped.assign(st_->rings.size(), 0);
    if (info.Length() > 1 && !info[1].IsUndefined()) SetPorts(env, info[1]);
  }

  // Functions that outlive the handle must not reach its counters reference.
  ~RoundRobin() override { st_->closed = true; }

 private:
  // { ports: number[], queue, burstSize, counters?: BigUint64Array } (checked
  // by TypeScript; ports and queues are checked here against the devices).
  void SetPorts(Napi::Env env, Napi::Value value) {
    RoundRobinState& s = *st_;
    if (!value.IsObject()) throw Napi::TypeError::New(env, "RoundRobin: poll options must be an object");
    Napi::Object o = value.As<Napi::Object>();
    Napi::Value ports = o.Get("ports");
    if (!ports.IsArray()) throw Napi::TypeError::New(env, "RoundRobin: poll.ports must be an array of port ids");
    Napi::Array list = ports.As<Napi::Array>();
    if (list.Length() == 0 || list.Length() > RTE_MAX_ETHPORTS) {
      ThrowDpdkCode(env, "RoundRobin", "EINVAL", "poll 1.." + std::to_string(RTE_MAX_ETHPORTS) + " ports");
    }
    Napi::Value queue = o.Get("queue");
    Napi::Value burstSize = o.Get("burstSize");
    if (!queue.IsNumber() || !burstSize.IsNumber()) {
      throw Napi::TypeError::New(env, "RoundRobin: poll.queue and poll.burstSize must be numbers");
    }
    const uint32_t q = queue.As<Napi::Number>().Uint32Value();
    const uint32_t size = burstSize.As<Napi::Number>().Uint32Value();
    if (size == 0 || size > Burst::kMaxCapacity) {
      ThrowDpdkCode(env, "RoundRobin", "EINVAL", "poll.burstSize must be 1.." + std::to_string(Burst::kMaxCapacity));
    }
    for (uint32_t i = 0; i < list.Length(); i++) {
      Napi::Value v = list.Get(i);
      const int64_t port = v.IsNumber() ? v.As<Napi::Number>().Int64Value() : -1;
      if (port < 0 || port >= RTE_MAX_ETHPORTS || !rte_eth_dev_is_valid_port(static_cast<uint16_t>(port))) {
        ThrowDpdkCode(env, "RoundRobin", "ENODEV", "port " + v.ToString().Utf8Value() + " does not exist");
      }
      rte_eth_dev_info di;
      if (rte_eth_dev_info_get(static_cast<uint16_t>(port), &di) != 0 || q >= di.nb_rx_queues) {
        ThrowDpdkCode(env, "RoundRobin", "EINVAL",
                      "port " + std::to_string(port) + " has no rx queue " + std::to_string(q) + " (it has " +
                          std::to_string(di.nb_rx_queues) + ")");
      }
      s.rxPorts.push_back(static_cast<uint16_t>(port));
    }
    s.rxQueue = static_cast<uint16_t>(q);
    s.rxBurstSize = static_cast<uint16_t>(size);
    Napi::Value counters = o.Get("counters");
    if (counters.IsUndefined()) {
      rxCounters_.Own(s.rxPorts.size());
    } else {
      rxCounters_.Hold(env, counters, s.rxPorts.size(), "RoundRobin: poll.counters (an entry per polled port)");
    }
    s.rxCounters = &rxCounters_;
  }

  uint32_t Index(const Napi::CallbackInfo& info) {
    uint32_t i = ArgU32(info, 0, "ring index");
    if (i >= st_->rings.size()) {
      throw Napi::RangeError::New(info.Env(), "ring index must be below " + std::to_string(st_->rings.size()));
    }
    return i;
  }

  // { distribute(burstId), poll(polls) } for the TypeScript handle.
  Napi::Value FastPath(const Napi::CallbackInfo& info) {
    Napi::Object fns = Napi::Object::New(info.Env());
    fns.Set("distribute", Bind<RoundRobinState, OpDistribute>(info.Env(), "distribute", st_));
    fns.Set("poll", Bind<RoundRobinState, OpPoll>(info.Env(), "poll", st_));
    return fns;
  }

  // Packets received from the i-th polled port so far (from the counters).
  Napi::Value Received(const Napi::CallbackInfo& info) {
    uint32_t i = ArgU32(info, 0, "port index");
    if (i >= st_->rxPorts.size()) {
      throw Napi::RangeError::New(info.Env(), "port index must be below " + std::to_string(st_->rxPorts.size()) +
                                                  " (the number of polled ports)");
    }
    const char* op = "roundRobin.received";
    RequireLive(info.Env(), *st_->data, st_->closed, op, "this RoundRobin");
    return Napi::Number::New(info.Env(), static_cast<double>(st_->rxCounters->Require(info.Env(), *st_->data, op)[i]));
  }

  Napi::Value Enqueued(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(st_->enqueued[Index(info)]));
  }
  Napi::Value Dropped(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(st_->dropped[Index(info)]));
  }
  Napi::Value Cursor(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), st_->cursor); }
  Napi::Value Size(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(st_->rings.size()));
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    st_->closed = true;
    return info.Env().Undefined();
  }

  // Keeps the Ring handles (and so their slots' rings) alive while this is.
  Napi::Reference<Napi::Array> handles_;
  CounterArray rxCounters_;
  std::shared_ptr<RoundRobinState> st_ = std::make_shared<RoundRobinState>();
};

class PortForwarder : public Napi::ObjectWrap<PortForwarder> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "PortForwarder",
                       {
                           InstanceAccessor<&PortForwarder::Buffered>("buffered"),
                           InstanceAccessor<&PortForwarder::Closed>("closed"),
                           InstanceAccessor<&PortForwarder::Unroutable>("unroutable"),
                           InstanceMethod<&PortForwarder::FastPath>("fastPath"),
                           InstanceMethod<&PortForwarder::Free>("free"),
                       });
  }

  // (outPortByInPort: number[] (-1 = no route), queue, bufferSize, counters: BigUint64Array(2*RTE_MAX_ETHPORTS),
  //  name?: string, source?: Ring)
  explicit PortForwarder(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PortForwarder>(info) {
    Napi::Env env = info.Env();
    RequireEal(env, "PortForwarder");
    ForwarderState& s = *st_;
    s.data = &Data(env);
    if (!info[0].IsArray()) throw Napi::TypeError::New(env, "PortForwarder: the port map must be an array");
    Napi::Array map = info[0].As<Napi::Array>();
    if (map.Length() > RTE_MAX_ETHPORTS) {
      ThrowDpdkCode(env, "PortForwarder", "EINVAL", "the port map has at most " + std::to_string(RTE_MAX_ETHPORTS) + " entries");
    }
    s.queue = static_cast<uint16_t>(ArgU32(info, 1, "queue"));
    uint32_t size = ArgU32(info, 2, "buffer size");
    if (size == 0 || size > Burst::kMaxCapacity) {
      ThrowDpdkCode(env, "PortForwarder", "EINVAL", "buffer size must be 1.." + std::to_string(Burst::kMaxCapacity));
    }
    counters_.Hold(env, info[3], 2 * RTE_MAX_ETHPORTS, "PortForwarder: counters");
    s.counters = &counters_;
    s.tx = counters_.data();
    s.drop = s.tx + RTE_MAX_ETHPORTS;
    s.out.fill(kNoRoute);
    // Every route is checked before the first buffer is allocated, so a
    // refused map leaves no buffer behind.
    for (uint32_t in = 0; in < map.Length(); in++) {
      Napi::Value v = map.Get(in);
      if (!v.IsNumber()) throw Napi::TypeError::New(env, "PortForwarder: port map entries must be numbers");
      int32_t out = v.As<Napi::Number>().Int32Value();
      if (out < 0) continue;
      if (out >= RTE_MAX_ETHPORTS || !rte_eth_dev_is_valid_port(static_cast<uint16_t>(out))) {
        ThrowDpdkCode(env, "PortForwarder", "ENODEV", "output port " + std::to_string(out) + " does not exist");
      }
      rte_eth_dev_info di;
      if (rte_eth_dev_info_get(static_cast<uint16_t>(out), &di) != 0 || s.queue >= di.nb_tx_queues) {
        ThrowDpdkCode(env, "PortForwarder", "EINVAL",
                      "port " + std::to_string(out) + " has no tx queue " + std::to_string(s.queue) +
                          " (it has " + std::to_string(di.nb_tx_queues) + "); the primary sets up one per client");
      }
      s.out[in] = static_cast<uint16_t>(out);
    }
    if (info.Length() > 5 && !info[5].IsUndefined()) {
      s.source = RingFromHandle(env, info[5], "PortForwarder");
      if (s.source->r->cons.sync_type != RTE_RING_SYNC_ST) {
        ThrowDpdkCode(env, "PortForwarder", "EINVAL",
                      "source ring '" + s.source->name +
                          "' has several consumers; forward() takes batches it can undo, which needs a single-consumer ring");
      }
    }
    // Named buffers are zones "<name>_<port>": what a dead forwarder of that
    // name left in one goes back to the pool, counted as dropped on its port.
    const std::string name = info.Length() > 4 && info[4].IsString() ? info[4].As<Napi::String>().Utf8Value() : "";
    try {
      if (!name.empty()) HoldJournal(env, name);
      for (uint16_t out : s.out) {
        if (out == kNoRoute || s.held[out].buf != nullptr) continue;
        uint64_t discarded = 0;
        s.held[out] = HoldTxBuffer(env, "PortForwarder", name.empty() ? name : ForwarderBufferName(name, out), size,
                                   rte_eth_dev_socket_id(out), &discarded);
        s.drop[out] += discarded;
        rte_eth_dev_tx_buffer* b = s.held[out].buf;
        rte_eth_tx_buffer_init(b, static_cast<uint16_t>(size));
        s.errorCtx[out] = {&s, out};
        rte_eth_tx_buffer_set_err_callback(b, OnUnsent, &s.errorCtx[out]);
        s.ports.push_back(out);
        if (ForwardJournal* j = s.Journal()) j->outPorts |= 1u << out;
      }
    } catch (...) {
      s.FreeBuffers(env);
      throw;
    }
    s.data->forwarders.Add(this);
  }

  // The journal zone "<name>": reserved, or adopted from a dead forwarder of
  // that name, whose unfinished batch is settled on its ring first.
  void HoldJournal(Napi::Env env, const std::string& name) {
    ForwarderState& s = *st_;
    const NamedZone zone =
        HoldNamedZone(env, "PortForwarder", name, sizeof(ForwardJournal), SOCKET_ID_ANY, IsJournalZone, "forwarder journal");
    auto* j = static_cast<ForwardJournal*>(zone.mz->addr);
    if (zone.adopted) {
      RecoverRing(j);
      std::memset(j, 0, sizeof(ForwardJournal));
    }
    if (s.source != nullptr) std::strncpy(j->ring, s.source->name.c_str(), sizeof(j->ring) - 1);
    j->magic = kJournalMagic;
    s.journalZone = zone.mz;
    s.failpoint = ReadFailpoint();
  }

  ~PortForwarder() override {
    AddonData& data = Data(Env());
    if (data.EalUsable()) st_->FreeBuffers(nullptr);
    // The counters view dies with this handle: functions that outlive it must
    // not write through it.
    st_->freed = true;
    data.forwarders.Remove(this);
  }

  // Packets still buffered are freed and counted as dropped. Idempotent.
  // env: null at teardown (see FreeBuffers).
  void Release(napi_env env) {
    if (!st_->freed) st_->FreeBuffers(env);
    st_->data->forwarders.Remove(this);
  }

 private:
  // { send(burstId), flush(), forward(max) } for the TypeScript handle.
  Napi::Value FastPath(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object fns = Napi::Object::New(env);
    fns.Set("send", Bind<ForwarderState, OpSend>(env, "send", st_));
    fns.Set("flush", Bind<ForwarderState, OpFlush>(env, "flush", st_));
    fns.Set("forward", Bind<ForwarderState, OpForward>(env, "forward", st_));
    return fns;
  }

  Napi::Value Free(const Napi::CallbackInfo& info) {
    if (!st_->freed) RequireEal(info.Env(), "portForwarder.free");
    Release(info.Env());
    return info.Env().Undefined();
  }

  Napi::Value Buffered(const Napi::CallbackInfo& info) {
    uint32_t n = 0;
    if (!st_->freed) {
      for (uint16_t p : st_->ports) n += st_->held[p].buf->length;
    }
    return Napi::Number::New(info.Env(), n);
  }
  Napi::Value Closed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), st_->freed); }
  Napi::Value Unroutable(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(st_->unroutable));
  }

  CounterArray counters_;
  std::shared_ptr<ForwarderState> st_ = std::make_shared<ForwarderState>();
};

void FreeForwarders(AddonData& data, napi_env env) {
  data.forwarders.ForEach([env](PortForwarder& f) { f.Release(env); });
  data.forwarders.Clear();
}

void InitForward(Napi::Env env, Napi::Object exports) {
  exports.Set("RoundRobin", RoundRobin::Define(env));
  exports.Set("PortForwarder", PortForwarder::Define(env));
}

}  // namespace dpdk_core
