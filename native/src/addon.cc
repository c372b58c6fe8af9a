// Sluice native addon: sockmap splicing of TCP connection pairs.
//
// Everything here is synchronous and runs on the JS thread: each call is one
// to a few syscalls of a few microseconds, and doing them on another thread
// would let socket state change between JS and the worker. The only
// asynchronous part is FIN/RST notification, delivered through one epoll
// instance whose fd is watched by a uv_poll on the Node event loop.
//
// Protocol per connection (docs/ebpf-sockmap-brief.md, section 3.1):
//   1. raise SO_SNDBUF (pitfall P10), record byte-counter baselines;
//   2. fill `conns` and insert both sockets into `targets` (no programs);
//   3. only then insert both into `sock_hash` (programs attached) (P2);
//   4. kick: one non-blocking MSG_PEEK receive per socket replays bytes that
//      were queued before insertion through the parser (P1);
//   5. watch both sockets for EPOLLRDHUP (plus the implicit ERR/HUP) only,
//      edge-triggered, never EPOLLIN (P3).

#include <napi.h>
#include <uv.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "accel_engine.h"
#include "errors.h"
#include "splice.h"
#include "tcp_counters.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

namespace {

// ---------------------------------------------------------------- state

struct Conn {
  uint32_t id;
  int fds[2];
  uint64_t cookies[2];
  // Bytes userspace read from each socket before splicing (socket.bytesRead).
  uint64_t consumed[2];
  // counters.handed of each socket when spliced (upper bound).
  uint64_t handed_base[2];
};

enum EventFlags : uint32_t {
  kEventRdhup = 1,  // the peer sent FIN (or the socket is shut down for reading)
  kEventHup = 2,    // both directions are shut down, or the connection is gone
  kEventErr = 4,    // an error is pending; its SO_ERROR is passed along
};

class Engine {
 public:
  Engine(Napi::Env env, const Accel* accel) : env_(env), accel_(accel) {}
  ~Engine() { Unload(); }

  bool loaded() const { return obj_ != nullptr; }

  Napi::Value Load(const Napi::CallbackInfo& info);
  // `cleanup`: when called from the environment's async cleanup hook, the
  // hook handle to remove once the poll handle has closed.
  void Unload(napi_async_cleanup_hook_handle cleanup = nullptr);
  Napi::Value Splice(const Napi::CallbackInfo& info);
  Napi::Value Unsplice(const Napi::CallbackInfo& info);
  Napi::Value Remaining(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value ConnStats(const Napi::CallbackInfo& info);

 private:
  void RequireLoaded();
  bool AttachProgram(int prog_fd, enum bpf_attach_type type);
  void DeleteFromMaps(const Conn& conn);
  Conn* FindConn(const Napi::CallbackInfo& info, size_t arg);
  Napi::Object ConnCounters(const Conn& conn);
  static void OnEpollReadable(uv_poll_t* handle, int status, int events);
  void DispatchEvents();

  Napi::Env env_;
  const Accel* accel_;
  struct bpf_object* obj_ = nullptr;
  int sock_hash_fd_ = -1;
  int targets_fd_ = -1;
  int conns_fd_ = -1;
  int counters_fd_ = -1;
  // Program attachments: bpf_link fds (detached when closed, including when
  // the process dies) or, on kernels without sockmap links, prog_attach pairs.
  std::vector<int> link_fds_;
  std::vector<std::pair<int, enum bpf_attach_type>> prog_attachments_;
  bool used_links_ = false;
  uint32_t max_sockets_ = SLUICE_DEFAULT_MAX_SOCKETS;
  int epoll_fd_ = -1;
  uv_poll_t* poll_ = nullptr;
  Napi::FunctionReference on_event_;
  std::unique_ptr<Napi::AsyncContext> async_context_;
  std::unordered_map<uint32_t, Conn> conns_;
  uint32_t next_id_ = 1;
  uint64_t spliced_total_ = 0;
};

void Engine::RequireLoaded() {
  if (!loaded()) {
    Napi::Error error = Napi::Error::New(env_, "the splice programs are not loaded; call load() first");
    error.Set("code", Napi::String::New(env_, "ERR_SLUICE_NOT_LOADED"));
    throw error;
  }
}

bool Engine::AttachProgram(int prog_fd, enum bpf_attach_type type) {
  // bpf_link for sockmap programs exists since kernel 6.10. libbpf 1.1's
  // generic bpf_link_create passes it through; older kernels say EINVAL.
  int link = bpf_link_create(prog_fd, sock_hash_fd_, type, nullptr);
  if (link >= 0) {
    link_fds_.push_back(link);
    return true;
  }
  if (bpf_prog_attach(prog_fd, sock_hash_fd_, type, 0) != 0) return false;
  prog_attachments_.emplace_back(prog_fd, type);
  return true;
}

// load(objPath, onEvent, { maxSockets? }) -> { attach, maxSockets }
Napi::Value Engine::Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (loaded()) ThrowSys(env, EALREADY, "load", "already loaded; call close() first");
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsFunction()) {
    throw Napi::TypeError::New(env, "load(objPath: string, onEvent: function, options?: object)");
  }
  std::string path = info[0].As<Napi::String>();
  uint32_t max_sockets = SLUICE_DEFAULT_MAX_SOCKETS;
  if (info.Length() > 2 && info[2].IsObject()) {
    Napi::Value v = info[2].As<Napi::Object>().Get("maxSockets");
    if (v.IsNumber()) max_sockets = v.As<Napi::Number>().Uint32Value();
    if (max_sockets < 2) throw Napi::RangeError::New(env, "maxSockets must be at least 2");
  }

