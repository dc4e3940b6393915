{
  "targets": [
    {
      "target_name": "dpdk_core",
      "sources": ["<!@(ls -1 native/*.cc)"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags": ["<!@(pkg-config --cflags libdpdk)", "-O3", "-fvisibility=hidden", "-fno-semantic-interposition", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc": ["-std=c++17", "-fexceptions"],
      "libraries": ["<!@(pkg-config --libs libdpdk)"],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "ALLOW_EXPERIMENTAL_API",
        "DPDK_PKG_VERSION=\"<!(pkg-config --modversion libdpdk)\""
      ]
    }
  ]
}
