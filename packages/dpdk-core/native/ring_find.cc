// Finding a ring another process made, by name, and checking what it holds:
// DPDK 22.11 does not record a ring's element size, so it is read off the
// length of the memzone the ring lives in.
#include <rte_memzone.h>
#include <rte_ring.h>

#include <string>

#include "ring.h"

namespace dpdk_core {

namespace {

uint32_t Ceil64(uint64_t n) { return static_cast<uint32_t>((n + 63) & ~uint64_t{63}); }

// DPDK 22.11's struct rte_ring does not record its element size. A ring made
// by rte_ring_create(_elem) lives in a memzone of exactly
// ceil64(sizeof(rte_ring) + size * esize) bytes, so the memzone's length
// bounds esize: this returns the range [lo, hi] of multiples of 4 that give
// that length. For size >= 16 the range is a single value.
bool ElemSizeRange(const rte_ring* r, uint32_t* lo, uint32_t* hi) {
  if (r->memzone == nullptr || r->size == 0) return false;
  uint64_t len = r->memzone->len;
  *lo = 0;
  *hi = 0;
  for (uint32_t e = 4; e <= kMaxElemSize; e += 4) {
    uint64_t want = Ceil64(sizeof(rte_ring) + static_cast<uint64_t>(r->size) * e);
    if (want == len) {
      if (*lo == 0) *lo = e;
      *hi = e;
    } else if (want > len) {
      break;
    }
  }
  return *lo != 0;
}

}  // namespace

rte_ring* FindRing(Napi::Env env, const char* op, const std::string& name, uint32_t want, bool packets) {
  rte_ring* r = rte_ring_lookup(name.c_str());
  if (r == nullptr) {
    ThrowDpdk(env, op, ENOENT,
              "no ring named '" + name +
                  "'; is the primary running with the same --file-prefix, and has it created the ring?");
  }
  uint32_t lo = 0;
  uint32_t hi = 0;
  if (!ElemSizeRange(r, &lo, &hi)) {
    ThrowDpdkCode(env, op, "EINVAL",
                  "ring '" + name + "' was not made by rte_ring_create(_elem); its element size is unknown");
  }
  if (want < lo || want > hi || want % 4 != 0) {
    std::string holds = lo == hi ? std::to_string(lo) + "-byte" : std::to_string(lo) + ".." + std::to_string(hi) + "-byte";
    ThrowDpdkCode(env, op, "EINVAL",
                  "ring '" + name + "' holds " + holds + " elements, not " +
                      (packets ? std::string("packet pointers (8 bytes)") : std::to_string(want) + "-byte elements") +
                      "; look it up with the element layout it was created with");
  }
  return r;
}

}  // namespace dpdk_core
