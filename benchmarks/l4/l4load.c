/*
 * l4load: the load generator and backend of the L4 benchmark (benchmarks/l4.ts).
 * C so that the load side is never what limits a proxy (the "direct" target shows its
 * ceiling). Loopback only: every address is 127.0.0.1.
 *
 *   l4load serve SINK_PORT ECHO_PORT     backend: prints "ready" once both ports listen, runs until killed
 *       sink: reads until EOF, checks every byte against the pattern, then answers 16 bytes
 *             (u64 bytes received, i64 offset of the first wrong byte or -1) and closes
 *       echo: writes back what it reads; on EOF sends FIN and closes
 *   l4load oneway PORT BYTES             BYTES to the sink, FIN, wait for its answer
 *   l4load echo PORT BYTES               BYTES to the echo while reading them back (both directions at once)
 *   l4load rate PORT COUNT SIZE THREADS  COUNT short connections to the echo: connect, send SIZE bytes,
 *                                        read them back, close; THREADS connections at a time
 *
 * Client modes print one JSON line: {"ok":..,"bytes":..,"seconds":..,"error":".."} (rate adds
 * count, failed, p50Ms, p99Ms). Data is a repeating 251-byte pattern, checked byte for byte,
 * so loss, duplication and reordering all show.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (256 * 1024)
#define PERIOD 251
#define IO_TIMEOUT_S 60

static unsigned char pattern[CHUNK + PERIOD];

static void init_pattern(void) {
  for (size_t i = 0; i < sizeof pattern; i++) pattern[i] = (unsigned char)(i % PERIOD);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void set_timeouts(int fd) {
  struct timeval tv = {.tv_sec = IO_TIMEOUT_S, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static int write_all(int fd, const unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Sends `total` pattern bytes starting at stream offset 0. */
static int send_pattern(int fd, uint64_t total) {
  uint64_t sent = 0;
  while (sent < total) {
    size_t n = total - sent < CHUNK ? (size_t)(total - sent) : CHUNK;
    if (write_all(fd, pattern + (sent % PERIOD), n) < 0) return -1;
    sent += n;
  }
  return 0;
}

/* Checks buf (stream offset `at`) against the pattern; returns the offset of the first bad byte or -1. */
static int64_t check_pattern(const unsigned char *buf, size_t n, uint64_t at) {
  if (memcmp(buf, pattern + (at % PERIOD), n) == 0) return -1;
  for (size_t i = 0; i < n; i++)
    if (buf[i] != (unsigned char)((at + i) % PERIOD)) return (int64_t)(at + i);
  return (int64_t)at;
}

static int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  set_timeouts(fd);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

static int listen_on(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 4096) < 0) {
    fprintf(stderr, "l4load: cannot listen on 127.0.0.1:%d: %s\n", port, strerror(errno));
    exit(2);
  }
  return fd;
}

/* ---------------------------------------------------------------- backend */

static void *sink_conn(void *arg) {
  int fd = (int)(intptr_t)arg;
  unsigned char *buf = malloc(CHUNK);
  uint64_t got = 0;
  int64_t bad = -1;
  for (;;) {
    ssize_t n = recv(fd, buf, CHUNK, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (bad < 0) bad = check_pattern(buf, (size_t)n, got);
    got += (uint64_t)n;
  }
  int64_t answer[2] = {(int64_t)got, bad};
  write_all(fd, (unsigned char *)answer, sizeof answer);
  close(fd);
  free(buf);
  return NULL;
}

static void *echo_conn(void *arg) {
  int fd = (int)(intptr_t)arg;
  unsigned char *buf = malloc(CHUNK);
  for (;;) {
    ssize_t n = recv(fd, buf, CHUNK, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (write_all(fd, buf, (size_t)n) < 0) break;
  }
  shutdown(fd, SHUT_WR);
  close(fd);
  free(buf);
  return NULL;
}

struct acceptor {
  int fd;
  void *(*handler)(void *);
};

static void *accept_loop(void *arg) {
  struct acceptor *a = arg;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  for (;;) {
    int c = accept(a->fd, NULL, NULL);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE) continue;
      perror("accept");
      exit(3);
    }
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    set_timeouts(c);
    pthread_t t;
    if (pthread_create(&t, &attr, a->handler, (void *)(intptr_t)c) != 0) close(c);
  }
  return NULL;
}