  LibbpfLogCapture capture;
  auto fail = [&](int err, const char* syscall, const std::string& detail) {
    Napi::Error error = SysError(env, err, syscall, detail);
    if (!capture.text().empty()) error.Set("log", Napi::String::New(env, capture.text()));
    Unload();
    throw error;
  };

  obj_ = bpf_object__open_file(path.c_str(), nullptr);
  if (obj_ == nullptr) {
    int err = errno;
    obj_ = nullptr;
    fail(err, "bpf_object__open_file", path);
  }
  for (const char* name : {"sock_hash", "targets", "conns"}) {
    struct bpf_map* map = bpf_object__find_map_by_name(obj_, name);
    if (map == nullptr) fail(ENOENT, "bpf_object__find_map_by_name", name);
    if (bpf_map__set_max_entries(map, max_sockets) != 0) fail(errno, "bpf_map__set_max_entries", name);
  }
  if (bpf_object__load(obj_) != 0) fail(errno, "bpf_object__load", path);

  sock_hash_fd_ = bpf_object__find_map_fd_by_name(obj_, "sock_hash");
  targets_fd_ = bpf_object__find_map_fd_by_name(obj_, "targets");
  conns_fd_ = bpf_object__find_map_fd_by_name(obj_, "conns");
  counters_fd_ = bpf_object__find_map_fd_by_name(obj_, "counters");
  struct bpf_program* parser = bpf_object__find_program_by_name(obj_, "sluice_parser");
  struct bpf_program* verdict = bpf_object__find_program_by_name(obj_, "sluice_verdict");
  if (sock_hash_fd_ < 0 || targets_fd_ < 0 || conns_fd_ < 0 || counters_fd_ < 0 || !parser || !verdict) {
    fail(ENOENT, "bpf_object__find_program_by_name", "the object lacks sluice maps or programs");
  }
  if (!AttachProgram(bpf_program__fd(parser), BPF_SK_SKB_STREAM_PARSER)) {
    fail(errno, "bpf_prog_attach", "stream parser");
  }
  if (!AttachProgram(bpf_program__fd(verdict), BPF_SK_SKB_STREAM_VERDICT)) {
    fail(errno, "bpf_prog_attach", "stream verdict");
  }
  used_links_ = !link_fds_.empty() && prog_attachments_.empty();
  max_sockets_ = max_sockets;

  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) fail(errno, "epoll_create1", "");
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) fail(EINVAL, "napi_get_uv_event_loop", "");
  poll_ = new uv_poll_t;
  int rc = uv_poll_init(loop, poll_, epoll_fd_);
  if (rc != 0) {
    delete poll_;
    poll_ = nullptr;
    fail(-rc, "uv_poll_init", "");
  }
  poll_->data = this;
  rc = uv_poll_start(poll_, UV_READABLE, OnEpollReadable);
  if (rc != 0) fail(-rc, "uv_poll_start", "");
  // Spliced sockets keep the loop alive through their own handles; this
  // watcher alone must not.
  uv_unref(reinterpret_cast<uv_handle_t*>(poll_));

  on_event_ = Napi::Persistent(info[1].As<Napi::Function>());
  async_context_ = std::make_unique<Napi::AsyncContext>(env, "SluiceSpliceEvent");

  Napi::Object result = Napi::Object::New(env);
  result.Set("attach", Napi::String::New(env, used_links_ ? "link" : "prog_attach"));
  result.Set("maxSockets", Napi::Number::New(env, max_sockets_));
  Napi::Array ids = Napi::Array::New(env);
  for (struct bpf_program* prog : {parser, verdict}) {
    struct bpf_prog_info prog_info {};
    uint32_t len = sizeof(prog_info);
    if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &prog_info, &len) == 0) {
      ids.Set(ids.Length(), Napi::Number::New(env, prog_info.id));
    }
  }
  result.Set("programIds", ids);
  return result;
}

