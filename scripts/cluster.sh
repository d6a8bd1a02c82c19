#!/usr/bin/env bash
# Local Kubernetes control plane for Palisade's e2e tests and demo:
#   scripts/cluster.sh build   build etcd/kube-apiserver/kube-controller-manager/kubectl (cached)
#   scripts/cluster.sh up      start on 127.0.0.1 (builds first if needed); idempotent
#   scripts/cluster.sh down    stop every process and remove the state directory
#   scripts/cluster.sh status  show processes and /readyz (exit 1 unless fully up)
#   scripts/cluster.sh env     print export lines: eval "$(scripts/cluster.sh env)"
# Details: docs/local-cluster.md
set -euo pipefail
dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/cluster
case "${1:-}" in
build) exec "$dir/build.sh" ;;
up | down | status | env) exec "$dir/control.sh" "$1" ;;
*)
    sed -n '2,7s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
    exit 2
    ;;
esac
