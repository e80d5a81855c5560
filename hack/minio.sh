#!/usr/bin/env bash
# MinIO for tests and benchmarks: the S3 server users run, and one that enforces conditional
# writes (If-None-Match / If-Match), which the npm S3 fakes ignore.
#
#   hack/minio.sh install            build the pinned MinIO into the cache if missing; print its path
#   hack/minio.sh start [STATE_DIR]  start it on a free 127.0.0.1 port with a temp data dir, create
#                                    the bucket, probe conditional writes, print env lines:
#                                      MINIO_ENDPOINT=http://127.0.0.1:PORT
#                                      MINIO_BUCKET=... AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...
#                                      MINIO_PID=... MINIO_STATE_DIR=...
#                                    (use: eval "$(hack/minio.sh start)")
#   hack/minio.sh stop [STATE_DIR]   stop the process that `start` started (by its PID) and delete
#                                    its data dir
#
# STATE_DIR (default $MINIO_STATE_DIR or /tmp/automq-ts-minio-$UID) holds pid, endpoint, log and
# data; give each concurrent instance its own. Env: MINIO_BUCKET (default automq-test).
#
# The binary is built from the Go module proxy with `go install` (nice -n 19: shared 2-core
# machines) into ~/.cache/automq-ts/minio-<version>/, keyed by the pinned version below.
set -euo pipefail

# The newest module version on the proxy at the time of pinning (go.mod: go 1.24; builds with
# Go 1.24 to 1.26). MinIO tags releases as RELEASE.*, so the proxy only knows pseudo-versions.
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/automq-ts/minio-$MINIO_VERSION"
MINIO_BIN="$CACHE_DIR/minio"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
USER_NAME="automq-test"
PASSWORD="automq-test-secret"
BUCKET="${MINIO_BUCKET:-automq-test}"

die() {
  echo "hack/minio.sh: $*" >&2
  exit 1
}

install_minio() {
  if [[ -x "$MINIO_BIN" ]]; then
    echo "$MINIO_BIN"
    return
  fi
  command -v go >/dev/null 2>&1 || die "MinIO is not built and Go is missing: install Go >= 1.24 (apt-get install golang-go or go.dev/dl), then rerun"
  mkdir -p "$CACHE_DIR"
  local log="$CACHE_DIR/build.log"
  echo "hack/minio.sh: building MinIO $MINIO_VERSION with $(go version | awk '{print $3}') (several minutes; log: $log)" >&2
  # Into a temp GOBIN first: an interrupted build must not leave a half-written binary in the cache.
  local tmp
  tmp="$(mktemp -d "$CACHE_DIR/.build.XXXXXX")"
  if ! GOBIN="$tmp" CGO_ENABLED=0 GOFLAGS=-mod=mod nice -n 19 go install -trimpath -ldflags '-s -w' \
    "github.com/minio/minio@$MINIO_VERSION" >"$log" 2>&1; then
    tail -20 "$log" >&2
    rm -rf "$tmp"
    die "go install github.com/minio/minio@$MINIO_VERSION failed (see $log); is the Go module proxy reachable (GOPROXY=$(go env GOPROXY))?"
  fi
  mv "$tmp/minio" "$MINIO_BIN"
  rm -rf "$tmp"
  echo "$MINIO_BIN"
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

state_dir() {
  echo "${1:-${MINIO_STATE_DIR:-${TMPDIR:-/tmp}/automq-ts-minio-$(id -u)}}"
}

is_our_minio() {
  local pid="$1"
  [[ -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "minio server"
}

start_minio() {
  local dir
  dir="$(state_dir "${1:-}")"
  mkdir -p "$dir"
  if [[ -f "$dir/pid" ]] && is_our_minio "$(cat "$dir/pid")"; then
    die "MinIO already runs from $dir (PID $(cat "$dir/pid")); stop it first: hack/minio.sh stop $dir"
  fi
  install_minio >/dev/null
  local data="$dir/data"
  rm -rf "$data"
  mkdir -p "$data"
  local port="" pid="" attempt
  for attempt in 1 2 3; do
    port="$(free_port)"
    local cport
    cport="$(free_port)"
    MINIO_ROOT_USER="$USER_NAME" MINIO_ROOT_PASSWORD="$PASSWORD" MINIO_BROWSER=off \
      MINIO_UPDATE=off MINIO_CI_CD=1 \
      "$MINIO_BIN" server --quiet --address "127.0.0.1:$port" --console-address "127.0.0.1:$cport" "$data" \
      >"$dir/minio.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$dir/pid"
    # Bounded wait for the liveness endpoint (~30 s).
    local i
    for i in $(seq 1 300); do
      if ! kill -0 "$pid" 2>/dev/null; then break; fi
      if curl -fsS -o /dev/null "http://127.0.0.1:$port/minio/health/live" 2>/dev/null; then
        break 2
      fi
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      die "MinIO (PID $pid) did not answer http://127.0.0.1:$port/minio/health/live within 30 s; log: $dir/minio.log"
    fi
    # Exited early: most likely the port was taken between free_port and bind. Retry.
    echo "hack/minio.sh: MinIO exited at start (attempt $attempt): $(tail -3 "$dir/minio.log" | tr '\n' ' ')" >&2
    pid=""
  done
  [[ -n "$pid" ]] || die "MinIO failed to start 3 times; log: $dir/minio.log"
  local endpoint="http://127.0.0.1:$port"
  echo "$endpoint" >"$dir/endpoint"
  # Bucket + conditional-write probe (fails loudly if If-None-Match is ignored).
  if ! (cd "$ROOT" && AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true AWS_ACCESS_KEY_ID="$USER_NAME" AWS_SECRET_ACCESS_KEY="$PASSWORD" \
    node hack/minio-setup.mjs "$endpoint" "$BUCKET" >&2); then
    kill "$pid" 2>/dev/null || true
    die "MinIO setup failed (bucket or conditional-write probe); MinIO stopped"
  fi
  cat <<EOF
MINIO_ENDPOINT=$endpoint
MINIO_BUCKET=$BUCKET
AWS_ACCESS_KEY_ID=$USER_NAME
AWS_SECRET_ACCESS_KEY=$PASSWORD
AWS_REGION=us-east-1
MINIO_PID=$pid
MINIO_STATE_DIR=$dir
EOF
}

stop_minio() {
  local dir
  dir="$(state_dir "${1:-}")"
  if [[ ! -f "$dir/pid" ]]; then
    echo "hack/minio.sh: no MinIO state in $dir (nothing to stop)" >&2
    return 0
  fi
  local pid
  pid="$(cat "$dir/pid")"
  if is_our_minio "$pid"; then
    kill "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "hack/minio.sh: MinIO (PID $pid) ignored SIGTERM for 10 s; sending SIGKILL" >&2
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  rm -rf "$dir/data" "$dir/pid" "$dir/endpoint"
}

case "${1:-}" in
  install) install_minio ;;
  start) start_minio "${2:-}" ;;
  stop) stop_minio "${2:-}" ;;
  *) die "usage: hack/minio.sh install | start [STATE_DIR] | stop [STATE_DIR]" ;;
esac