void Engine::Unload(napi_async_cleanup_hook_handle cleanup) {
  if (poll_ != nullptr) {
    uv_poll_stop(poll_);
    poll_->data = cleanup;
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* handle) {
      auto pending = static_cast<napi_async_cleanup_hook_handle>(handle->data);
      delete reinterpret_cast<uv_poll_t*>(handle);
      if (pending != nullptr) napi_remove_async_cleanup_hook(pending);
    });
    poll_ = nullptr;
  } else if (cleanup != nullptr) {
    napi_remove_async_cleanup_hook(cleanup);
  }
  if (epoll_fd_ >= 0) close(epoll_fd_);
  epoll_fd_ = -1;
  for (int fd : link_fds_) close(fd);
  link_fds_.clear();
  for (auto& [prog_fd, type] : prog_attachments_) bpf_prog_detach2(prog_fd, sock_hash_fd_, type);
  prog_attachments_.clear();
  // Closing the object closes the last map fds: the kernel then unlinks every
  // socket still in the maps and restores its callbacks.
  if (obj_ != nullptr) bpf_object__close(obj_);
  obj_ = nullptr;
  sock_hash_fd_ = targets_fd_ = conns_fd_ = counters_fd_ = -1;
  conns_.clear();
  on_event_.Reset();
  async_context_.reset();
}

void Engine::DeleteFromMaps(const Conn& conn) {
  // Programs first (no more verdicts), then targets, then the peer table.
  // ENOENT is normal: closing a socket removes it from every sockmap.
  for (int map_fd : {sock_hash_fd_, targets_fd_, conns_fd_}) {
    for (uint64_t cookie : conn.cookies) bpf_map_delete_elem(map_fd, &cookie);
  }
}

