/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Shared between bpf/accel.bpf.c and the native addon. */
#ifndef SLUICE_ACCEL_H
#define SLUICE_ACCEL_H

#include <linux/types.h>

/* Key of accel_socks: the socket's own view of its connection.
 * Addresses in network order, ports in host order. */
struct sluice_accel_key {
	__u32 local_ip4;
	__u32 remote_ip4;
	__u32 local_port;
	__u32 remote_port;
};

enum sluice_accel_counter {
	SLUICE_ACCEL_INSERTED = 0,
	SLUICE_ACCEL_INSERT_FAIL,
	SLUICE_ACCEL_MSGS_REDIRECTED,
	SLUICE_ACCEL_BYTES_REDIRECTED,
	SLUICE_ACCEL_MSGS_WITHOUT_PEER,
	SLUICE_ACCEL_COUNTER_MAX,
};

#endif
