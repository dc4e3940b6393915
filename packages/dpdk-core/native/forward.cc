// Fused forwarding primitives: each moves a whole burst in one native call
// where the equivalent in JS would need one call per packet.
// - RoundRobin: hands a burst's packets to N packet rings in turn, with a
//   cursor that persists across bursts, enqueues each ring's share in bulk,
//   and drops (frees and counts) a share whose ring is full; never blocks.
// - PortForwarder: sends each packet of a burst to the output port paired
//   with the port it arrived on, through one TX buffer per output port on a
//   given TX queue; sent and dropped packets are counted per port id in a
//   caller-supplied BigUint64Array (which may view shared memory, so another
//   process can read the counters).
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_ring.h>

#include <array>
#include <string>
#include <vector>

#include "burst.h"
#include "common.h"

namespace dpdk_core {

namespace {

// A ring handle is resolved to its rte_ring* by name; the handle must be live
// in this process's registry, so a freed or closed ring is refused instead of
// being written through a dangling pointer.
rte_ring* RingFromHandle(Napi::Env env, Napi::Value value, const char* op) {
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
  if (r == nullptr || Data(env).rings.count(r) == 0) {
    ThrowDpdkCode(env, op, "E_CLOSED", "ring '" + n + "' is closed or freed; look it up again");
  }
  return r;
}

void RequireLive(Napi::Env env, bool freed, const char* op, const char* what) {
  RequireEal(env, op);
  if (freed) ThrowDpdkCode(env, op, "E_CLOSED", std::string(what) + " is freed; create a new one");
}

}  // namespace

class RoundRobin : public Napi::ObjectWrap<RoundRobin> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "RoundRobin",
                       {
                           InstanceAccessor<&RoundRobin::Cursor>("cursor"),
                           InstanceAccessor<&RoundRobin::Size>("size"),
                           InstanceMethod<&RoundRobin::Distribute>("distribute"),
                           InstanceMethod<&RoundRobin::Enqueued>("enqueued"),
                           InstanceMethod<&RoundRobin::Dropped>("dropped"),
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
    handles_ = Napi::Persistent(rings);
    for (uint32_t i = 0; i < rings.Length(); i++) {
      rings_.push_back(RingFromHandle(env, rings.Get(i), "RoundRobin"));
      staged_.emplace_back(Burst::kMaxCapacity);
    }
    enqueued_.assign(rings_.size(), 0);
    dropped_.assign(rings_.size(), 0);
  }

 private:
  static constexpr uint32_t kMaxRings = 1024;

  // Returns how many packets were enqueued; the burst ends empty either way.
  Napi::Value Distribute(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireLive(env, closed_, "roundRobin.distribute", "this RoundRobin");
    Burst* burst = Burst::From(env, info[0], "burst");
    const uint32_t nrings = static_cast<uint32_t>(rings_.size());
    AddonData& data = Data(env);
    for (rte_ring* r : rings_) {
      if (data.rings.count(r) == 0) {
        ThrowDpdkCode(env, "roundRobin.distribute", "E_CLOSED", std::string("ring '") + r->name + "' was freed");
      }
    }
    std::array<uint32_t, kMaxRings>& counts = counts_;
    std::fill(counts.begin(), counts.begin() + nrings, 0);
    rte_mbuf** pkts = burst->pkts();
    const uint32_t n = burst->count();
    uint32_t c = cursor_;
    for (uint32_t i = 0; i < n; i++) {
      staged_[c][counts[c]++] = pkts[i];
      if (++c == nrings) c = 0;
    }
    cursor_ = c;
    burst->SetCount(0);
    uint32_t total = 0;
    for (uint32_t k = 0; k < nrings; k++) {
      const uint32_t cnt = counts[k];
      if (cnt == 0) continue;
      rte_mbuf** share = staged_[k].data();
      if (rte_ring_enqueue_bulk(rings_[k], reinterpret_cast<void* const*>(share), cnt, nullptr) == 0) {
        rte_pktmbuf_free_bulk(share, cnt);
        dropped_[k] += cnt;
      } else {
        enqueued_[k] += cnt;
        total += cnt;
      }
    }
    return Napi::Number::New(env, total);
  }

  uint32_t Index(const Napi::CallbackInfo& info) {
    uint32_t i = ArgU32(info, 0, "ring index");
    if (i >= rings_.size()) {
      throw Napi::RangeError::New(info.Env(), "ring index must be below " + std::to_string(rings_.size()));
    }
    return i;
  }

