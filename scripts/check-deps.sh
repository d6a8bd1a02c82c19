#!/usr/bin/env bash
# The evaluation core and the offline CLI stay synchronous: none of these crates may have an
# async runtime, an HTTP stack or a Kubernetes client in its normal dependency tree (that keeps
# them quick to build and usable from any caller). See docs/architecture.md.
set -euo pipefail
cd "$(dirname "$0")/.."
pure=(palisade-yaml palisade-primitives palisade-jmespath palisade-api palisade-patch palisade-pss
  palisade-cel palisade-celpolicy palisade-engine palisade-admission palisade-reports palisade-cli)
banned='^(tokio|hyper|axum|axum-server|tower|reqwest|kube|kube-client|kube-runtime|k8s-openapi|futures) '
status=0
for crate in "${pure[@]}"; do
  tree=$(cargo tree --locked -e normal -p "$crate" --prefix none)
  found=$(grep -E "$banned" <<<"$tree" | sort -u || true)
  if [ -n "$found" ]; then
    echo "$crate must stay synchronous, but depends on:" >&2
    echo "$found" | sed 's/^/  /' >&2
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "dependency boundaries: ok (${#pure[@]} synchronous crates)"
exit "$status"
