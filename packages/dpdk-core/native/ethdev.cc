// Ethernet ports (ethdev), addressed by port id as DPDK does: a port id is the
// handle every process shares. Device control (configure, queue setup,
// start/stop/close, promiscuous) belongs to the primary and is refused in a
// secondary before DPDK is called; rx/tx bursts and stats work everywhere,
// on queues that are ready (started_ports.cc).
#include <rte_ethdev.h>

#include <algorithm>
#include <string>
#include <vector>

#include "journaled.h"
#include "burst.h"
#include "common.h"
#include "fastcall.h"
#include "started_ports.h"

namespace dpdk_core {
namespace {

uint16_t ArgPort(const Napi::CallbackInfo& info, size_t i, const char* op) {
  RequireEal(info.Env(), op);
  uint32_t port = ArgU32(info, i, "port");
  if (port >= RTE_MAX_ETHPORTS || !rte_eth_dev_is_valid_port(static_cast<uint16_t>(port))) {
    ThrowDpdkCode(info.Env(), op, "ENODEV",
                  "port " + std::to_string(port) + " does not exist (ports: " + PortIds() +
                      "); check --vdev/--allow and that it was not closed");
  }
  // Still valid in this secondary, but its driver data went with the close.
  if (ClosedByPrimary(port)) {
    ThrowDpdkCode(info.Env(), op, "ENODEV",
                  "port " + std::to_string(port) + " was closed by the primary process; it cannot be used again until "
                  "the primary restarts");
  }
  return static_cast<uint16_t>(port);
}

void RequirePrimary(Napi::Env env, const char* op, uint16_t port) {
  if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
    ThrowDpdkCode(env, op, "E_RTE_SECONDARY",
                  "port " + std::to_string(port) + ": " + op +
                      " is for the primary process, which owns the device; a secondary may only rx/tx on the queues "
                      "the primary set up and read stats");
  }
}

rte_eth_dev_info DevInfo(Napi::Env env, uint16_t port, const char* op) {
  rte_eth_dev_info info;
  int ret = rte_eth_dev_info_get(port, &info);
  if (ret != 0) ThrowDpdk(env, op, -ret, "cannot read device info of port " + std::to_string(port));
  return info;
}

void Check(Napi::Env env, int ret, const char* op, const std::string& what) {
  if (ret < 0) ThrowDpdk(env, op, -ret, what);
}

/** What ports() lists of a port, and portInfo() starts with: id, name, MAC, socket. */
Napi::Object PortIdentity(Napi::Env env, uint16_t port) {
  Napi::Object o = Napi::Object::New(env);
  char name[RTE_ETH_NAME_MAX_LEN];
  if (rte_eth_dev_get_name_by_port(port, name) != 0) name[0] = '\0';
  rte_ether_addr mac;
  char macText[RTE_ETHER_ADDR_FMT_SIZE] = "";
  if (rte_eth_macaddr_get(port, &mac) == 0) rte_ether_format_addr(macText, sizeof(macText), &mac);
  o.Set("id", port);
  o.Set("name", name);
  o.Set("mac", macText);
  o.Set("socket", rte_eth_dev_socket_id(port));
  return o;
}

Napi::Value PortList(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env, "ports");
  Napi::Array out = Napi::Array::New(env);
  uint16_t port;
  RTE_ETH_FOREACH_DEV(port) {
    out.Set(out.Length(), PortIdentity(env, port));
  }
  return out;
}

Napi::Value PortCount(const Napi::CallbackInfo& info) {
  RequireEal(info.Env(), "portCount");
  return Napi::Number::New(info.Env(), rte_eth_dev_count_avail());
}

