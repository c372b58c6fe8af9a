#include "tcp_counters.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/sockios.h>
#include <linux/tcp.h>

/* Values of enum from include/net/tcp_states.h (not exported as UAPI). */
enum {
	K_TCP_TIME_WAIT = 6,
	K_TCP_CLOSE = 7,
	K_TCP_CLOSE_WAIT = 8,
	K_TCP_LAST_ACK = 9,
	K_TCP_CLOSING = 11,
};

static int read_info(int fd, struct tcp_info *info, const char **syscall)
{
	socklen_t len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, info, &len) != 0) {
		*syscall = "getsockopt";
		return -1;
	}
	if (len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(info->tcpi_bytes_received)) {
		errno = ENOTSUP; /* kernel older than 4.1 */
		*syscall = "getsockopt";
		return -1;
	}
	return 0;
}

static int read_outq(int fd, int *outq, const char **syscall)
{
	if (ioctl(fd, SIOCOUTQ, outq) != 0) {
		*syscall = "ioctl";
		return -1;
	}
	return 0;
}

int sluice_tcp_counters_read(int fd, int handed_upper_bound,
			     struct sluice_tcp_counters *out,
			     const char **syscall)
{
	struct tcp_info info;
	int outq = 0;

	if (handed_upper_bound) {
		if (read_outq(fd, &outq, syscall) || read_info(fd, &info, syscall))
			return -1;
	} else {
		if (read_info(fd, &info, syscall) || read_outq(fd, &outq, syscall))
			return -1;
	}
	out->handed = info.tcpi_bytes_acked + (uint64_t)(outq > 0 ? outq : 0);
	out->received = info.tcpi_bytes_received;
	out->state = info.tcpi_state;
	out->fin_received = info.tcpi_state == K_TCP_CLOSE_WAIT || info.tcpi_state == K_TCP_LAST_ACK ||
			    info.tcpi_state == K_TCP_CLOSING || info.tcpi_state == K_TCP_TIME_WAIT ||
			    info.tcpi_state == K_TCP_CLOSE;
	return 0;
}