  Napi::Value Enqueued(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(enqueued_[Index(info)]));
  }
  Napi::Value Dropped(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(dropped_[Index(info)]));
  }
  Napi::Value Cursor(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), cursor_); }
  Napi::Value Size(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(rings_.size()));
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    closed_ = true;
    return info.Env().Undefined();
  }

  Napi::Reference<Napi::Array> handles_;
  std::vector<rte_ring*> rings_;
  std::vector<std::vector<rte_mbuf*>> staged_;
  std::vector<uint64_t> enqueued_;
  std::vector<uint64_t> dropped_;
  std::array<uint32_t, kMaxRings> counts_{};
  uint32_t cursor_ = 0;
  bool closed_ = false;
};

class PortForwarder : public Napi::ObjectWrap<PortForwarder> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "PortForwarder",
                       {
                           InstanceAccessor<&PortForwarder::Buffered>("buffered"),
                           InstanceAccessor<&PortForwarder::Closed>("closed"),
                           InstanceAccessor<&PortForwarder::Unroutable>("unroutable"),
                           InstanceMethod<&PortForwarder::Send>("send"),
                           InstanceMethod<&PortForwarder::Flush>("flush"),
                           InstanceMethod<&PortForwarder::Free>("free"),
                       });
  }

  // (outPortByInPort: number[] (-1 = no route), queue, bufferSize, counters: BigUint64Array(2*RTE_MAX_ETHPORTS))
  explicit PortForwarder(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PortForwarder>(info) {
    Napi::Env env = info.Env();
    RequireEal(env, "PortForwarder");
    if (!info[0].IsArray()) throw Napi::TypeError::New(env, "PortForwarder: the port map must be an array");
    Napi::Array map = info[0].As<Napi::Array>();
    if (map.Length() > RTE_MAX_ETHPORTS) {
      ThrowDpdkCode(env, "PortForwarder", "EINVAL", "the port map has at most " + std::to_string(RTE_MAX_ETHPORTS) + " entries");
    }
    queue_ = static_cast<uint16_t>(ArgU32(info, 1, "queue"));
    uint32_t size = ArgU32(info, 2, "buffer size");
    if (size == 0 || size > Burst::kMaxCapacity) {
      ThrowDpdkCode(env, "PortForwarder", "EINVAL", "buffer size must be 1.." + std::to_string(Burst::kMaxCapacity));
    }
    if (info.Length() < 4 || !info[3].IsTypedArray() ||
        info[3].As<Napi::TypedArray>().TypedArrayType() != napi_biguint64_array ||
        info[3].As<Napi::TypedArray>().ElementLength() < 2 * RTE_MAX_ETHPORTS) {
      throw Napi::TypeError::New(env, "PortForwarder: counters must be a BigUint64Array of at least 64 entries");
    }
    Napi::BigUint64Array counters = info[3].As<Napi::BigUint64Array>();
    countersRef_ = Napi::Persistent(counters);
    tx_ = counters.Data();
    drop_ = tx_ + RTE_MAX_ETHPORTS;
    out_.fill(kNoRoute);
    for (uint32_t in = 0; in < map.Length(); in++) {
      Napi::Value v = map.Get(in);
      if (!v.IsNumber()) throw Napi::TypeError::New(env, "PortForwarder: port map entries must be numbers");
      int32_t out = v.As<Napi::Number>().Int32Value();
      if (out < 0) continue;
      if (out >= RTE_MAX_ETHPORTS || !rte_eth_dev_is_valid_port(static_cast<uint16_t>(out))) {
        ThrowDpdkCode(env, "PortForwarder", "ENODEV", "output port " + std::to_string(out) + " does not exist");
      }
      rte_eth_dev_info di;
      if (rte_eth_dev_info_get(static_cast<uint16_t>(out), &di) != 0 || queue_ >= di.nb_tx_queues) {
        ThrowDpdkCode(env, "PortForwarder", "EINVAL",
                      "port " + std::to_string(out) + " has no tx queue " + std::to_string(queue_) +
                          " (it has " + std::to_string(di.nb_tx_queues) + "); the primary sets up one per client");
      }
      out_[in] = static_cast<uint16_t>(out);
      if (buffers_[out] == nullptr) {
        auto* b = static_cast<rte_eth_dev_tx_buffer*>(rte_zmalloc_socket(
            "tx_buffer", RTE_ETH_TX_BUFFER_SIZE(size), 0, rte_eth_dev_socket_id(static_cast<uint16_t>(out))));
        if (b == nullptr) {
          FreeBuffers();
          ThrowDpdkCode(env, "PortForwarder", "ENOMEM", "cannot allocate a tx buffer; raise -m");
        }
        rte_eth_tx_buffer_init(b, static_cast<uint16_t>(size));
        errorCtx_[out] = {this, static_cast<uint16_t>(out)};
        rte_eth_tx_buffer_set_err_callback(b, OnUnsent, &errorCtx_[out]);
        buffers_[out] = b;
        ports_.push_back(static_cast<uint16_t>(out));
      }
    }
  }

  ~PortForwarder() override {
    AddonData& data = Data(Env());
    if (data.ealInitialised && !data.ealCleanedUp) FreeBuffers();
  }

 private:
  static constexpr uint16_t kNoRoute = UINT16_MAX;

  struct ErrorContext {
    PortForwarder* self;
    uint16_t port;
  };

  // What the device did not take when a buffer was flushed: counted as
  // dropped on that port and freed, as the C client's callback does.
  static void OnUnsent(rte_mbuf** unsent, uint16_t count, void* userdata) {
    auto* ctx = static_cast<ErrorContext*>(userdata);
    ctx->self->drop_[ctx->port] += count;
    rte_pktmbuf_free_bulk(unsent, count);
  }

  void FreeBuffers() {
    for (uint16_t p : ports_) {
      rte_eth_dev_tx_buffer* b = buffers_[p];
      if (b == nullptr) continue;
      if (b->length > 0) {
        drop_[p] += b->length;
        rte_pktmbuf_free_bulk(b->pkts, b->length);
      }
      rte_free(b);
      buffers_[p] = nullptr;
    }
    ports_.clear();
    freed_ = true;
  }

  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireLive(env, freed_, "portForwarder.send", "this PortForwarder");
    Burst* burst = Burst::From(env, info[0], "burst");
    rte_mbuf** pkts = burst->pkts();
    const uint32_t n = burst->count();
    uint32_t sent = 0;
    for (uint32_t i = 0; i < n; i++) {
      rte_mbuf* m = pkts[i];
      const uint16_t out = m->port < RTE_MAX_ETHPORTS ? out_[m->port] : kNoRoute;
      if (out == kNoRoute) {
        unroutable_++;
        rte_pktmbuf_free(m);
        continue;
      }
      const uint16_t s = rte_eth_tx_buffer(out, queue_, buffers_[out], m);
      tx_[out] += s;
      sent += s;
    }
    burst->SetCount(0);
    return Napi::Number::New(env, sent);
  }

  Napi::Value Flush(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireLive(env, freed_, "portForwarder.flush", "this PortForwarder");
    uint32_t sent = 0;
    for (uint16_t p : ports_) {
      if (buffers_[p]->length == 0) continue;
      const uint16_t s = rte_eth_tx_buffer_flush(p, queue_, buffers_[p]);
      tx_[p] += s;
      sent += s;
    }
    return Napi::Number::New(env, sent);
  }

  // Packets still buffered are freed and counted as dropped. Idempotent.
  Napi::Value Free(const Napi::CallbackInfo& info) {
    if (!freed_) {
      RequireEal(info.Env(), "portForwarder.free");
      FreeBuffers();
    }
    return info.Env().Undefined();
  }

  Napi::Value Buffered(const Napi::CallbackInfo& info) {
    uint32_t n = 0;
    if (!freed_) {
      for (uint16_t p : ports_) n += buffers_[p]->length;
    }
    return Napi::Number::New(info.Env(), n);
  }
  Napi::Value Closed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), freed_); }
  Napi::Value Unroutable(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(unroutable_));
  }

  Napi::Reference<Napi::BigUint64Array> countersRef_;
  volatile uint64_t* tx_ = nullptr;
  volatile uint64_t* drop_ = nullptr;
  std::array<uint16_t, RTE_MAX_ETHPORTS> out_{};
  std::array<rte_eth_dev_tx_buffer*, RTE_MAX_ETHPORTS> buffers_{};
  std::array<ErrorContext, RTE_MAX_ETHPORTS> errorCtx_{};
  std::vector<uint16_t> ports_;
  uint64_t unroutable_ = 0;
  uint16_t queue_ = 0;
  bool freed_ = false;
};

void InitForward(Napi::Env env, Napi::Object exports) {
  exports.Set("RoundRobin", RoundRobin::Define(env));
  exports.Set("PortForwarder", PortForwarder::Define(env));
}

}  // namespace dpdk_core
