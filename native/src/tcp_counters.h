/*
 * Kernel TCP byte counters for the half-close drain check (pitfall P5).
 *
 * Kept in C and out of addon.cc on purpose: uv.h pulls in glibc's
 * <netinet/tcp.h>, whose struct tcp_info lacks tcpi_bytes_acked and
 * tcpi_bytes_received, and it cannot be included together with the kernel's
 * <linux/tcp.h>, which has them.
 */
#ifndef SLUICE_TCP_COUNTERS_H
#define SLUICE_TCP_COUNTERS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sluice_tcp_counters {
	/* Bytes the application handed to this socket for sending:
	 * tcpi_bytes_acked + unacknowledged bytes in the write queue (SIOCOUTQ).
	 * Counts from the start of the connection plus a constant (the SYN may
	 * count), so only differences are meaningful. */
	uint64_t handed;
	/* tcpi_bytes_received: in-order payload bytes received, +1 after a FIN. */
	uint64_t received;
	/* tcpi_state (TCP_ESTABLISHED = 1, TCP_CLOSE_WAIT = 8, ...). */
	uint8_t state;
	/* 1 when the state says a FIN was received. */
	uint8_t fin_received;
};

/*
 * Reads the counters of a TCP socket. `handed_upper_bound` chooses the order of
 * the two syscalls: when nonzero the queue is read before TCP_INFO, so an ACK
 * arriving in between is counted twice (an over-estimate); when zero TCP_INFO
 * is read first (an under-estimate). Returns 0 or -1 with errno set and
 * *syscall naming the failed call.
 */
int sluice_tcp_counters_read(int fd, int handed_upper_bound,
			     struct sluice_tcp_counters *out,
			     const char **syscall);

#ifdef __cplusplus
}
#endif

#endif
