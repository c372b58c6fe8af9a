#include "errors.h"

#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

namespace {

std::string g_libbpf_log;

int CaptureLibbpfLog(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char line[1024];
  int n = vsnprintf(line, sizeof(line), format, args);
  if (g_libbpf_log.size() < 64 * 1024) g_libbpf_log.append(line);
  return n;
}

}  // namespace

std::string ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  if (name != nullptr) return name;
  return "E" + std::to_string(err);
}

Napi::Error SysError(Napi::Env env, int err, const char* syscall, const std::string& detail) {
  std::string code = ErrnoName(err);
  std::string message = std::string(syscall) + " " + code + ": " + strerror(err);
  if (!detail.empty()) message += " (" + detail + ")";
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  error.Set("errno", Napi::Number::New(env, -err));
  error.Set("syscall", Napi::String::New(env, syscall));
  return error;
}

void ThrowSys(Napi::Env env, int err, const char* syscall, const std::string& detail) {
  throw SysError(env, err, syscall, detail);
}

LibbpfLogCapture::LibbpfLogCapture() {
  g_libbpf_log.clear();
  libbpf_set_print(CaptureLibbpfLog);
}

const std::string& LibbpfLogCapture::text() const { return g_libbpf_log; }