static int serve(int sink_port, int echo_port) {
  static struct acceptor sink, echo;
  sink.fd = listen_on(sink_port);
  sink.handler = sink_conn;
  echo.fd = listen_on(echo_port);
  echo.handler = echo_conn;
  pthread_t t;
  pthread_create(&t, NULL, accept_loop, &sink);
  printf("ready\n");
  fflush(stdout);
  accept_loop(&echo);
  return 0;
}

/* ---------------------------------------------------------------- clients */

static void print_result(int ok, uint64_t bytes, double seconds, const char *error) {
  printf("{\"ok\":%s,\"bytes\":%llu,\"seconds\":%.6f,\"error\":\"%s\"}\n", ok ? "true" : "false",
         (unsigned long long)bytes, seconds, error);
}

static int oneway(int port, uint64_t total) {
  double t0 = now_s();
  int fd = connect_to(port);
  if (fd < 0) {
    print_result(0, 0, 0, strerror(errno));
    return 1;
  }
  if (send_pattern(fd, total) < 0) {
    print_result(0, 0, now_s() - t0, strerror(errno));
    return 1;
  }
  shutdown(fd, SHUT_WR);
  int64_t answer[2];
  size_t have = 0;
  while (have < sizeof answer) {
    ssize_t n = recv(fd, (char *)answer + have, sizeof answer - have, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      print_result(0, 0, now_s() - t0, n == 0 ? "sink closed without an answer" : strerror(errno));
      return 1;
    }
    have += (size_t)n;
  }
  double dt = now_s() - t0;
  close(fd);
  char err[160] = "";
  if ((uint64_t)answer[0] != total) snprintf(err, sizeof err, "sink received %lld bytes, sent %llu", (long long)answer[0], (unsigned long long)total);
  else if (answer[1] >= 0) snprintf(err, sizeof err, "wrong byte at offset %lld", (long long)answer[1]);
  print_result(err[0] == 0, (uint64_t)answer[0], dt, err);
  return err[0] == 0 ? 0 : 1;
}

struct writer_arg {
  int fd;
  uint64_t total;
  int failed;
};

static void *echo_writer(void *p) {
  struct writer_arg *w = p;
  w->failed = send_pattern(w->fd, w->total) < 0;
  shutdown(w->fd, SHUT_WR);
  return NULL;
}

static int echo_client(int port, uint64_t total) {
  double t0 = now_s();
  int fd = connect_to(port);
  if (fd < 0) {
    print_result(0, 0, 0, strerror(errno));
    return 1;
  }
  struct writer_arg w = {.fd = fd, .total = total, .failed = 0};
  pthread_t t;
  pthread_create(&t, NULL, echo_writer, &w);
  unsigned char *buf = malloc(CHUNK);
  uint64_t got = 0;
  int64_t bad = -1;
  const char *rerr = NULL;
  for (;;) {
    ssize_t n = recv(fd, buf, CHUNK, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) rerr = strerror(errno);
    if (n <= 0) break;
    if (bad < 0) bad = check_pattern(buf, (size_t)n, got);
    got += (uint64_t)n;
  }
  double dt = now_s() - t0;
  pthread_join(t, NULL);
  close(fd);
  free(buf);
  char err[160] = "";
  if (w.failed) snprintf(err, sizeof err, "sending failed");
  else if (rerr) snprintf(err, sizeof err, "%s", rerr);
  else if (got != total) snprintf(err, sizeof err, "echoed %llu bytes, sent %llu", (unsigned long long)got, (unsigned long long)total);
  else if (bad >= 0) snprintf(err, sizeof err, "wrong byte at offset %lld", (long long)bad);
  print_result(err[0] == 0, got, dt, err);
  return err[0] == 0 ? 0 : 1;
}