// splice(fdA, fdB, { sndbuf?, consumedA?, consumedB? }) -> id
//
// Errors leave both sockets as they were (usable for a userspace pipe) unless
// the error has `fatal: true`: then bytes may already have moved through the
// kernel and the caller must destroy both sockets.
Napi::Value Engine::Splice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireLoaded();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    throw Napi::TypeError::New(env, "splice(fdA: number, fdB: number, options?: object)");
  }
  Conn conn{};
  conn.fds[0] = info[0].As<Napi::Number>().Int32Value();
  conn.fds[1] = info[1].As<Napi::Number>().Int32Value();
  if (conn.fds[0] < 0 || conn.fds[1] < 0 || conn.fds[0] == conn.fds[1]) ThrowSys(env, EBADF, "splice");
  int sndbuf = 0;
  if (info.Length() > 2 && info[2].IsObject()) {
    Napi::Object options = info[2].As<Napi::Object>();
    Napi::Value v = options.Get("sndbuf");
    if (v.IsNumber()) sndbuf = v.As<Napi::Number>().Int32Value();
    v = options.Get("consumedA");
    if (v.IsNumber()) conn.consumed[0] = static_cast<uint64_t>(v.As<Napi::Number>().DoubleValue());
    v = options.Get("consumedB");
    if (v.IsNumber()) conn.consumed[1] = static_cast<uint64_t>(v.As<Napi::Number>().DoubleValue());
  }

  for (int side = 0; side < 2; side++) {
    int fd = conn.fds[side];
    if (accel_->Contains(fd)) ThrowSys(env, EBUSY, "splice", "socket is accelerated by the sk_msg program");
    socklen_t len = sizeof(conn.cookies[side]);
    if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &conn.cookies[side], &len) != 0) {
      ThrowSys(env, errno, "getsockopt", "SO_COOKIE");
    }
    if (sndbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) != 0 &&
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) != 0) {
      ThrowSys(env, errno, "setsockopt", "SO_SNDBUF");
    }
    struct sluice_tcp_counters counters;
    const char* syscall = "";
    if (sluice_tcp_counters_read(fd, 1, &counters, &syscall) != 0) ThrowSys(env, errno, syscall, "TCP_INFO");
    // The kernel also accepts listening sockets in a sockhash; a pair must be
    // two established connections (CLOSE_WAIT etc. are refused by the map).
    if (counters.state == 10 /* TCP_LISTEN */) ThrowSys(env, EOPNOTSUPP, "splice", "listening socket");
    conn.handed_base[side] = counters.handed;
  }

  // Steps 2 and 3. Until a socket is in sock_hash no program sees its bytes,
  // so undoing steps that came before is lossless.
  int step_errno = 0;
  const char* step = nullptr;
  for (int side = 0; side < 2 && step == nullptr; side++) {
    struct sluice_conn value {};
    value.peer = conn.cookies[1 - side];
    value.direction = side == 0 ? SLUICE_DIR_A_TO_B : SLUICE_DIR_B_TO_A;
    if (bpf_map_update_elem(conns_fd_, &conn.cookies[side], &value, BPF_NOEXIST) != 0) {
      step_errno = errno;
      step = "conns";
    }
  }
  for (int side = 0; side < 2 && step == nullptr; side++) {
    uint64_t fd = static_cast<uint64_t>(conn.fds[side]);
    if (bpf_map_update_elem(targets_fd_, &conn.cookies[side], &fd, BPF_NOEXIST) != 0) {
      step_errno = errno;
      step = "targets";
    }
  }
  // The first socket into sock_hash starts moving bytes; from here on errors are fatal.
  bool fatal = false;
  for (int side = 0; side < 2 && step == nullptr; side++) {
    uint64_t fd = static_cast<uint64_t>(conn.fds[side]);
    if (bpf_map_update_elem(sock_hash_fd_, &conn.cookies[side], &fd, BPF_NOEXIST) != 0) {
      step_errno = errno;
      step = "sock_hash";
      fatal = side == 1;
    }
  }
  if (step != nullptr) {
    DeleteFromMaps(conn);
    Napi::Error error = SysError(env, step_errno, "bpf_map_update_elem", step);
    error.Set("fatal", Napi::Boolean::New(env, fatal));
    throw error;
  }

  // Step 4, the kick. tcp_bpf_recvmsg_parser() runs bytes that were queued
  // before insertion through the parser; MSG_PEEK so that nothing is consumed
  // even if a verdict left bytes on this socket.
  size_t stuck = 0;
  for (int side = 0; side < 2; side++) {
    char byte;
    ssize_t n = recv(conn.fds[side], &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) stuck++;
  }

  // Step 5.
  conn.id = next_id_++;
  if (next_id_ > 0x7fffffff) next_id_ = 1;
  for (int side = 0; side < 2 && step == nullptr; side++) {
    struct epoll_event ev {};
    ev.events = EPOLLRDHUP | EPOLLET;
    ev.data.u64 = (static_cast<uint64_t>(conn.id) << 1) | static_cast<uint64_t>(side);
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, conn.fds[side], &ev) != 0) {
      step_errno = errno;
      step = "epoll_ctl";
    }
  }
  if (step != nullptr || stuck > 0) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, conn.fds[0], nullptr);
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, conn.fds[1], nullptr);
    DeleteFromMaps(conn);
    Napi::Error error = step != nullptr
                            ? SysError(env, step_errno, step)
                            : SysError(env, EPROTO, "recv", "bytes left on a spliced socket after insertion");
    error.Set("fatal", Napi::Boolean::New(env, true));
    throw error;
  }

  conns_.emplace(conn.id, conn);
  spliced_total_++;
  return Napi::Number::New(env, conn.id);
}

