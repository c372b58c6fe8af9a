#!/usr/bin/env bash
# Data-plane benchmark: nginx upstream (CPU1), then nginx proxy and Sluice proxy (CPU0),
# each driven by wrk on CPU1 with 50 keep-alive connections. Prints req/s and the ratio.
# Usage: benchmarks/dataplane/run.sh [seconds] [rounds]
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
taskset -c 0 nginx -c "$PWD/benchmarks/dataplane/nginx-proxy.conf" & PIDS+=($!)
taskset -c 0 $NODE benchmarks/dataplane/sluice-proxy.ts --listen 127.0.0.1:8090 --upstream 127.0.0.1:9000 ${SLUICE_ACCESS_LOG:+--access-log} > /dev/null & PIDS+=($!)
taskset -c 0 $NODE benchmarks/dataplane/baseline-dispatch.ts --listen 127.0.0.1:8091 --upstream 127.0.0.1:9000 & PIDS+=($!)
sleep 1.5
HDR=(-H "Host: svc-999.example.com" -H "x-canary: true")
bench() { taskset -c 1 wrk -t1 -c50 -d"$1"s --latency "${HDR[@]}" "$2" ; }
for r in $(seq "$ROUNDS"); do
  for target in nginx:http://127.0.0.1:8081/api/users sluice:http://127.0.0.1:8090/api/users baseline:http://127.0.0.1:8091/api/users; do
    name=${target%%:*}; url=${target#*:}
    bench 3 "$url" >/dev/null
    out=$(bench "$DUR" "$url")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1=="50%" {print $2}' <<<"$out"); p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    echo "round $r $name req/s=$rps p50=$p50 p99=$p99"
    eval "rps_$name=$rps"
  done
  awk -v s="$rps_sluice" -v n="$rps_nginx" -v b="$rps_baseline" 'BEGIN { printf "round %d ratios: sluice/nginx = %.2f  baseline-dispatch/nginx = %.2f  sluice/baseline = %.2f\n", '"$r"', s/n, b/n, s/b }'
done