Napi::Value PortInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint16_t port = ArgPort(info, 0, "portInfo");
  rte_eth_dev_info di = DevInfo(env, port, "portInfo");
  Napi::Object o = PortIdentity(env, port);
  o.Set("driver", di.driver_name != nullptr ? di.driver_name : "");
  o.Set("maxRxQueues", di.max_rx_queues);
  o.Set("maxTxQueues", di.max_tx_queues);
  o.Set("rxQueues", di.nb_rx_queues);
  o.Set("txQueues", di.nb_tx_queues);
  o.Set("rxDescMax", di.rx_desc_lim.nb_max);
  o.Set("txDescMax", di.tx_desc_lim.nb_max);
  o.Set("rssOffloads", Napi::BigInt::New(env, static_cast<uint64_t>(di.flow_type_rss_offloads)));
  o.Set("rssSupported", di.flow_type_rss_offloads != 0);
  o.Set("txFastFreeSupported", (di.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE) != 0);
  return o;
}

Napi::Value PortLink(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint16_t port = ArgPort(info, 0, "link");
  rte_eth_link link;
  Check(env, rte_eth_link_get_nowait(port, &link), "link", "cannot read the link of port " + std::to_string(port));
  Napi::Object o = Napi::Object::New(env);
  o.Set("up", link.link_status == RTE_ETH_LINK_UP);
  o.Set("speedMbps", link.link_speed);
  o.Set("fullDuplex", link.link_duplex == RTE_ETH_LINK_FULL_DUPLEX);
  o.Set("autoneg", link.link_autoneg == RTE_ETH_LINK_AUTONEG);
  return o;
}

// portConfigure(port, rxQueues, txQueues, rxDesc, txDesc, rss, txFastFree):
// RSS over IP/TCP/UDP restricted to what the device hashes, none if it hashes
// nothing; returns the descriptor counts the device accepted.
Napi::Value PortConfigure(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint16_t port = ArgPort(info, 0, "configure");
  RequirePrimary(env, "configure", port);
  uint32_t rxq = ArgU32(info, 1, "rxQueues");
  uint32_t txq = ArgU32(info, 2, "txQueues");
  uint32_t rxDesc = ArgU32(info, 3, "rxDesc");
  uint32_t txDesc = ArgU32(info, 4, "txDesc");
  bool rss = info[5].ToBoolean();
  bool fastFree = info[6].ToBoolean();
  rte_eth_dev_info di = DevInfo(env, port, "configure");
  if (rxq > di.max_rx_queues || txq > di.max_tx_queues) {
    ThrowDpdkCode(env, "configure", "EINVAL",
                  "port " + std::to_string(port) + " (" + di.driver_name + ") supports at most " +
                      std::to_string(di.max_rx_queues) + " rx and " + std::to_string(di.max_tx_queues) +
                      " tx queues; asked for " + std::to_string(rxq) + "/" + std::to_string(txq));
  }
  if (rxDesc > UINT16_MAX || txDesc > UINT16_MAX) {
    ThrowDpdkCode(env, "configure", "EINVAL",
                  "asked for " + std::to_string(rxDesc) + " rx descriptors and " + std::to_string(txDesc) +
                      " tx descriptors; a queue has at most " + std::to_string(UINT16_MAX) + " descriptors");
  }
  rte_eth_conf conf{};
  uint64_t hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) & di.flow_type_rss_offloads;
  bool rssUsed = rss && hf != 0;
  if (rssUsed) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf = hf;
  }
  bool fastFreeUsed = fastFree && (di.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE) != 0;
  if (fastFreeUsed) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
  std::string what = "port " + std::to_string(port);
  Check(env, rte_eth_dev_configure(port, static_cast<uint16_t>(rxq), static_cast<uint16_t>(txq), &conf), "configure",
        "cannot configure " + what + " (stop it first if it is started)");
  Data(env).configuredPorts.insert(port);
  // Queues past the new count are released with their pools' buffers.
  std::vector<const rte_mempool*>& pools = Data(env).rxQueuePools[port];
  if (pools.size() > rxq) pools.resize(rxq);
  uint16_t rx = static_cast<uint16_t>(rxDesc);
  uint16_t tx = static_cast<uint16_t>(txDesc);
  Check(env, rte_eth_dev_adjust_nb_rx_tx_desc(port, &rx, &tx), "configure",
        "cannot adjust descriptor counts of " + what);
  Napi::Object o = Napi::Object::New(env);
  o.Set("rxDesc", rx);
  o.Set("txDesc", tx);
  o.Set("rss", rssUsed);
  o.Set("txFastFree", fastFreeUsed);
  return o;
}