Conn* Engine::FindConn(const Napi::CallbackInfo& info, size_t arg) {
  if (info.Length() <= arg || !info[arg].IsNumber()) return nullptr;
  auto it = conns_.find(info[arg].As<Napi::Number>().Uint32Value());
  return it == conns_.end() ? nullptr : &it->second;
}

Napi::Object Engine::ConnCounters(const Conn& conn) {
  Napi::Object result = Napi::Object::New(env_);
  uint64_t redirect_fail = 0;
  const char* names[2] = {"aToB", "bToA"};
  for (int side = 0; side < 2; side++) {
    struct sluice_conn value {};
    if (bpf_map_lookup_elem(conns_fd_, &conn.cookies[side], &value) == 0) {
      redirect_fail += value.redirect_fail;
    }
    result.Set(names[side], Napi::Number::New(env_, static_cast<double>(value.bytes)));
  }
  result.Set("redirectFail", Napi::Number::New(env_, static_cast<double>(redirect_fail)));
  return result;
}

// unsplice(id) or unsplice(fdA, fdB) -> { aToB, bToA, redirectFail } | null
// Removes the pair from the maps (restoring the sockets' normal receive path)
// and stops watching it. Does not close anything.
Napi::Value Engine::Unsplice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!loaded()) return env.Null();
  Conn* found = nullptr;
  if (info.Length() >= 2 && info[0].IsNumber() && info[1].IsNumber()) {
    int fd_a = info[0].As<Napi::Number>().Int32Value();
    int fd_b = info[1].As<Napi::Number>().Int32Value();
    for (auto& [id, conn] : conns_) {
      if (conn.fds[0] == fd_a && conn.fds[1] == fd_b) {
        found = &conn;
        break;
      }
    }
  } else {
    found = FindConn(info, 0);
  }
  if (found == nullptr) return env.Null();
  Conn conn = *found;
  conns_.erase(conn.id);
  // EBADF/ENOENT when a socket was already closed: epoll forgets closed files.
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, conn.fds[0], nullptr);
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, conn.fds[1], nullptr);
  // Remove the programs' hold first, read the final counters, then forget the peer table.
  for (uint64_t cookie : conn.cookies) bpf_map_delete_elem(sock_hash_fd_, &cookie);
  for (uint64_t cookie : conn.cookies) bpf_map_delete_elem(targets_fd_, &cookie);
  Napi::Object counters = ConnCounters(conn);
  for (uint64_t cookie : conn.cookies) bpf_map_delete_elem(conns_fd_, &cookie);
  return counters;
}

// remaining(id, direction 0 = a->b | 1 = b->a) -> number
//
// Bytes the source socket received (after it was spliced, FIN excluded) that
// the kernel has not yet handed to the destination socket. <= 0 means every
// byte is in the destination's send queue, so a FIN sent now follows the data
// (pitfall P5: the kernel does not forward FIN and the psock backlog may still
// hold data when FIN arrives).
Napi::Value Engine::Remaining(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireLoaded();
  Conn* conn = FindConn(info, 0);
  if (conn == nullptr) ThrowSys(env, ENOENT, "remaining", "no such spliced connection");
  int src = info.Length() > 1 && info[1].IsNumber() && info[1].As<Napi::Number>().Int32Value() == 1 ? 1 : 0;
  int dst = 1 - src;
  struct sluice_tcp_counters from, to;
  const char* syscall = "";
  if (sluice_tcp_counters_read(conn->fds[src], 0, &from, &syscall) != 0) ThrowSys(env, errno, syscall, "TCP_INFO");
  if (sluice_tcp_counters_read(conn->fds[dst], 0, &to, &syscall) != 0) ThrowSys(env, errno, syscall, "TCP_INFO");
  double expected = static_cast<double>(from.received) - static_cast<double>(conn->consumed[src]) -
                    (from.fin_received ? 1.0 : 0.0);
  double forwarded = static_cast<double>(to.handed) - static_cast<double>(conn->handed_base[dst]);
  return Napi::Number::New(env, expected - forwarded);
}

