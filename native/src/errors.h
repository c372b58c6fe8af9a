// Node-style system errors and libbpf log capture, shared by the addon files.
#ifndef SLUICE_ERRORS_H
#define SLUICE_ERRORS_H

#include <napi.h>

#include <string>

std::string ErrnoName(int err);

// message "<syscall> <CODE>: <text>[ (<detail>)]"; properties code (errno
// name), errno (negative, as in Node) and syscall.
Napi::Error SysError(Napi::Env env, int err, const char* syscall, const std::string& detail = "");

[[noreturn]] void ThrowSys(Napi::Env env, int err, const char* syscall, const std::string& detail = "");

// While alive, libbpf's messages (verifier log included) are collected
// instead of going to stderr; text() is attached to load errors.
class LibbpfLogCapture {
 public:
  LibbpfLogCapture();
  const std::string& text() const;
};

#endif
