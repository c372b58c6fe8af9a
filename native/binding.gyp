{
  "targets": [
    {
      "target_name": "sluice_native",
      "sources": ["src/addon.cc", "src/accel.cc", "src/errors.cc", "src/tcp_counters.c"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "../bpf"
      ],
      "defines": ["NAPI_VERSION=9", "NAPI_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "libraries": ["-lbpf"],
      "cflags": ["-Wall", "-Wextra", "-Wno-missing-field-initializers", "-fvisibility=hidden"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++20"],
      "conditions": [
        ["OS!='linux'", { "type": "none" }]
      ]
    }
  ]
}
