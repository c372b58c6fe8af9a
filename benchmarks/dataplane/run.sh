#!/usr/bin/env bash
# Data-plane benchmark: nginx upstream (CPU1); nginx proxy, Sluice (undici and native upstream
# clients) and a bare undici-dispatch proxy (CPU0),
# each driven by wrk on CPU1 with 50 keep-alive connections. Prints req/s and the ratio.
# Usage: benchmarks/dataplane/run.sh [seconds] [rounds]    (MODE=cpu: CPU microseconds per request instead)
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${1:-10}
ROUNDS=${2:-1}
NODE=node_modules/.bin/node
command -v wrk >/dev/null && command -v nginx >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk nginx-light >/dev/null; }
[ -f dist/dataplane/index.js ] || npx tsc -p tsconfig.json >/dev/null || true
mkdir -p /tmp/sluice-bench
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
taskset -c 1 nginx -c "$PWD/benchmarks/dataplane/nginx-upstream.conf" & PIDS+=($!)
taskset -c 0 nginx -c "$PWD/benchmarks/dataplane/nginx-proxy.conf" & NGINX_MASTER=$!; PIDS+=($NGINX_MASTER)
taskset -c 0 $NODE benchmarks/dataplane/sluice-proxy.ts --listen 127.0.0.1:8090 --upstream 127.0.0.1:9000 ${SLUICE_ACCESS_LOG:+--access-log} > /dev/null & SLUICE_PID=$!; PIDS+=($!)
taskset -c 0 $NODE benchmarks/dataplane/sluice-proxy.ts --listen 127.0.0.1:8093 --upstream 127.0.0.1:9000 --client native ${SLUICE_ACCESS_LOG:+--access-log} > /dev/null & NATIVE_PID=$!; PIDS+=($!)
taskset -c 0 $NODE benchmarks/dataplane/baseline-dispatch.ts --listen 127.0.0.1:8091 --upstream 127.0.0.1:9000 & BASE_PID=$!; PIDS+=($!)
for port in 8090 8091 8093; do for i in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:$port/ && break; sleep 0.1; done; done
HDR=(-H "Host: svc-999.example.com" -H "x-canary: true")
if [ "${MODE:-rps}" = cpu ]; then
  # CPU time per request instead of req/s: steadier when other work shares the machine.
  NGINX_WORKER=$(pgrep -P "$NGINX_MASTER" | head -1)
  benchmarks/dataplane/cpu-per-request.sh "nginx=$NGINX_WORKER=http://127.0.0.1:8081/api/users" \
    "sluice=$SLUICE_PID=http://127.0.0.1:8090/api/users" "native=$NATIVE_PID=http://127.0.0.1:8093/api/users" \
    "baseline=$BASE_PID=http://127.0.0.1:8091/api/users"
  exit 0
fi
bench() { taskset -c 1 wrk -t1 -c50 -d"$1"s --latency "${HDR[@]}" "$2" ; }
for r in $(seq "$ROUNDS"); do
  for target in nginx:http://127.0.0.1:8081/api/users sluice:http://127.0.0.1:8090/api/users native:http://127.0.0.1:8093/api/users baseline:http://127.0.0.1:8091/api/users; do
    name=${target%%:*}; url=${target#*:}
    bench 3 "$url" >/dev/null
    out=$(bench "$DUR" "$url")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1=="50%" {print $2}' <<<"$out"); p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    echo "round $r $name req/s=$rps p50=$p50 p99=$p99"
    eval "rps_$name=$rps"
  done
  awk -v s="$rps_sluice" -v n="$rps_nginx" -v b="$rps_baseline" -v x="$rps_native" 'BEGIN { printf "round %d ratios to nginx: sluice(undici) %.2f  sluice(native) %.2f  bare undici dispatch %.2f\n", '"$r"', s/n, x/n, b/n }'
done
