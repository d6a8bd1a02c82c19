#!/usr/bin/env bash
# Scale benchmark of the background controller (issue 5, item 8): 10,000 Pods in a local
# control plane of its own, the Pod Security baseline + restricted ClusterPolicies, and the
# time, peak RSS and CPU of palisade-controller until every Pod has its PolicyReport, with the
# reports' stored size. See docs/performance.md, "Background scan of 10,000 Pods".
#
#   scripts/scale-bench.sh [palisade-scale-bench flags...]   e.g. --pods 1000, --mode policy, --workers 2
#
# The cluster keeps its own directory and ports (PALISADE_SCALE_* to change them) and is
# stopped at the end unless PALISADE_KEEP_CLUSTER is set; a kept cluster keeps its Pods, so
# the next run skips creating them.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PALISADE_CLUSTER_DIR=${PALISADE_SCALE_DIR:-/tmp/palisade-scale-bench}
export PALISADE_APISERVER_PORT=${PALISADE_SCALE_APISERVER_PORT:-28643}
export PALISADE_ETCD_PORT=${PALISADE_SCALE_ETCD_PORT:-28679}
export PALISADE_ETCD_PEER_PORT=${PALISADE_SCALE_ETCD_PEER_PORT:-28680}
export PALISADE_KCM_PORT=${PALISADE_SCALE_KCM_PORT:-28657}
target=${CARGO_TARGET_DIR:-$root/target}
# /debug/pprof on the API server, for profiling what the report writes cost it.
export PALISADE_APISERVER_PROFILING=true

cd "$root"
cargo build --release -p palisade-controller -p palisade-scale
scripts/cluster.sh up
if [ -z "${PALISADE_KEEP_CLUSTER:-}" ]; then
    trap 'scripts/cluster.sh down >/dev/null' EXIT
fi
eval "$(scripts/cluster.sh env)"
kubectl apply -f deploy/crds/ >/dev/null
kubectl wait --for=condition=Established --timeout=60s crd --all >/dev/null

"$target/release/palisade-scale-bench" \
    --kubeconfig "$PALISADE_ADMIN_KUBECONFIG" --kubectl "$PALISADE_KUBECTL" \
    --controller "$target/release/palisade-controller" \
    --cluster-dir "$PALISADE_CLUSTER_DIR" \
    --policies policies/pod-security/baseline --policies policies/pod-security/restricted \
    "$@"
# What `kubectl get` prints for all reports (pretty JSON, managedFields hidden).
printf '%-32s %s bytes\n' "kubectl get policyreports -A -o json" \
    "$(kubectl get policyreports -A -o json --request-timeout=300s | wc -c)"