struct rate_arg {
  int port;
  int count;
  int size;
  int failed;
  double *durations;
  char error[96];
};

static void *rate_worker(void *p) {
  struct rate_arg *r = p;
  unsigned char buf[4096];
  for (int i = 0; i < r->count; i++) {
    double t0 = now_s();
    int fd = connect_to(r->port);
    int ok = fd >= 0 && write_all(fd, pattern, (size_t)r->size) == 0;
    int got = 0;
    while (ok && got < r->size) {
      ssize_t n = recv(fd, buf + got, (size_t)(r->size - got), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) ok = 0;
      else got += (int)n;
    }
    if (ok && memcmp(buf, pattern, (size_t)r->size) != 0) ok = 0;
    if (!ok) {
      if (r->error[0] == 0) snprintf(r->error, sizeof r->error, "%s", errno ? strerror(errno) : "short or wrong echo");
      r->failed++;
    }
    if (fd >= 0) close(fd);
    r->durations[i] = now_s() - t0;
  }
  return NULL;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int rate(int port, int count, int size, int threads) {
  if (size < 1 || size > 4096 || threads < 1 || count < threads) {
    fprintf(stderr, "l4load rate: need 1 <= SIZE <= 4096 and COUNT >= THREADS >= 1\n");
    return 2;
  }
  struct rate_arg *args = calloc((size_t)threads, sizeof *args);
  double *durations = calloc((size_t)count, sizeof *durations);
  pthread_t *ts = calloc((size_t)threads, sizeof *ts);
  int offset = 0;
  double t0 = now_s();
  for (int i = 0; i < threads; i++) {
    args[i].port = port;
    args[i].size = size;
    args[i].count = count / threads + (i < count % threads);
    args[i].durations = durations + offset;
    offset += args[i].count;
    pthread_create(&ts[i], NULL, rate_worker, &args[i]);
  }
  int failed = 0;
  const char *error = "";
  for (int i = 0; i < threads; i++) {
    pthread_join(ts[i], NULL);
    failed += args[i].failed;
    if (error[0] == 0 && args[i].error[0] != 0) error = args[i].error;
  }
  double dt = now_s() - t0;
  qsort(durations, (size_t)count, sizeof *durations, cmp_double);
  double p50 = durations[count / 2] * 1e3;
  double p99 = durations[(size_t)((double)(count - 1) * 0.99)] * 1e3;
  printf("{\"ok\":%s,\"bytes\":%llu,\"seconds\":%.6f,\"count\":%d,\"failed\":%d,\"p50Ms\":%.3f,\"p99Ms\":%.3f,\"error\":\"%s\"}\n",
         failed == 0 ? "true" : "false", (unsigned long long)(count - failed) * (unsigned long long)size * 2ULL, dt, count,
         failed, p50, p99, error);
  return failed == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);
  init_pattern();
  if (argc == 4 && strcmp(argv[1], "serve") == 0) return serve(atoi(argv[2]), atoi(argv[3]));
  if (argc == 4 && strcmp(argv[1], "oneway") == 0) return oneway(atoi(argv[2]), strtoull(argv[3], NULL, 10));
  if (argc == 4 && strcmp(argv[1], "echo") == 0) return echo_client(atoi(argv[2]), strtoull(argv[3], NULL, 10));
  if (argc == 6 && strcmp(argv[1], "rate") == 0) return rate(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
  fprintf(stderr,
          "usage: l4load serve SINK_PORT ECHO_PORT | oneway PORT BYTES | echo PORT BYTES | rate PORT COUNT SIZE THREADS\n");
  return 2;
}