// stats() -> global counters (bytes since load, including connections already unspliced).
Napi::Value Engine::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  result.Set("loaded", Napi::Boolean::New(env, loaded()));
  result.Set("connections", Napi::Number::New(env, static_cast<double>(conns_.size())));
  result.Set("splicedTotal", Napi::Number::New(env, static_cast<double>(spliced_total_)));
  if (!loaded()) return result;
  result.Set("attach", Napi::String::New(env, used_links_ ? "link" : "prog_attach"));
  int ncpus = libbpf_num_possible_cpus();
  if (ncpus <= 0) ncpus = 1;
  std::vector<uint64_t> values(static_cast<size_t>(ncpus));
  const char* names[SLUICE_COUNTER_MAX] = {"aToBBytes", "bToABytes", "aToBSkbs", "bToASkbs",
                                           "redirectFail", "noPeer", "zeroLength"};
  for (uint32_t index = 0; index < SLUICE_COUNTER_MAX; index++) {
    uint64_t sum = 0;
    if (bpf_map_lookup_elem(counters_fd_, &index, values.data()) == 0) {
      for (uint64_t v : values) sum += v;
    }
    result.Set(names[index], Napi::Number::New(env, static_cast<double>(sum)));
  }
  return result;
}

// connStats(id) -> { aToB, bToA, redirectFail } | null
Napi::Value Engine::ConnStats(const Napi::CallbackInfo& info) {
  if (!loaded()) return info.Env().Null();
  Conn* conn = FindConn(info, 0);
  if (conn == nullptr) return info.Env().Null();
  return ConnCounters(*conn);
}

void Engine::OnEpollReadable(uv_poll_t* handle, int status, int /*events*/) {
  if (status < 0) return;
  static_cast<Engine*>(handle->data)->DispatchEvents();
}

void Engine::DispatchEvents() {
  Napi::HandleScope scope(env_);
  struct epoll_event events[64];
  for (int round = 0; round < 16 && epoll_fd_ >= 0; round++) {
    int n = epoll_wait(epoll_fd_, events, 64, 0);
    if (n <= 0) return;
    for (int i = 0; i < n && epoll_fd_ >= 0; i++) {
      uint32_t id = static_cast<uint32_t>(events[i].data.u64 >> 1);
      int side = static_cast<int>(events[i].data.u64 & 1);
      // The JS handler may have unspliced this pair for an earlier event.
      auto it = conns_.find(id);
      if (it == conns_.end()) continue;
      uint32_t flags = 0;
      if (events[i].events & EPOLLRDHUP) flags |= kEventRdhup;
      if (events[i].events & EPOLLHUP) flags |= kEventHup;
      int so_error = 0;
      if (events[i].events & EPOLLERR) {
        flags |= kEventErr;
        socklen_t len = sizeof(so_error);
        if (getsockopt(it->second.fds[side], SOL_SOCKET, SO_ERROR, &so_error, &len) != 0) so_error = errno;
      }
      napi_value args[4] = {
          Napi::Number::New(env_, id),
          Napi::Number::New(env_, side),
          Napi::Number::New(env_, flags),
          so_error != 0 ? static_cast<napi_value>(Napi::String::New(env_, ErrnoName(so_error)))
                        : static_cast<napi_value>(env_.Null()),
      };
      try {
        on_event_.MakeCallback(env_.Global(), {args[0], args[1], args[2], args[3]}, *async_context_);
      } catch (const Napi::Error& error) {
        // No JS frame to throw into: report it like any uncaught exception.
        napi_fatal_exception(env_, error.Value());
        return;
      }
    }
    if (n < 64) return;
  }
}

