/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Shared between bpf/splice.bpf.c and the native addon (native/src): the
 * layout of the `conns` map value and the indexes of the `counters` map.
 * Plain fixed-width types only, so the BPF and host compilers agree.
 */
#ifndef SLUICE_SPLICE_H
#define SLUICE_SPLICE_H

#include <linux/types.h>

/* Sockets per map (two per spliced connection); the loader may change it. */
#define SLUICE_DEFAULT_MAX_SOCKETS 65536

enum sluice_direction {
	SLUICE_DIR_A_TO_B = 0, /* bytes received on socket A, sent on B */
	SLUICE_DIR_B_TO_A = 1,
};

/* Value of `conns`, keyed by the cookie of the socket that RECEIVES bytes. */
struct sluice_conn {
	__u64 peer;          /* cookie of the socket the bytes are sent on */
	__u64 bytes;         /* payload bytes redirected to the peer */
	__u64 skbs;          /* skbs redirected to the peer */
	__u64 redirect_fail; /* redirects that failed (bytes left on this socket) */
	__u32 direction;     /* enum sluice_direction */
	__u32 reserved;
};

enum sluice_counter {
	SLUICE_COUNTER_A2B_BYTES = 0,
	SLUICE_COUNTER_B2A_BYTES,
	SLUICE_COUNTER_A2B_SKBS,
	SLUICE_COUNTER_B2A_SKBS,
	SLUICE_COUNTER_REDIRECT_FAIL,
	SLUICE_COUNTER_NO_PEER,
	SLUICE_COUNTER_ZERO_LEN,
	SLUICE_COUNTER_MAX,
};

#endif
