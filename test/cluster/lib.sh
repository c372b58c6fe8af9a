# Shared settings for test/cluster/{build,up,down,restart}. Sourced, not executed.

CLUSTER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GO_MOD_DIR="$CLUSTER_DIR/go"

# Kubernetes version from go.mod, e.g. v1.37.2.
k8s_version() {
  module_version k8s.io/kubernetes
}

# Version of any module in the build list as pinned by go.mod, e.g. helm.sh/helm/v3 -> v3.22.0.
module_version() {
  awk -v m="$1" '$1 == m && $2 ~ /^v/ { print $2; exit }' "$GO_MOD_DIR/go.mod"
}

# Linker flags. -s -w drop symbol tables and DWARF (smaller binaries, faster links). The -X
# flags stamp versions the way the upstream Makefiles do; unstamped, kube-apiserver reports
# /version as v0.0.0-master and helm assumes Kubernetes v1.20 for `helm template`, which
# breaks charts with a kubeVersion constraint.
ldflags() {
  local kv hv major minor
  kv=$(k8s_version)
  hv=$(module_version helm.sh/helm/v3)
  major=${kv#v}
  major=${major%%.*}
  minor=${kv#v*.}
  minor=${minor%%.*}
  local p f=(-s -w)
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    f+=(-X "$p.gitVersion=$kv" -X "$p.gitMajor=$major" -X "$p.gitMinor=$minor" -X "$p.gitTreeState=clean")
  done
  f+=(-X "helm.sh/helm/v3/internal/version.version=$hv")
  for p in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    f+=(-X "$p.k8sVersionMajor=$major" -X "$p.k8sVersionMinor=$minor")
  done
  echo "${f[*]}"
}

# The cache key changes whenever go.mod, go.sum or the linker flags change, so a stale binary
# is never reused: ~/.cache/sluice/cluster/v1.37.2-<12 hex of sha256(go.mod go.sum ldflags)>.
cluster_version() {
  local sum
  sum=$({ cat "$GO_MOD_DIR/go.mod" "$GO_MOD_DIR/go.sum"; ldflags; } | sha256sum | cut -c1-12)
  printf '%s-%s\n' "$(k8s_version)" "$sum"
}

cache_root() {
  printf '%s\n' "${SLUICE_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice/cluster}"
}

bin_dir() {
  printf '%s/%s\n' "$(cache_root)" "$(cluster_version)"
}

BINARIES=(etcd kube-apiserver kube-controller-manager helm)

binaries_present() {
  local dir b
  dir=$(bin_dir)
  for b in "${BINARIES[@]}"; do
    [ -x "$dir/$b" ] || return 1
  done
}

die() {
  echo "test/cluster: $*" >&2
  exit 1
}

say() {
  echo "test/cluster: $*" >&2
}

# Every cluster directory carries this file; down/restart refuse to touch a directory
# without it, so a wrong KUBECONFIG can never make them kill or delete anything else.
MARKER=.sluice-test-cluster

# Resolve the cluster directory from a kubeconfig path (argument or $KUBECONFIG).
cluster_dir_from_kubeconfig() {
  local kc=${1:-${KUBECONFIG:-}}
  [ -n "$kc" ] || die "usage: $(basename "$0") KUBECONFIG (or set KUBECONFIG)"
  local dir
  dir=$(cd "$(dirname "$kc")" 2>/dev/null && pwd) || die "no such directory: $(dirname "$kc")"
  [ -f "$dir/$MARKER" ] || die "$dir is not a test cluster directory (no $MARKER)"
  printf '%s\n' "$dir"
}

# True when $1 is a live process whose executable is one of our cluster binaries. Guards
# against PID reuse: a stale pid file must never lead to signalling someone else's process.
is_our_process() {
  local pid=$1 bindir=$2 exe
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  case "$exe" in "$bindir"/*) return 0 ;; *) return 1 ;; esac
}

# Stop the component whose pid file is $dir/$name.pid: SIGTERM, then SIGKILL after 10 s.
stop_component() {
  local dir=$1 name=$2 bindir=$3 pid i
  [ -f "$dir/$name.pid" ] || return 0
  pid=$(cat "$dir/$name.pid")
  if is_our_process "$pid" "$bindir"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      is_our_process "$pid" "$bindir" || break
      sleep 0.1
    done
    if is_our_process "$pid" "$bindir"; then
      kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do
        is_our_process "$pid" "$bindir" || break
        sleep 0.1
      done
    fi
  fi
  rm -f "$dir/$name.pid"
}

# Start a component detached from our session (it outlives this script and the caller's
# process group), logging to $dir/<name>.log. Its argv is saved NUL-separated in
# $dir/<name>.cmd so test/cluster/restart can start it again identically.
start_component() {
  local dir=$1 name=$2
  shift 2
  printf '%s\0' "$@" >"$dir/$name.cmd"
  # In a non-interactive script a background job is not a process-group leader, so setsid
  # execs in place and $! is the component's own PID.
  setsid "$@" >>"$dir/$name.log" 2>&1 </dev/null &
  echo $! >"$dir/$name.pid"
}

restart_from_cmd() {
  local dir=$1 name=$2 args=()
  mapfile -d '' args <"$dir/$name.cmd"
  start_component "$dir" "$name" "${args[@]}"
}

# curl against the apiserver as the admin user (the caller has sourced $dir/env).
kube_curl() {
  local dir=$1
  shift
  # A non-curl user agent: the apiserver pretty-prints JSON for curl, and callers grep the
  # compact form.
  curl -sS --max-time 10 -A sluice-test-cluster --cacert "$dir/pki/ca.crt" --cert "$dir/pki/admin.crt" \
    --key "$dir/pki/admin.key" "$@"
}

# Poll until `$@` succeeds; fail after $1 tenths of a second. Checks that the component
# named $2 is still alive so a crash is reported at once with its log.
wait_for() {
  local tenths=$1 dir=$2 name=$3 bindir=$4 what=$5
  shift 5
  local i
  for ((i = 0; i < tenths; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if [ -n "$name" ] && ! is_our_process "$(cat "$dir/$name.pid" 2>/dev/null)" "$bindir"; then
      say "$name exited while waiting for $what; last log lines:"
      tail -n 40 "$dir/$name.log" >&2
      return 1
    fi
    sleep 0.1
  done
  say "timed out waiting for $what"
  [ -n "$name" ] && tail -n 40 "$dir/$name.log" >&2
  return 1
}

apiserver_ready() {
  local dir=$1
  [ "$(kube_curl "$dir" "$APISERVER_URL/readyz")" = ok ]
}
