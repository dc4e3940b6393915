// EAL lifecycle and queries. rte_eal_init runs synchronously on the JS main
// thread so that the main lcore identity belongs to the thread that calls DPDK.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_memory.h>

#include <climits>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "activity.h"
#include "common.h"
#include "locked_rows.h"
#include "vector.h"

namespace dpdk_core {
namespace {

Napi::Value EalInit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonData& data = Data(env);
  if (data.ealInitialised || data.ealInitAttempted) {
    ThrowDpdkCode(env, "initEal", "EALREADY",
                  "EAL can be initialised once per process (DPDK keeps its state until exit); "
                  "to attach again, start a new process");
  }
  if (!info[0].IsArray()) {
    throw Napi::TypeError::New(env, "initEal: argv must be an array of strings");
  }
  Napi::Array arr = info[0].As<Napi::Array>();
  std::vector<std::string> args;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    if (!v.IsString()) {
      throw Napi::TypeError::New(env, "initEal: argv must contain only strings");
    }
    args.push_back(v.As<Napi::String>().Utf8Value());
  }
  // rte_eal_init keeps pointers into argv (e.g. for log identity), and may
  // permute it; give it storage that lives as long as the process.
  static std::vector<std::string> storage;
  static std::vector<char*> argv;
  storage = args;
  argv.clear();
  for (auto& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);

  data.ealInitAttempted = true;
  int ret = rte_eal_init(static_cast<int>(storage.size()), argv.data());
  if (ret < 0) {
    int err = rte_errno;
    // A failed attach must not leave an empty runtime directory behind;
    // rmdir removes it only if nothing else (a primary's files) is in it.
    rmdir(rte_eal_get_runtime_dir());
    ThrowDpdk(env, "initEal", err != 0 ? err : EINVAL,
              "rte_eal_init failed; DPDK's log above says why (check -l/--lcores, -m, hugepages and --file-prefix)");
  }
  data.ealInitialised = true;
  AttachStartedPorts();
  // The lcore's pool activity record is this process's before any pool call
  // it makes, if nobody holds it or its dead owner was repaired: a kill
  // before its first journaled call then finds its own idle record. A live
  // owner's, an unrepaired dead one's, or one another live process waits
  // for is taken at the first pool call (activity.cc).
  ClaimActivityAtInit(rte_lcore_id());
  return Napi::Number::New(env, ret);
}

Napi::Value ProcessType(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonData& data = Data(env);
  if (!data.ealInitialised || data.ealCleanedUp) return env.Null();
  switch (rte_eal_process_type()) {
    case RTE_PROC_PRIMARY:
      return Napi::String::New(env, "primary");
    case RTE_PROC_SECONDARY:
      return Napi::String::New(env, "secondary");
    default:
      return env.Null();
  }
}

Napi::Value State(const Napi::CallbackInfo& info) {
  AddonData& data = Data(info.Env());
  const char* s = data.ealAbandoned ? "abandoned" : data.ealCleanedUp ? "cleaned-up" : data.ealInitialised ? "initialised"
                  : data.ealInitAttempted ? "failed" : "uninitialised";
  return Napi::String::New(info.Env(), s);
}

Napi::Value Lcores(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env, "lcores");
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  unsigned main = rte_get_main_lcore();
  for (unsigned id = 0; id < RTE_MAX_LCORE; id++) {
    if (!rte_lcore_is_enabled(id)) continue;
    Napi::Object o = Napi::Object::New(env);
    o.Set("id", id);
    o.Set("socket", rte_lcore_to_socket_id(id));
    // The CPUs its thread may run on, as -l/--lcores set them. Not
    // rte_lcore_to_cpu_id(): in 22.11 that is the core id sysfs gives CPU
    // <lcore id> (topology/core_id), whatever --lcores mapped the lcore to.
    const rte_cpuset_t set = rte_lcore_cpuset(id);
    Napi::Array cpus = Napi::Array::New(env);
    uint32_t k = 0;
    for (unsigned cpu = 0; cpu < CPU_SETSIZE; cpu++) {
      if (CPU_ISSET(cpu, &set)) cpus.Set(k++, cpu);
    }
    o.Set("cpus", cpus);
    o.Set("cpu", k > 0 ? cpus.Get(0u) : env.Null());
    o.Set("main", id == main);
    out.Set(n++, o);
  }
  return out;
}

Napi::Value LcoreInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env, "lcoreInfo");
  Napi::Object o = Napi::Object::New(env);
  o.Set("count", rte_lcore_count());
  o.Set("main", rte_get_main_lcore());
  unsigned self = rte_lcore_id();
  o.Set("current", self == LCORE_ID_ANY ? env.Null() : Napi::Number::New(env, self));
  o.Set("maxLcore", RTE_MAX_LCORE);
  o.Set("socketCount", rte_socket_count());
  return o;
}