// ---------------------------------------------------------------- module functions

struct AddonState {
  explicit AddonState(Napi::Env env) : engine(env, &accel) {}
  Accel accel;
  Engine engine;
};

AddonState& GetState(Napi::Env env) {
  AddonState* state = env.GetInstanceData<AddonState>();
  if (state == nullptr) {
    state = new AddonState(env);
    env.SetInstanceData<AddonState>(state);
    // Detach and release while the environment is still intact (a worker
    // thread exiting, or the main thread at exit); the instance-data
    // finalizer that deletes `state` runs later, when N-API calls and the
    // loop are no longer safe to use.
    // Asynchronous, because closing the uv_poll completes on a later loop
    // turn: Node waits for napi_remove_async_cleanup_hook before it unloads
    // this library, so the close callback never points into unmapped code.
    napi_add_async_cleanup_hook(
        env,
        [](napi_async_cleanup_hook_handle handle, void* arg) {
          AddonState* s = static_cast<AddonState*>(arg);
          s->accel.Stop();
          s->engine.Unload(handle);
        },
        state, nullptr);
  }
  return *state;
}

Engine& GetEngine(Napi::Env env) { return GetState(env).engine; }

// probe() -> { ok, code, reason }. Never throws.
Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  auto answer = [&](bool ok, const std::string& code, const std::string& reason) {
    result.Set("ok", Napi::Boolean::New(env, ok));
    result.Set("code", code.empty() ? env.Null() : Napi::String::New(env, code));
    result.Set("reason", Napi::String::New(env, reason));
    return result;
  };
  try {
    LibbpfLogCapture capture;
    int map_fd = bpf_map_create(BPF_MAP_TYPE_SOCKHASH, "sluice_probe", sizeof(uint64_t), sizeof(uint64_t), 1, nullptr);
    if (map_fd < 0) {
      int err = errno;
      if (err == EPERM || err == EACCES) {
        return answer(false, ErrnoName(err), "creating a SOCKHASH was refused: needs CAP_BPF and CAP_NET_ADMIN");
      }
      if (err == EINVAL) return answer(false, ErrnoName(err), "the kernel has no SOCKHASH maps (needs 4.18+)");
      return answer(false, ErrnoName(err), std::string("creating a SOCKHASH failed: ") + strerror(err));
    }
    // A trivial SK_SKB program: the kernel needs CONFIG_BPF_STREAM_PARSER.
    struct bpf_insn insns[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    int prog_fd = bpf_prog_load(BPF_PROG_TYPE_SK_SKB, "sluice_probe", "GPL", insns, 2, nullptr);
    int prog_err = errno;
    if (prog_fd >= 0) {
      int rc = bpf_prog_attach(prog_fd, map_fd, BPF_SK_SKB_STREAM_PARSER, 0);
      prog_err = errno;
      if (rc == 0) bpf_prog_detach2(prog_fd, map_fd, BPF_SK_SKB_STREAM_PARSER);
      close(prog_fd);
      close(map_fd);
      if (rc != 0) {
        return answer(false, ErrnoName(prog_err),
                      std::string("attaching a stream parser failed (CONFIG_BPF_STREAM_PARSER?): ") + strerror(prog_err));
      }
      return answer(true, "", "sockmap stream-parser splicing is available");
    }
    close(map_fd);
    return answer(false, ErrnoName(prog_err), std::string("loading an SK_SKB program failed: ") + strerror(prog_err));
  } catch (...) {
    return answer(false, "EUNKNOWN", "probe failed unexpectedly");
  }
}

