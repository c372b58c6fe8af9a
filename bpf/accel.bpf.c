// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * EXPERIMENTAL, off by default: same-node acceleration with sock_ops + sk_msg.
 *
 * When a TCP connection between two local endpoints is established inside the
 * cgroup this is attached to (both ends on 127.0.0.0/8, or the remote address
 * listed in accel_local_addrs) and one of its ports is in accel_ports, the
 * sock_ops program records the socket in accel_socks under its 4-tuple. The
 * sk_msg program then runs in sendmsg() on those sockets and moves each
 * message straight into the peer socket's receive queue (BPF_F_INGRESS),
 * skipping the TCP/IP stack. Measured 1.6-2.5x on loopback, but it changes
 * socket semantics (TCP counters stay 0, a blocking recv() may return EAGAIN)
 * and Cilium removed the same design after user breakage: see
 * ebpf-sockmap-brief.md, pitfalls P7-P9.
 *
 * Only UAPI context fields are read: no CO-RE, no kernel BTF needed.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "accel.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_INET 2

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 65536);
	__type(key, struct sluice_accel_key);
	__type(value, __u64);
} accel_socks SEC(".maps");

/* Ports (host order) whose connections are accelerated. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} accel_ports SEC(".maps");

/* Extra addresses of this node (network order) besides 127.0.0.0/8. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u8);
} accel_local_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_ACCEL_COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
} accel_counters SEC(".maps");

static __always_inline void count(__u32 index, __u64 amount)
{
	__u64 *value = bpf_map_lookup_elem(&accel_counters, &index);

	if (value)
		*value += amount;
}

static __always_inline int is_local(__u32 ip4)
{
	if ((bpf_ntohl(ip4) >> 24) == 127)
		return 1;
	return bpf_map_lookup_elem(&accel_local_addrs, &ip4) != 0;
}

SEC("sockops")
int sluice_accel_sockops(struct bpf_sock_ops *skops)
{
	struct sluice_accel_key key = {};
	__u32 local_port, remote_port;

	if (skops->op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB &&
	    skops->op != BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
		return 1;
	if (skops->family != AF_INET)
		return 1;
	if (!is_local(skops->local_ip4) || !is_local(skops->remote_ip4))
		return 1;
	local_port = skops->local_port;
	remote_port = bpf_ntohl(skops->remote_port);
	if (!bpf_map_lookup_elem(&accel_ports, &local_port) &&
	    !bpf_map_lookup_elem(&accel_ports, &remote_port))
		return 1;

	key.local_ip4 = skops->local_ip4;
	key.remote_ip4 = skops->remote_ip4;
	key.local_port = local_port;
	key.remote_port = remote_port;
	if (bpf_sock_hash_update(skops, &accel_socks, &key, BPF_NOEXIST) == 0)
		count(SLUICE_ACCEL_INSERTED, 1);
	else
		count(SLUICE_ACCEL_INSERT_FAIL, 1);
	return 1;
}

SEC("sk_msg")
int sluice_accel_msg(struct sk_msg_md *msg)
{
	struct sluice_accel_key peer = {};
	__u32 size = msg->size;

	/* The peer socket's key is this socket's key mirrored. */
	peer.local_ip4 = msg->remote_ip4;
	peer.remote_ip4 = msg->local_ip4;
	peer.local_port = bpf_ntohl(msg->remote_port);
	peer.remote_port = msg->local_port;

	if (bpf_msg_redirect_hash(msg, &accel_socks, &peer, BPF_F_INGRESS) == SK_PASS) {
		count(SLUICE_ACCEL_MSGS_REDIRECTED, 1);
		count(SLUICE_ACCEL_BYTES_REDIRECTED, size);
	} else {
		/* Peer not accelerated (another cgroup, or not yet established):
		 * the normal TCP path. */
		count(SLUICE_ACCEL_MSGS_WITHOUT_PEER, 1);
	}
	return SK_PASS;
}
