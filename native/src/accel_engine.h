// EXPERIMENTAL same-node acceleration (bpf/accel.bpf.c): sock_ops attached to
// a cgroup v2 directory through a bpf_link, sk_msg attached to the accel_socks
// sockhash. Off unless accelStart() is called.
#ifndef SLUICE_ACCEL_ENGINE_H
#define SLUICE_ACCEL_ENGINE_H

#include <napi.h>

struct bpf_object;
struct bpf_link;

class Accel {
 public:
  ~Accel() { Stop(); }
  bool active() const { return obj_ != nullptr; }
  Napi::Value Start(const Napi::CallbackInfo& info);
  void Stop();
  Napi::Value Stats(const Napi::CallbackInfo& info);
  // Whether the socket behind fd is in accel_socks (then splicing it would
  // stack two kinds of BPF redirection on one socket: refused).
  bool Contains(int fd) const;

 private:
  struct bpf_object* obj_ = nullptr;
  struct bpf_link* sockops_link_ = nullptr;
  int msg_link_fd_ = -1;
  int msg_prog_fd_ = -1;  // set when attached with bpf_prog_attach instead of a link
  int socks_fd_ = -1;
  int counters_fd_ = -1;
};

#endif