uint16_t ArgQueueForSetup(const Napi::CallbackInfo& info, uint16_t port, bool rx, const char* op) {
  uint32_t q = ArgU32(info, 1, "queue");
  rte_eth_dev_info di = DevInfo(info.Env(), port, op);
  uint16_t have = rx ? di.nb_rx_queues : di.nb_tx_queues;
  if (q >= have) {
    ThrowDpdkCode(info.Env(), op, "EINVAL",
                  std::string(rx ? "rx" : "tx") + " queue " + std::to_string(q) + " is out of range: port " +
                      std::to_string(port) + " is configured with " + std::to_string(have) + " " + (rx ? "rx" : "tx") +
                      " queues");
  }
  return static_cast<uint16_t>(q);
}

int64_t ArgSocket(const Napi::CallbackInfo& info, size_t i, uint16_t port) {
  if (i >= info.Length() || info[i].IsUndefined()) return rte_eth_dev_socket_id(port);
  return ArgI64(info, i, "socket");
}

// portRxQueueSetup(port, queue, desc, pool, socket?)
Napi::Value PortRxQueueSetup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint16_t port = ArgPort(info, 0, "setupRxQueue");
  RequirePrimary(env, "setupRxQueue", port);
  uint16_t q = ArgQueueForSetup(info, port, true, "setupRxQueue");
  uint32_t desc = ArgU32(info, 2, "desc");
  rte_mempool* mp = MempoolFrom(env, info[3], "pool");
  int64_t socket = ArgSocket(info, 4, port);
  Check(env,
        rte_eth_rx_queue_setup(port, q, static_cast<uint16_t>(std::min<uint32_t>(desc, UINT16_MAX)),
                               static_cast<unsigned>(socket), nullptr, mp),
        "setupRxQueue",
        "cannot set up rx queue " + std::to_string(q) + " of port " + std::to_string(port) + " on pool '" + mp->name +
            "' (stop the port first; the pool needs more buffers than descriptors)");
  std::vector<const rte_mempool*>& pools = Data(env).rxQueuePools[port];
  if (pools.size() <= q) pools.resize(q + 1u, nullptr);
  pools[q] = mp;
  return env.Undefined();
}

// portTxQueueSetup(port, queue, desc, socket?)
Napi::Value PortTxQueueSetup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint16_t port = ArgPort(info, 0, "setupTxQueue");
  RequirePrimary(env, "setupTxQueue", port);
  uint16_t q = ArgQueueForSetup(info, port, false, "setupTxQueue");
  uint32_t desc = ArgU32(info, 2, "desc");
  int64_t socket = ArgSocket(info, 3, port);
  Check(env,
        rte_eth_tx_queue_setup(port, q, static_cast<uint16_t>(std::min<uint32_t>(desc, UINT16_MAX)),
                               static_cast<unsigned>(socket), nullptr),
        "setupTxQueue", "cannot set up tx queue " + std::to_string(q) + " of port " + std::to_string(port));
  return env.Undefined();
}

Napi::Value PortStart(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint16_t port = ArgPort(info, 0, "start");
  RequirePrimary(env, "start", port);
  Check(env, rte_eth_dev_start(port), "start",
        "cannot start port " + std::to_string(port) + " (configure it and set up every queue first)");
  Data(env).configuredPorts.insert(port);
  SetPortStarted(port, true);
  return env.Undefined();
}

Napi::Value PortStop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint16_t port = ArgPort(info, 0, "stop");
  RequirePrimary(env, "stop", port);
  SetPortStarted(port, false);
  Check(env, rte_eth_dev_stop(port), "stop", "cannot stop port " + std::to_string(port));
  return env.Undefined();
}

