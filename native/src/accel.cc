#include "accel_engine.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "accel.h"
#include "errors.h"

// accelStart(objPath, { cgroup, ports, localAddrs? }) -> { cgroup, msgAttach }
Napi::Value Accel::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (active()) ThrowSys(env, EALREADY, "accelStart", "already started");
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsObject()) {
    throw Napi::TypeError::New(env, "accelStart(objPath: string, { cgroup: string, ports: number[], localAddrs?: string[] })");
  }
  std::string path = info[0].As<Napi::String>();
  Napi::Object options = info[1].As<Napi::Object>();
  if (!options.Get("cgroup").IsString() || !options.Get("ports").IsArray()) {
    throw Napi::TypeError::New(env, "accelStart: options.cgroup (string) and options.ports (number[]) are required");
  }
  std::string cgroup = options.Get("cgroup").As<Napi::String>();
  Napi::Array ports = options.Get("ports").As<Napi::Array>();
  std::vector<uint32_t> addrs;
  if (options.Get("localAddrs").IsArray()) {
    Napi::Array list = options.Get("localAddrs").As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); i++) {
      std::string text = list.Get(i).ToString();
      struct in_addr addr;
      if (inet_pton(AF_INET, text.c_str(), &addr) != 1) throw Napi::TypeError::New(env, "localAddrs: not an IPv4 address: " + text);
      addrs.push_back(addr.s_addr);
    }
  }

  LibbpfLogCapture capture;
  auto fail = [&](int err, const char* syscall, const std::string& detail) {
    Napi::Error error = SysError(env, err, syscall, detail);
    if (!capture.text().empty()) error.Set("log", Napi::String::New(env, capture.text()));
    Stop();
    throw error;
  };

  obj_ = bpf_object__open_file(path.c_str(), nullptr);
  if (obj_ == nullptr) {
    int err = errno;
    fail(err, "bpf_object__open_file", path);
  }
  if (bpf_object__load(obj_) != 0) fail(errno, "bpf_object__load", path);
  socks_fd_ = bpf_object__find_map_fd_by_name(obj_, "accel_socks");
  counters_fd_ = bpf_object__find_map_fd_by_name(obj_, "accel_counters");
  int ports_fd = bpf_object__find_map_fd_by_name(obj_, "accel_ports");
  int addrs_fd = bpf_object__find_map_fd_by_name(obj_, "accel_local_addrs");
  struct bpf_program* sockops = bpf_object__find_program_by_name(obj_, "sluice_accel_sockops");
  struct bpf_program* msg = bpf_object__find_program_by_name(obj_, "sluice_accel_msg");
  if (socks_fd_ < 0 || counters_fd_ < 0 || ports_fd < 0 || addrs_fd < 0 || !sockops || !msg) {
    fail(ENOENT, "bpf_object__find_program_by_name", "the object lacks the accel maps or programs");
  }
  uint8_t one = 1;
  for (uint32_t i = 0; i < ports.Length(); i++) {
    uint32_t port = ports.Get(i).ToNumber().Uint32Value();
    if (port == 0 || port > 65535) fail(EINVAL, "accelStart", "port out of range");
    if (bpf_map_update_elem(ports_fd, &port, &one, BPF_ANY) != 0) fail(errno, "bpf_map_update_elem", "accel_ports");
  }
  for (uint32_t addr : addrs) {
    if (bpf_map_update_elem(addrs_fd, &addr, &one, BPF_ANY) != 0) fail(errno, "bpf_map_update_elem", "accel_local_addrs");
  }

  // sk_msg first, so sockets inserted by sock_ops get the verdict from the start.
  int msg_fd = bpf_program__fd(msg);
  msg_link_fd_ = bpf_link_create(msg_fd, socks_fd_, BPF_SK_MSG_VERDICT, nullptr);
  if (msg_link_fd_ < 0) {
    if (bpf_prog_attach(msg_fd, socks_fd_, BPF_SK_MSG_VERDICT, 0) != 0) fail(errno, "bpf_prog_attach", "sk_msg");
    msg_prog_fd_ = msg_fd;
  }
  // A link, never a plain bpf_prog_attach: a cgroup attachment would outlive
  // the process and keep redirecting.
  int cgroup_fd = open(cgroup.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cgroup_fd < 0) fail(errno, "open", cgroup);
  sockops_link_ = bpf_program__attach_cgroup(sockops, cgroup_fd);
  int link_err = errno;
  close(cgroup_fd);
  if (sockops_link_ == nullptr) fail(link_err, "bpf_link_create", "sock_ops on " + cgroup);

  Napi::Object result = Napi::Object::New(env);
  result.Set("cgroup", Napi::String::New(env, cgroup));
  result.Set("msgAttach", Napi::String::New(env, msg_prog_fd_ < 0 ? "link" : "prog_attach"));
  return result;
}

void Accel::Stop() {
  if (sockops_link_ != nullptr) bpf_link__destroy(sockops_link_);
  sockops_link_ = nullptr;
  if (msg_link_fd_ >= 0) close(msg_link_fd_);
  msg_link_fd_ = -1;
  if (msg_prog_fd_ >= 0) bpf_prog_detach2(msg_prog_fd_, socks_fd_, BPF_SK_MSG_VERDICT);
  msg_prog_fd_ = -1;
  // Closing the maps unlinks every accelerated socket (callbacks restored).
  if (obj_ != nullptr) bpf_object__close(obj_);
  obj_ = nullptr;
  socks_fd_ = counters_fd_ = -1;
}

Napi::Value Accel::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  result.Set("active", Napi::Boolean::New(env, active()));
  if (!active()) return result;
  int ncpus = libbpf_num_possible_cpus();
  if (ncpus <= 0) ncpus = 1;
  std::vector<uint64_t> values(static_cast<size_t>(ncpus));
  const char* names[SLUICE_ACCEL_COUNTER_MAX] = {"inserted", "insertFail", "msgsRedirected", "bytesRedirected", "msgsWithoutPeer"};
  for (uint32_t index = 0; index < SLUICE_ACCEL_COUNTER_MAX; index++) {
    uint64_t sum = 0;
    if (bpf_map_lookup_elem(counters_fd_, &index, values.data()) == 0) {
      for (uint64_t v : values) sum += v;
    }
    result.Set(names[index], Napi::Number::New(env, static_cast<double>(sum)));
  }
  return result;
}

bool Accel::Contains(int fd) const {
  if (!active()) return false;
  struct sockaddr_in local {}, remote {};
  socklen_t len = sizeof(local);
  if (getsockname(fd, reinterpret_cast<struct sockaddr*>(&local), &len) != 0 || local.sin_family != AF_INET) return false;
  len = sizeof(remote);
  if (getpeername(fd, reinterpret_cast<struct sockaddr*>(&remote), &len) != 0) return false;
  struct sluice_accel_key key {};
  key.local_ip4 = local.sin_addr.s_addr;
  key.remote_ip4 = remote.sin_addr.s_addr;
  key.local_port = ntohs(local.sin_port);
  key.remote_port = ntohs(remote.sin_port);
  uint64_t cookie = 0;
  return bpf_map_lookup_elem(socks_fd_, &key, &cookie) == 0;
}
