// A packet vector's packet path: fill, send, flush and free, each one native
// call per vector through the frame (fastcall.h), and what empties a vector
// when it closes or its ring handle goes.
#include "vector.h"

#include <rte_prefetch.h>
#include <rte_ring_peek.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <string>

#include "fastcall.h"

namespace dpdk_core {

namespace {

inline void Count(uint32_t* counted, uint32_t n) {
  if (counted != nullptr) PublishWord(counted, *counted + n);
}

void RequireLive(napi_env env, VectorState& s, const char* op) {
  FastRequireEal(env, *s.data, op);
  if (s.closed) ThrowDpdkCode(Napi::Env(env), op, "E_CLOSED", "this packet vector is closed; create a new one");
  s.MirrorCounters(env, op);
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
      if (s.journal != nullptr) PublishWord(&s.journal->count, s.count);
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
  // An empty ring is left as it is, as rte_ring_dequeue_burst leaves it:
  // finishing an empty peek still stores the consumer's head and tail, and
  // a consumer polling an empty ring that way takes that cache line from
  // the producer on every poll, slowing each of its enqueues.
  if (rte_ring_count(r) == 0) return;
  VectorJournal* j = s.journal;
  j->tail0 = __atomic_load_n(&r->cons.tail, __ATOMIC_ACQUIRE);
  j->count = 0;
  j->done = 0;
  PublishWord(&j->active, 1);
  const uint32_t n = rte_ring_dequeue_burst_start(r, reinterpret_cast<void**>(s.pkts), s.capacity, nullptr);
  if (s.failpoint == Failpoint::kKillInPeek && n > 0) raise(SIGKILL);
  PublishWord(&j->count, n);
  if (n == 0) {
    rte_ring_dequeue_finish(r, 0);
    PublishWord(&j->active, 0);
    return;
  }
  s.peeked = r;
  s.inRing->peekedBy = &s;
  s.Describe(0, n, -1);
  s.count = n;
  AddReceived(s, 0, n);
}

// Sends packets [p, p+k) on output `out`'s port and queue, journaled (with
// `counted`, counted there before they leave the vector); `retry` while the
// device takes some. What the device refuses is freed and counted as
// dropped. Returns how many it took.
uint32_t SendRun(VectorState& s, uint32_t out, rte_mbuf** p, uint32_t k, uint32_t* counted, bool retry) {
  const Output& o = s.outputs[out];
  const Guard handed = counted != nullptr ? Guard{counted, *counted + k} : Guard{};
  const uint32_t sent = JournaledTx(o.port, o.queue, p, static_cast<uint16_t>(k), counted != nullptr, retry, handed, [&] { Count(counted, k); });
  if (sent < k) s.AddDropped(out, k - sent);
  s.AddSent(out, sent);
  return sent;
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
      // A run of a whole buffer's size that finds the buffer empty is the
      // burst rte_eth_tx_buffer would make of it: sent as it stands, without
      // the copy into the buffer and the hand-over that copy needs.
      rte_eth_dev_tx_buffer* buf = o.held.buf;
      uint32_t left = k;
      for (; left >= buf->size && buf->length == 0; p += buf->size, left -= buf->size) SendRun(s, out, p, buf->size, counted, false);
      s.AddSent(out, TxPutBulk(o.port, o.queue, buf, p, left, counted));
      return k;
    }
    case OutputKind::kDirect:
      // Sent until the device takes no more; the rest is freed.
      return SendRun(s, out, p, k, counted, true);
    case OutputKind::kRing: {
      // In pieces, in order, each whole or not at all; a share the ring has
      // room for goes in one enqueue (every piece would fit), which spares
      // the consumer a store to the producer's tail per piece. On a ring
      // with several producers another may take that room first: the share
      // is then dropped whole, as without a limit.
      if (o.bulk && o.bulkLimit != 0 && k > o.bulkLimit && rte_ring_free_count(o.ring->r) < k) {
        uint32_t in = 0;
        for (uint32_t at = 0; at < k; at += o.bulkLimit) in += Hand(s, out, p + at, std::min(o.bulkLimit, k - at), counted);
        return in;
      }
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
  if (s.describeBytes) std::memset(s.len, 0, sizeof(uint16_t) * s.count);
  *s.held = 0;
  if (s.peeked != nullptr) {
    rte_ring_dequeue_finish(s.peeked, n);
    s.peeked = nullptr;
    if (s.inRing != nullptr) s.inRing->peekedBy = nullptr;
  }
  if (s.journal != nullptr) {
    PublishWord(&s.journal->count, 0);
    PublishWord(&s.journal->done, 0);
    PublishWord(&s.journal->active, 0);
  }
  s.count = 0;
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

}  // namespace

void VectorState::Describe(uint32_t from, uint32_t to, int32_t inputPort) {
  // Locals, so the stores below are not taken to alias this state's fields.
  rte_mbuf* const* __restrict p = pkts;
  // Reading each packet's mbuf for where its bytes lie is about a tenth of
  // a forwarding loop's time: skipped for a handler that never reads them.
  if (describeBytes) {
    uint32_t* __restrict o = off;
    uint16_t* __restrict l = len;
    const uintptr_t base = span.base;
    const uint64_t limit = span.length;
    const bool prefetch = prefetchBytes;
    for (uint32_t i = from; i < to; i++) {
      const rte_mbuf* m = p[i];
      // The handler reads the headers next, packet after packet: each first
      // read would wait for its line, and JavaScript's longer loop body keeps
      // fewer of those waits in flight than C's does (l2fwd prefetches the
      // same line after its RX burst).
      if (prefetch) rte_prefetch0(static_cast<const char*>(m->buf_addr) + m->data_off);
      const uint64_t at = reinterpret_cast<uintptr_t>(m->buf_addr) + m->data_off - base;
      // In place when the bytes are one segment inside the pool's memory (an
      // indirect or external buffer may live elsewhere). Data below `base`
      // wraps `at` past any limit, and max(at, end) is then `at`: one compare
      // says both that the data starts inside and that it ends inside.
      const uint64_t end = at + m->data_len;
      const bool inPlace = (m->nb_segs == 1) & (std::max(at, end) <= limit);
      o[i] = inPlace ? static_cast<uint32_t>(at) : 0;
      l[i] = inPlace ? m->data_len : 0;
    }
  }
  // The input port of a burst is one store for all its packets.
  if (inputPort >= 0) {
    std::fill(port + from, port + to, static_cast<uint16_t>(inputPort));
  } else {
    for (uint32_t i = from; i < to; i++) port[i] = p[i]->port;
  }
  // Every new packet goes nowhere until the handler says otherwise.
  std::fill(dest + from, dest + to, kDropDestination);
}

void VectorState::MirrorCounters(napi_env env, const char* op) {
  mirror = counters != nullptr ? counters->Require(env, *data, op) : nullptr;
}

void VectorState::AddSent(uint32_t out, uint32_t n) {
  sent[out] += n;
  if (mirror != nullptr && sentAt[out] >= 0) mirror[sentAt[out]] += n;
}

void VectorState::AddDropped(uint32_t out, uint32_t n) {
  dropped[out] += n;
  if (mirror != nullptr && droppedAt[out] >= 0) mirror[droppedAt[out]] += n;
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
  uint32_t mixed = 0;  // nonzero when some packet goes elsewhere than the first
  for (uint32_t i = 0; i < n; i++) {
    bad |= static_cast<uint32_t>(dest[i] >= nout) & static_cast<uint32_t>(dest[i] != kDropDestination);
    mixed |= static_cast<uint32_t>(dest[i] ^ dest[0]);
  }
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
  } else if (mixed == 0) {
    // One destination for the whole vector (one client, one port): it is
    // its own share, handed on without the two passes over the vector
    // (count, then scatter) that grouping takes.
    handed += Hand(s, dest[0] == kDropDestination ? nout : dest[0], s.pkts, n, nullptr);
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

uint32_t OpFree(napi_env env, VectorState& s, const double*) {
  FastRequireEal(env, *s.data, "packetVector.free");
  return Release(s);
}

void CloseVector(VectorState& s) {
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

void AbandonPeek(VectorState& vector) { Settle(vector, 0); }

}  // namespace dpdk_core