// Stops first: DPDK refuses to close a started port.
Napi::Value PortClose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint16_t port = ArgPort(info, 0, "close");
  RequirePrimary(env, "close", port);
  SetPortClosed(port);
  Check(env, rte_eth_dev_stop(port), "close", "cannot stop port " + std::to_string(port) + " before closing it");
  Check(env, rte_eth_dev_close(port), "close", "cannot close port " + std::to_string(port));
  Data(env).configuredPorts.erase(port);
  Data(env).rxQueuePools.erase(port);
  return env.Undefined();
}

// portPromiscuous(port, enable?): sets it when enable is given; returns the state.
Napi::Value PortPromiscuous(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint16_t port = ArgPort(info, 0, "promiscuous");
  if (info.Length() > 1 && info[1].IsBoolean()) {
    RequirePrimary(env, "promiscuous", port);
    bool on = info[1].As<Napi::Boolean>().Value();
    Check(env, on ? rte_eth_promiscuous_enable(port) : rte_eth_promiscuous_disable(port), "promiscuous",
          std::string("cannot turn promiscuous mode ") + (on ? "on" : "off") + " on port " + std::to_string(port));
  }
  int state = rte_eth_promiscuous_get(port);
  Check(env, state, "promiscuous", "cannot read promiscuous mode of port " + std::to_string(port));
  return Napi::Boolean::New(env, state == 1);
}

// Counters as numbers: exact up to 2^53, years of line rate.
Napi::Value PortStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint16_t port = ArgPort(info, 0, "stats");
  rte_eth_stats st;
  Check(env, rte_eth_stats_get(port, &st), "stats", "cannot read stats of port " + std::to_string(port));
  Napi::Object o = Napi::Object::New(env);
  o.Set("ipackets", static_cast<double>(st.ipackets));
  o.Set("opackets", static_cast<double>(st.opackets));
  o.Set("ibytes", static_cast<double>(st.ibytes));
  o.Set("obytes", static_cast<double>(st.obytes));
  o.Set("imissed", static_cast<double>(st.imissed));
  o.Set("ierrors", static_cast<double>(st.ierrors));
  o.Set("oerrors", static_cast<double>(st.oerrors));
  o.Set("rxNoMbuf", static_cast<double>(st.rx_nombuf));
  return o;
}

Napi::Value PortXstats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint16_t port = ArgPort(info, 0, "xstats");
  std::string what = "cannot read xstats of port " + std::to_string(port);
  int n = rte_eth_xstats_get_names(port, nullptr, 0);
  Check(env, n, "xstats", what);
  std::vector<rte_eth_xstat_name> names(static_cast<size_t>(n));
  std::vector<rte_eth_xstat> values(static_cast<size_t>(n));
  int got = n == 0 ? 0 : rte_eth_xstats_get_names(port, names.data(), static_cast<unsigned>(n));
  Check(env, got, "xstats", what);
  int vals = n == 0 ? 0 : rte_eth_xstats_get(port, values.data(), static_cast<unsigned>(n));
  Check(env, vals, "xstats", what);
  Napi::Array out = Napi::Array::New(env);
  for (int i = 0; i < std::min(got, vals); i++) {
    const rte_eth_xstat& x = values[static_cast<size_t>(i)];
    if (x.id >= static_cast<uint64_t>(got)) continue;
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", names[x.id].name);
    o.Set("value", static_cast<double>(x.value));
    out.Set(out.Length(), o);
  }
  return out;
}

Napi::Value PortStatsReset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint16_t port = ArgPort(info, 0, "resetStats");
  Check(env, rte_eth_stats_reset(port), "resetStats", "cannot reset stats of port " + std::to_string(port));
  int ret = rte_eth_xstats_reset(port);
  if (ret < 0 && ret != -ENOTSUP) Check(env, ret, "resetStats", "cannot reset xstats of port " + std::to_string(port));
  return env.Undefined();
}