// Whether two paths name the same file.
bool SameFile(const std::string& a, const std::string& b) {
  struct stat sa;
  struct stat sb;
  return stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

Napi::Value PrimaryAlive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonData& data = Data(env);
  const bool path = info.Length() > 0 && info[0].IsString();
  // The primary holds an fcntl lock on its config file; opening and closing
  // that file in the primary itself would drop the lock (POSIX releases a
  // process's locks on any close), so the primary answers for its own group
  // without looking, whether asked by default or by path.
  if (data.ealInitialised && !data.ealCleanedUp && rte_eal_process_type() == RTE_PROC_PRIMARY &&
      (!path || SameFile(info[0].As<Napi::String>().Utf8Value(), std::string(rte_eal_get_runtime_dir()) + "/config"))) {
    return Napi::Boolean::New(env, true);
  }
  if (path) {
    std::string config = info[0].As<Napi::String>().Utf8Value();
    return Napi::Boolean::New(env, rte_eal_primary_proc_alive(config.c_str()) != 0);
  }
  RequireEal(env, "primaryProcessAlive");
  return Napi::Boolean::New(env, rte_eal_primary_proc_alive(nullptr) != 0);
}

Napi::Value RuntimeDir(const Napi::CallbackInfo& info) {
  RequireEal(info.Env(), "runtimeDir");
  return Napi::String::New(info.Env(), rte_eal_get_runtime_dir());
}

int SumMemseg(const struct rte_memseg_list* msl, const struct rte_memseg* ms, void* arg) {
  auto* totals = static_cast<std::pair<uint64_t, uint64_t>*>(arg);
  totals->first += ms->len;
  totals->second = ms->hugepage_sz;
  return 0;
}

Napi::Value MemoryStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env, "memoryStats");
  Napi::Object o = Napi::Object::New(env);
  std::pair<uint64_t, uint64_t> totals{0, 0};
  rte_memseg_walk(SumMemseg, &totals);
  o.Set("hugepageBytes", static_cast<double>(totals.first));
  o.Set("pageSize", static_cast<double>(totals.second));
  o.Set("hasHugepages", rte_eal_has_hugepages() != 0);
  Napi::Array sockets = Napi::Array::New(env);
  unsigned n = rte_socket_count();
  for (unsigned i = 0; i < n; i++) {
    int socket = rte_socket_id_by_idx(i);
    struct rte_malloc_socket_stats st;
    if (rte_malloc_get_socket_stats(socket, &st) < 0) continue;
    Napi::Object s = Napi::Object::New(env);
    s.Set("socket", socket);
    s.Set("heapTotalBytes", static_cast<double>(st.heap_totalsz_bytes));
    s.Set("heapFreeBytes", static_cast<double>(st.heap_freesz_bytes));
    s.Set("heapAllocatedBytes", static_cast<double>(st.heap_allocsz_bytes));
    s.Set("greatestFreeBytes", static_cast<double>(st.greatest_free_size));
    s.Set("allocCount", st.alloc_count);
    s.Set("freeCount", st.free_count);
    sockets.Set(sockets.Length(), s);
  }
  o.Set("sockets", sockets);
  return o;
}

// A primary's runtime directory holds the config, fbarray files and sockets
// that secondaries attach through; once the primary has cleaned up nobody can
// attach any more, so it removes them instead of leaving them behind.
void RemoveRuntimeDir(const std::string& dir) {
  // Only EAL's own <base>/dpdk/<prefix>: the prefix is checked before EAL
  // starts (".." would make this /var/run), and this is the last guard
  // before unlinking every file in the directory.
  char real[PATH_MAX];
  if (realpath(dir.c_str(), real) == nullptr) return;
  const std::string path = real;
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash < 5 || path.compare(slash - 5, 5, "/dpdk") != 0) return;
  EmptyAndRemoveDir(dir);
}

struct HugepageDir {
  char path[PATH_MAX];
};

// Runs inside rte_memseg_walk, under the memory lock of every process
// (locked_rows.h): the directory of each page's file, once.
int CollectHugepageDir(const struct rte_memseg_list* msl, const struct rte_memseg* ms, void* arg) noexcept {
  int fd = rte_memseg_get_fd_thread_unsafe(ms);
  if (fd < 0) return 0;
  char proc[32];
  snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
  HugepageDir dir{};
  ssize_t n = readlink(proc, dir.path, sizeof(dir.path) - 1);
  if (n <= 0) return 0;
  char* slash = strrchr(dir.path, '/');
  if (slash == nullptr) return 0;
  *slash = '\0';
  auto* dirs = static_cast<LockedRows<HugepageDir>*>(arg);
  for (const HugepageDir& seen : dirs->rows()) {
    if (strcmp(seen.path, dir.path) == 0) return 0;
  }
  dirs->Add(dir);
  return 0;
}

