#!/usr/bin/env bash
# Builds kube-apiserver (and kube-controller-manager, for garbage collection) and etcd from
# the Go module proxy, for the operator's integration tests. No Docker, no release downloads:
# k8s.io/kubernetes cannot be `go install`ed directly because its go.mod points its
# k8s.io/* staging modules at ./staging, so we build it from a wrapper module whose replace
# lines point those at the published k8s.io/* modules of the same minor version. etcd's
# server module has relative replace lines too; the kubernetes module already pins an etcd
# server version, so the same wrapper builds it with consistent dependencies.
#
# Output: $AUTOMQ_CACHE/k8s/$K8S_VERSION/bin/{kube-apiserver,kube-controller-manager,etcd}
# (cached: a second run with the binaries present does nothing). Prints the bin dir.
#
#   K8S_VERSION   default v1.35.4
#   AUTOMQ_CACHE  default ~/.cache/automq-ts
#   ENVTEST_COMPONENTS  default "kube-apiserver etcd kube-controller-manager"
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.35.4}"
CACHE="${AUTOMQ_CACHE:-$HOME/.cache/automq-ts}"
COMPONENTS="${ENVTEST_COMPONENTS:-kube-apiserver etcd kube-controller-manager}"
OUT="$CACHE/k8s/$K8S_VERSION"
BIN="$OUT/bin"
mkdir -p "$BIN"

missing=()
for c in $COMPONENTS; do [[ -x "$BIN/$c" ]] || missing+=("$c"); done
if [[ ${#missing[@]} -eq 0 ]]; then echo "$BIN"; exit 0; fi

command -v go >/dev/null || { echo "envtest-build: 'go' is not on PATH; install Go >= 1.25 (apt-get install golang-go is too old on bookworm; use the Go toolchain)" >&2; exit 1; }

export GOTOOLCHAIN="${GOTOOLCHAIN:-local}" GOFLAGS="${GOFLAGS:--buildvcs=false}" CGO_ENABLED=0
PROXY="${GOPROXY:-https://proxy.golang.org}"; PROXY="${PROXY%%,*}"

WRAP="$OUT/wrapper"
mkdir -p "$WRAP"
if [[ ! -f "$WRAP/go.mod.done" ]]; then
  kmod="$(curl -fsSL "$PROXY/k8s.io/kubernetes/@v/$K8S_VERSION.mod")"
  staging_version="v0.${K8S_VERSION#v1.}"
  {
    echo "module automq.local/envtest"
    echo
    echo "go $(awk '/^go /{print $2; exit}' <<<"$kmod")"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    # k8s.io/X => ./staging/src/k8s.io/X  becomes  k8s.io/X => k8s.io/X v0.<minor>.<patch>
    sed -nE 's#^[[:space:]]*(replace[[:space:]]+)?(k8s\.io/[^ ]+)[[:space:]]+=>[[:space:]]+\./staging/src/.*#replace \2 => \2 '"$staging_version"'#p' <<<"$kmod"
  } > "$WRAP/go.mod"
  cat > "$WRAP/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
GO
  (cd "$WRAP" && nice -n 19 go mod tidy -e >&2)
  touch "$WRAP/go.mod.done"
fi

cd "$WRAP"
for c in "${missing[@]}"; do
  case "$c" in
    etcd) pkg=go.etcd.io/etcd/server/v3 ;;
    kube-apiserver) pkg=k8s.io/kubernetes/cmd/kube-apiserver ;;
    kube-controller-manager) pkg=k8s.io/kubernetes/cmd/kube-controller-manager ;;
    *) echo "envtest-build: unknown component $c" >&2; exit 1 ;;
  esac
  echo "envtest-build: building $c ($pkg) for $K8S_VERSION; this takes several minutes on 2 cores" >&2
  ldflags="-s -w"
  if [[ "$c" != etcd ]]; then
    # Without these the binaries report v0.0.0-master, which clients and helm's kubeVersion checks reject.
    minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
    vpkg=k8s.io/component-base/version
    ldflags+=" -X $vpkg.gitVersion=$K8S_VERSION -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$minor -X $vpkg.gitTreeState=clean -X $vpkg.buildDate=1970-01-01T00:00:00Z"
  fi
  nice -n 19 go build -p 1 -trimpath -ldflags "$ldflags" -o "$BIN/$c.tmp" "$pkg" >&2
  mv "$BIN/$c.tmp" "$BIN/$c"
done
echo "$BIN"