// What rxBurst(port, queue, burstId) / txBurst(port, queue, burstId)
// (fastcall.h) act on. Port and queue are checked against what is set up and
// started before the driver sees them; the checks read DPDK's tables, not JS.
struct BurstCall {
  uint16_t port;
  uint16_t queue;
  Burst* burst;
};

inline BurstCall ResolveBurstCall(napi_env env, AddonData& data, const double* args, bool rx, const char* op) {
  FastRequireEal(env, data, op);
  uint32_t port = FastU32(env, args[0], "port");
  uint32_t queue = FastU32(env, args[1], "queue");
  Burst* burst = Burst::FromId(env, data, args[2]);
  RequireQueueReady(Napi::Env(env), port, queue, rx, op);
  return {static_cast<uint16_t>(port), static_cast<uint16_t>(queue), burst};
}

uint32_t RxBurst(napi_env env, AddonData& data, const double* args) {
  const BurstCall c = ResolveBurstCall(env, data, args, true, "rxBurst");
  uint16_t want = static_cast<uint16_t>(std::min<uint32_t>(c.burst->room(), UINT16_MAX));
  // The queue's pool is not known here: a kill inside is repaired by the proofs.
  PoolActivity* a = ActivityHere();
  RecordOpaque(a, nullptr);
  uint16_t n = rte_eth_rx_burst(c.port, c.queue, c.burst->pkts() + c.burst->count(), want);
  c.burst->SetCount(c.burst->count() + n);
  ActivityIdle(a);
  return n;
}

uint32_t TxBurst(napi_env env, AddonData& data, const double* args) {
  const BurstCall c = ResolveBurstCall(env, data, args, false, "txBurst");
  uint16_t count = static_cast<uint16_t>(std::min<uint32_t>(c.burst->count(), UINT16_MAX));
  // What the device refuses stays in the burst (so not JournaledTx, which frees it).
  PoolActivity* a = ActivityHere();
  RecordOpaque(a, nullptr);
  uint16_t n = rte_eth_tx_burst(c.port, c.queue, c.burst->pkts(), count);
  c.burst->Consume(n);
  ActivityIdle(a);
  return n;
}

}  // namespace

void CloseConfiguredPorts(AddonData& data) {
  for (uint16_t port : data.configuredPorts) {
    if (!rte_eth_dev_is_valid_port(port)) continue;
    SetPortClosed(port);
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
  }
  data.configuredPorts.clear();
  data.rxQueuePools.clear();
}

void InitEthdev(Napi::Env env, Napi::Object exports) {
  exports.Set("portList", Napi::Function::New(env, PortList, "portList"));
  exports.Set("portCount", Napi::Function::New(env, PortCount, "portCount"));
  exports.Set("portInfo", Napi::Function::New(env, PortInfo, "portInfo"));
  exports.Set("portLink", Napi::Function::New(env, PortLink, "portLink"));
  exports.Set("portConfigure", Napi::Function::New(env, PortConfigure, "portConfigure"));
  exports.Set("portRxQueueSetup", Napi::Function::New(env, PortRxQueueSetup, "portRxQueueSetup"));
  exports.Set("portTxQueueSetup", Napi::Function::New(env, PortTxQueueSetup, "portTxQueueSetup"));
  exports.Set("portStart", Napi::Function::New(env, PortStart, "portStart"));
  exports.Set("portStop", Napi::Function::New(env, PortStop, "portStop"));
  exports.Set("portClose", Napi::Function::New(env, PortClose, "portClose"));
  exports.Set("portPromiscuous", Napi::Function::New(env, PortPromiscuous, "portPromiscuous"));
  exports.Set("portStats", Napi::Function::New(env, PortStats, "portStats"));
  exports.Set("portXstats", Napi::Function::New(env, PortXstats, "portXstats"));
  exports.Set("portStatsReset", Napi::Function::New(env, PortStatsReset, "portStatsReset"));
  exports.Set("rxBurst", BindAddon<RxBurst>(env, "rxBurst"));
  exports.Set("txBurst", BindAddon<TxBurst>(env, "txBurst"));
}

}  // namespace dpdk_core