Napi::Value Load(const Napi::CallbackInfo& info) { return GetEngine(info.Env()).Load(info); }
Napi::Value Close(const Napi::CallbackInfo& info) {
  GetEngine(info.Env()).Unload();
  return info.Env().Undefined();
}
Napi::Value Splice(const Napi::CallbackInfo& info) { return GetEngine(info.Env()).Splice(info); }
Napi::Value Unsplice(const Napi::CallbackInfo& info) { return GetEngine(info.Env()).Unsplice(info); }
Napi::Value Remaining(const Napi::CallbackInfo& info) { return GetEngine(info.Env()).Remaining(info); }
Napi::Value Stats(const Napi::CallbackInfo& info) { return GetEngine(info.Env()).Stats(info); }
Napi::Value ConnStats(const Napi::CallbackInfo& info) { return GetEngine(info.Env()).ConnStats(info); }
Napi::Value AccelStart(const Napi::CallbackInfo& info) { return GetState(info.Env()).accel.Start(info); }
Napi::Value AccelStop(const Napi::CallbackInfo& info) {
  GetState(info.Env()).accel.Stop();
  return info.Env().Undefined();
}
Napi::Value AccelStats(const Napi::CallbackInfo& info) { return GetState(info.Env()).accel.Stats(info); }

// programExists(id) -> bool: whether a BPF program with this kernel id still
// exists (tests check that the programs vanish with the process).
Napi::Value ProgramExists(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "programExists(id: number)");
  int fd = bpf_prog_get_fd_by_id(info[0].As<Napi::Number>().Uint32Value());
  if (fd >= 0) {
    close(fd);
    return Napi::Boolean::New(env, true);
  }
  if (errno == ENOENT) return Napi::Boolean::New(env, false);
  ThrowSys(env, errno, "bpf_prog_get_fd_by_id");
}

// shutdownWrite(fd): shutdown(fd, SHUT_WR), i.e. send FIN.
Napi::Value ShutdownWrite(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "shutdownWrite(fd: number)");
  if (shutdown(info[0].As<Napi::Number>().Int32Value(), SHUT_WR) != 0) ThrowSys(env, errno, "shutdown");
  return env.Undefined();
}

// peek(fd, maxBytes) -> Buffer (possibly empty at EOF) | null when nothing is queued.
// recv(MSG_PEEK | MSG_DONTWAIT): reads without consuming, e.g. a TLS ClientHello for SNI.
Napi::Value Peek(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    throw Napi::TypeError::New(env, "peek(fd: number, maxBytes: number)");
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  uint32_t max = info[1].As<Napi::Number>().Uint32Value();
  if (max == 0 || max > 1 << 20) throw Napi::RangeError::New(env, "maxBytes must be 1..1048576");
  std::vector<char> buf(max);
  ssize_t n = recv(fd, buf.data(), max, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return env.Null();
    ThrowSys(env, errno, "recv");
  }
  return Napi::Buffer<char>::Copy(env, buf.data(), static_cast<size_t>(n));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("probe", Napi::Function::New(env, Probe, "probe"));
  exports.Set("load", Napi::Function::New(env, Load, "load"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("splice", Napi::Function::New(env, Splice, "splice"));
  exports.Set("unsplice", Napi::Function::New(env, Unsplice, "unsplice"));
  exports.Set("remaining", Napi::Function::New(env, Remaining, "remaining"));
  exports.Set("stats", Napi::Function::New(env, Stats, "stats"));
  exports.Set("connStats", Napi::Function::New(env, ConnStats, "connStats"));
  exports.Set("shutdownWrite", Napi::Function::New(env, ShutdownWrite, "shutdownWrite"));
  exports.Set("peek", Napi::Function::New(env, Peek, "peek"));
  exports.Set("programExists", Napi::Function::New(env, ProgramExists, "programExists"));
  exports.Set("accelStart", Napi::Function::New(env, AccelStart, "accelStart"));
  exports.Set("accelStop", Napi::Function::New(env, AccelStop, "accelStop"));
  exports.Set("accelStats", Napi::Function::New(env, AccelStats, "accelStats"));
  exports.Set("EVENT_RDHUP", Napi::Number::New(env, kEventRdhup));
  exports.Set("EVENT_HUP", Napi::Number::New(env, kEventHup));
  exports.Set("EVENT_ERR", Napi::Number::New(env, kEventErr));
  return exports;
}

}  // namespace

NODE_API_MODULE(sluice_native, Init)
