// Ethernet ports (ethdev).
#include <rte_ethdev.h>

#include "common.h"

namespace dpdk_core {
namespace {

Napi::Value PortList(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env, "ports");
  Napi::Array out = Napi::Array::New(env);
  uint16_t port;
  RTE_ETH_FOREACH_DEV(port) {
    Napi::Object o = Napi::Object::New(env);
    char name[RTE_ETH_NAME_MAX_LEN];
    if (rte_eth_dev_get_name_by_port(port, name) != 0) name[0] = '\0';
    struct rte_ether_addr mac;
    char macText[RTE_ETHER_ADDR_FMT_SIZE] = "";
    if (rte_eth_macaddr_get(port, &mac) == 0) rte_ether_format_addr(macText, sizeof(macText), &mac);
    o.Set("id", port);
    o.Set("name", name);
    o.Set("mac", macText);
    o.Set("socket", rte_eth_dev_socket_id(port));
    out.Set(out.Length(), o);
  }
  return out;
}

}  // namespace

void InitEthdev(Napi::Env env, Napi::Object exports) {
  exports.Set("portList", Napi::Function::New(env, PortList, "portList"));
}

}  // namespace dpdk_core
