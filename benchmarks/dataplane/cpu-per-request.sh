#!/usr/bin/env bash
# CPU microseconds per proxied request (utime+stime of the proxy process / requests),
# which is far less sensitive to a busy machine than req/s.
# Usage: cpu-per-request.sh NAME=PID=URL ... (wrk -c50, 5 s each, 3 interleaved rounds)
set -euo pipefail
HZ=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for round in 1 2 3; do
  for spec in "$@"; do
    name=${spec%%=*}; rest=${spec#*=}; pid=${rest%%=*}; url=${rest#*=}
    taskset -c 1 wrk -t1 -c50 -d1s -H "Host: svc-999.example.com" -H "x-canary: true" "$url" >/dev/null
    t0=$(ticks "$pid")
    out=$(taskset -c 1 wrk -t1 -c50 -d5s -H "Host: svc-999.example.com" -H "x-canary: true" "$url")
    t1=$(ticks "$pid")
    reqs=$(awk '/requests in/ {print $1}' <<<"$out")
    awk -v n="$name" -v r="$round" -v t="$((t1 - t0))" -v q="$reqs" -v hz="$HZ" 'BEGIN { printf "round %d %-10s %8d req %8.1f us CPU/req\n", r, n, q, (t / hz) * 1e6 / q }'
  done
done