// rte_eal_cleanup returns most hugepages to the kernel but keeps the pages
// that still hold live allocations (ethdev's shared data, for one), leaving
// their files behind. The primary is the last user of its prefix's memory, so
// it removes those files too: <prefix>map_<n> exactly (eal_filesystem.h's
// HUGEFILE_FMT), not the files of another prefix that starts like it
// ("<prefix>map_x" has files "<prefix>map_xmap_<n>").
void RemoveHugepageFiles(const std::vector<HugepageDir>& dirs, const std::string& prefix) {
  const std::string stem = prefix + "map_";
  auto ours = [&stem](const char* name) {
    if (strncmp(name, stem.c_str(), stem.size()) != 0) return false;
    const char* n = name + stem.size();
    return *n != '\0' && strspn(n, "0123456789") == strlen(n);
  };
  for (const HugepageDir& hugepages : dirs) {
    const std::string dir = hugepages.path;
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) continue;
    while (struct dirent* e = readdir(d)) {
      if (ours(e->d_name)) unlink((dir + "/" + e->d_name).c_str());
    }
    closedir(d);
  }
}

int CleanupEal(AddonData& data) {
  bool primary = rte_eal_process_type() == RTE_PROC_PRIMARY;
  std::string runtimeDir = rte_eal_get_runtime_dir();
  std::string prefix = runtimeDir.substr(runtimeDir.rfind('/') + 1);
  // One directory per page size mounted: room for two, walked again if more.
  const std::vector<HugepageDir> hugepageDirs =
      primary ? CollectUnderLock<HugepageDir>(2, [](LockedRows<HugepageDir>& dirs) { rte_memseg_walk(CollectHugepageDir, &dirs); })
              : std::vector<HugepageDir>{};
  ReleaseCapture(data);
  // Vectors first: a batch one peeked goes back to its ring. Then rings:
  // draining a packet ring returns its mbufs to pools that the packet plane
  // may then free.
  ReleaseVectors(data);
  FreeCreatedRings(data);
  FreePacketPlane(data);
  FreeCreatedMemzones(data);
  // Every pool call of this process is over: nothing on its lcores to repair.
  ReleaseActivity();
  data.ealCleanedUp = true;
  int ret = rte_eal_cleanup();
  if (primary) {
    RemoveRuntimeDir(runtimeDir);
    RemoveHugepageFiles(hugepageDirs, prefix);
  }
  return ret;
}

Napi::Value Cleanup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonData& data = Data(env);
  if (!data.ealInitialised || data.ealCleanedUp) return Napi::Boolean::New(env, false);
  ReleaseVectors(data);
  ReleaseAllRings(env);
  ReleasePacketPlane(env);
  ReleaseAllMemzones(env);
  if (CleanupEal(data) < 0) ThrowDpdk(env, "cleanup", rte_errno, "rte_eal_cleanup failed");
  return Napi::Boolean::New(env, true);
}

// abandon(): for a process whose primary is gone. Marks EAL as cleaned up
// and closes every handle without calling DPDK, so neither this nor the exit
// hook touches shared memory, locks or heap a dead primary may have left
// held or half written; what this process held is lost with it.
Napi::Value Abandon(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonData& data = Data(env);
  if (!data.ealInitialised || data.ealCleanedUp) return Napi::Boolean::New(env, false);
  ForgetAllRings(env);
  ForgetPools(env);
  ForgetAllMemzones(env);
  data.ealCleanedUp = true;
  data.ealAbandoned = true;
  return Napi::Boolean::New(env, true);
}

// A process that ends without calling cleanup() still releases its hugepage
// files and runtime directory.
void CleanupAtTeardown(AddonData* data) {
  if (data->ealInitialised && !data->ealCleanedUp) CleanupEal(*data);
}

}  // namespace

void InitEal(Napi::Env env, Napi::Object exports) {
  exports.Set("ealInit", Napi::Function::New(env, EalInit, "ealInit"));
  exports.Set("ealState", Napi::Function::New(env, State, "ealState"));
  exports.Set("processType", Napi::Function::New(env, ProcessType, "processType"));
  exports.Set("lcores", Napi::Function::New(env, Lcores, "lcores"));
  exports.Set("lcoreInfo", Napi::Function::New(env, LcoreInfo, "lcoreInfo"));
  exports.Set("primaryProcessAlive", Napi::Function::New(env, PrimaryAlive, "primaryProcessAlive"));
  exports.Set("runtimeDir", Napi::Function::New(env, RuntimeDir, "runtimeDir"));
  exports.Set("memoryStats", Napi::Function::New(env, MemoryStats, "memoryStats"));
  exports.Set("cleanup", Napi::Function::New(env, Cleanup, "cleanup"));
  exports.Set("abandon", Napi::Function::New(env, Abandon, "abandon"));
  env.AddCleanupHook(CleanupAtTeardown, &Data(env));
}

}  // namespace dpdk_core
