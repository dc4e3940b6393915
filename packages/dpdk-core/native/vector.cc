// The PacketVector handle: what a vector is made of (its input, outputs,
// counters, named zone and TX buffers) and what JavaScript reads of it. Its
// packet path is in vector_path.cc, the reclaim of a dead owner's named
// vector in vector_reclaim.cc.
#include "vector.h"

#include <rte_ethdev.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "fastcall.h"

namespace dpdk_core {

namespace {

// The layout of the two ArrayBuffers JavaScript reads (offsets in bytes,
// exported to TypeScript so neither side writes them twice). `meta` holds
// what bounds the accessors, which src/vector.ts keeps to itself: per packet
// a uint32 offset and a uint16 length; the float64 count of packets freed on
// purpose; the uint32 count of packets held. `io` holds what the vector
// shows as public typed arrays: per packet the uint16 input port and
// destination, then the float64 counters per source and output. Apart, so
// that no public array's buffer reaches a bound.
struct MetaLayout {
  size_t off, len, discarded, count, bytes;
  size_t port, dest, received, sent, dropped, ioBytes;

  MetaLayout(uint32_t capacity, size_t sources, size_t outputs) {
    off = 0;
    len = off + 4 * capacity;
    discarded = (len + 2 * capacity + 7) & ~size_t{7};
    count = discarded + 8;
    bytes = count + 8;
    port = 0;
    dest = port + 2 * capacity;
    received = (dest + 2 * capacity + 7) & ~size_t{7};
    sent = received + 8 * sources;
    dropped = sent + 8 * outputs;
    ioBytes = dropped + 8 * outputs;
  }
};

// What the device refused is counted here; TxFlush has freed it.
void OnUnsent(rte_mbuf**, uint16_t count, void* userdata) {
  auto* out = static_cast<Output*>(userdata);
  out->owner->AddDropped(out->index, count);
}

}  // namespace

class PacketVector : public Napi::ObjectWrap<PacketVector> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "PacketVector",
                       {
                           InstanceAccessor<&PacketVector::Meta>("meta"),
                           InstanceAccessor<&PacketVector::Io>("io"),
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

  // (capacity, pool, input, outputs, name?, counters?, bytes): shapes checked by
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
    s.describeBytes = !info[6].IsBoolean() || info[6].As<Napi::Boolean>().Value();
    s.prefetchBytes = info[7].IsBoolean() && info[7].As<Napi::Boolean>().Value();
    const MetaLayout layout(s.capacity, s.sources.size() + (s.inRing ? 1 : 0), s.outputs.size());
    Napi::ArrayBuffer meta = Napi::ArrayBuffer::New(env, layout.bytes);
    Napi::ArrayBuffer io = Napi::ArrayBuffer::New(env, layout.ioBytes);
    auto* base = static_cast<uint8_t*>(meta.Data());
    auto* ioBase = static_cast<uint8_t*>(io.Data());
    s.off = reinterpret_cast<uint32_t*>(base + layout.off);
    s.len = reinterpret_cast<uint16_t*>(base + layout.len);
    s.discarded = reinterpret_cast<double*>(base + layout.discarded);
    s.held = reinterpret_cast<uint32_t*>(base + layout.count);
    s.port = reinterpret_cast<uint16_t*>(ioBase + layout.port);
    s.dest = reinterpret_cast<uint16_t*>(ioBase + layout.dest);
    s.received = reinterpret_cast<double*>(ioBase + layout.received);
    s.sent = reinterpret_cast<double*>(ioBase + layout.sent);
    s.dropped = reinterpret_cast<double*>(ioBase + layout.dropped);
    meta_ = Napi::Persistent(meta);
    io_ = Napi::Persistent(io);
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
      CloseVector(s);
      throw;
    }
    s.data->vectors.Add(this);
  }

  ~PacketVector() override {
    AddonData& data = Data(Env());
    if (data.EalUsable()) CloseVector(*st_);
    st_->closed = true;
    data.vectors.Remove(this);
  }

  void Release() {
    CloseVector(*st_);
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
        out.bulkLimit = o.Get("bulkLimit").As<Napi::Number>().Uint32Value();
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
  // freed and counted as dropped on that output, in the caller's counters
  // too).
  void HoldBuffers(Napi::Env env) {
    VectorState& s = *st_;
    s.MirrorCounters(env, "createPacketVector");
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
      s.AddDropped(k, static_cast<uint32_t>(discarded));
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
  Napi::Value Io(const Napi::CallbackInfo& info) { return io_.Value(); }
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
    if (!s.describeBytes) {
      return Napi::String::New(info.Env(),
                               "this vector was made with bytes: false (its handler routes packets without reading them); "
                               "make it without that option to read or write packet bytes");
    }
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
    if (which == "send-kill-after-chunk") {
      st_->failpoint = Failpoint::kSendKillAfterChunk;
    } else if (which == "kill-after-fill") {
      st_->failpoint = Failpoint::kKillAfterFill;
    } else if (which == "kill-in-peek") {
      st_->failpoint = Failpoint::kKillInPeek;
    } else {
      throw Napi::RangeError::New(info.Env(), "unknown packet vector failpoint '" + which +
                                                  "'; use 'send-kill-after-chunk', 'kill-after-fill' or 'kill-in-peek'");
    }
    return info.Env().Undefined();
  }

  Napi::Value CloseMethod(const Napi::CallbackInfo& info) {
    if (!st_->closed) RequireEal(info.Env(), "packetVector.close");
    Release();
    return info.Env().Undefined();
  }

  Napi::Reference<Napi::ArrayBuffer> meta_;
  Napi::Reference<Napi::ArrayBuffer> io_;
  Napi::ObjectReference layout_;
  Napi::Reference<Napi::Array> outputSpecs_;
  CounterArray counters_;
  uint32_t settledRequeued_ = 0;
  uint32_t settledFreed_ = 0;
  std::shared_ptr<VectorState> st_ = std::make_shared<VectorState>();
};

void HideViewsOf(AddonData& data, const PoolState& pool) {
  data.vectors.ForEach([&pool](PacketVector& v) { v.Hide(pool); });
}

void ReleaseVectors(AddonData& data) {
  data.vectors.ForEach([](PacketVector& v) { v.Release(); });
  data.vectors.Clear();
}

void InitVector(Napi::Env env, Napi::Object exports) {
  exports.Set("PacketVector", PacketVector::Define(env));
  exports.Set("reclaimPacketVector", Napi::Function::New(env, ReclaimPacketVector, "reclaimPacketVector"));
  exports.Set("maxVector", kMaxVector);
}

}  // namespace dpdk_core
