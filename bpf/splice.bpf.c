// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Sluice L4 splicing: the kernel forwards bytes between two TCP sockets
 * (client <-> backend) so the proxy process never copies them.
 *
 * Mode: stream parser + stream verdict (BPF_SK_SKB_STREAM_PARSER and
 * BPF_SK_SKB_STREAM_VERDICT). The parser-less BPF_SK_SKB_VERDICT mode
 * duplicated a 64 KiB skb in 4 of 43 one-GiB echo runs on kernel 6.18, so it
 * is never used here (docs: ebpf-sockmap-brief.md, pitfall P6).
 *
 * Maps (all keyed by socket cookie, SO_COOKIE):
 *   sock_hash  SOCKHASH, programs attached: a socket in here has its received
 *              bytes run through sluice_parser + sluice_verdict.
 *   targets    SOCKHASH, no programs: redirect targets only. Userspace inserts
 *              BOTH sockets of a pair here (and fills conns) before inserting
 *              either into sock_hash, so a verdict can never look up a peer
 *              that is not there yet (pitfall P2: that lookup would fail and the
 *              kernel docs' "return bpf_sk_redirect_hash()" pattern silently
 *              drops already-ACKed data).
 *   conns      HASH cookie -> {peer cookie, direction, byte/skb counters}.
 *   counters   PERCPU_ARRAY of global counters (enum sluice_counter).
 *
 * Only UAPI context fields (__sk_buff) are read, so no CO-RE relocations and no
 * kernel BTF are needed; `clang -g` provides the BTF for the map definitions.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "splice.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, SLUICE_DEFAULT_MAX_SOCKETS);
	__type(key, __u64);
	__type(value, __u64);
} sock_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, SLUICE_DEFAULT_MAX_SOCKETS);
	__type(key, __u64);
	__type(value, __u64);
} targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_DEFAULT_MAX_SOCKETS);
	__type(key, __u64);
	__type(value, struct sluice_conn);
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void count(__u32 index, __u64 amount)
{
	__u64 *value = bpf_map_lookup_elem(&counters, &index);

	if (value)
		*value += amount; /* per-CPU slot: no atomic needed */
}

/* One message per skb: splicing needs no framing, but the parser must exist
 * for the stream-verdict mode. */
SEC("sk_skb/stream_parser")
int sluice_parser(struct __sk_buff *skb)
{
	return skb->len;
}

SEC("sk_skb/stream_verdict")
int sluice_verdict(struct __sk_buff *skb)
{
	__u64 cookie, peer;
	struct sluice_conn *conn;
	__u32 len = skb->len;

	/* A FIN-only skb redirected to a peer that is already shut down for
	 * writing sets EPIPE on it (pitfall P4). Nothing to forward anyway. */
	if (len == 0) {
		count(SLUICE_COUNTER_ZERO_LEN, 1);
		return SK_DROP;
	}

	cookie = bpf_get_socket_cookie(skb);
	conn = bpf_map_lookup_elem(&conns, &cookie);
	if (!conn) {
		/* Never drop payload: SK_PASS keeps it readable on this socket
		 * and the counter makes the failure visible. */
		count(SLUICE_COUNTER_NO_PEER, 1);
		return SK_PASS;
	}

	peer = conn->peer;
	if (bpf_sk_redirect_hash(skb, &targets, &peer, 0) != SK_PASS) {
		__sync_fetch_and_add(&conn->redirect_fail, 1);
		count(SLUICE_COUNTER_REDIRECT_FAIL, 1);
		return SK_PASS;
	}

	__sync_fetch_and_add(&conn->bytes, len);
	__sync_fetch_and_add(&conn->skbs, 1);
	if (conn->direction == SLUICE_DIR_A_TO_B) {
		count(SLUICE_COUNTER_A2B_BYTES, len);
		count(SLUICE_COUNTER_A2B_SKBS, 1);
	} else {
		count(SLUICE_COUNTER_B2A_BYTES, len);
		count(SLUICE_COUNTER_B2A_SKBS, 1);
	}
	return SK_PASS;
}
