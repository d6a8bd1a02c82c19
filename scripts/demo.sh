#!/usr/bin/env bash
# Palisade in a real (local) cluster, in one command:
#   scripts/demo.sh        build palisade-serve, bring up the local control plane
#                          (scripts/cluster.sh), start Palisade in cluster mode with the
#                          bundled Pod Security baseline policies in Enforce, replay the
#                          multi-tenant attack as the tenant user and show it denied;
#                          the cluster and Palisade keep running afterwards.
#   scripts/demo.sh down   stop Palisade and the control plane, remove their state.
# Exit status: 0 when the attack was denied and the hardened Pod admitted.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cluster=$repo/scripts/cluster.sh
export PALISADE_CLUSTER_DIR=${PALISADE_CLUSTER_DIR:-/tmp/palisade-cluster}
port=${PALISADE_DEMO_PORT:-29443}
ns=palisade
pidfile=$PALISADE_CLUSTER_DIR/palisade-serve.pid
logfile=$PALISADE_CLUSTER_DIR/logs/palisade-serve.log

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }

stop_palisade() {
    local pid
    pid=$(cat "$pidfile" 2>/dev/null) || return 0
    # Only our process: its command line names this cluster's kubeconfig.
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$PALISADE_CLUSTER_DIR/"; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}

if [[ "${1:-}" == down ]]; then
    stop_palisade
    exec "$cluster" down
fi
[[ $# -eq 0 ]] || { sed -n '2,9s/^# \{0,1\}//p' "$0" >&2; exit 2; }

say "Building palisade-serve (cargo build)"
cargo build --quiet -p palisade-webhook --bin palisade-serve --manifest-path "$repo/Cargo.toml"
target=$(cargo metadata --format-version 1 --no-deps --manifest-path "$repo/Cargo.toml" |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
serve=$target/debug/palisade-serve

say "Starting the local control plane (kube-apiserver + etcd on 127.0.0.1; first run builds them, ~7 min)"
"$cluster" up
eval "$("$cluster" env)"
admin=(kubectl --kubeconfig "$PALISADE_ADMIN_KUBECONFIG")
tenant=(kubectl --kubeconfig "$PALISADE_TENANT_KUBECONFIG")

say "Installing the kyverno.io CRDs and the Pod Security baseline ClusterPolicies"
"${admin[@]}" apply --server-side -f "$repo/deploy/crds" >/dev/null
"${admin[@]}" wait --for=condition=Established --timeout=60s -f "$repo/deploy/crds" >/dev/null
"${admin[@]}" create namespace "$ns" --dry-run=client -o yaml | "${admin[@]}" apply -f - >/dev/null
find "$repo/policies/pod-security/baseline" -name '.*' -prune -o -name '*.yaml' -print | sort |
    while read -r f; do "${admin[@]}" apply -f "$f"; done

say "Starting Palisade in cluster mode on https://127.0.0.1:$port (log: $logfile)"
stop_palisade
mkdir -p "$(dirname "$logfile")"
NO_COLOR=1 setsid "$serve" --listen "127.0.0.1:$port" --kubeconfig "$PALISADE_ADMIN_KUBECONFIG" \
    --webhook-url "https://127.0.0.1:$port" --namespace "$ns" </dev/null >>"$logfile" 2>&1 &
echo $! >"$pidfile"

# Ready means: policies compiled, status written, webhook configurations in place and
# picked up by the apiserver; a server-side dry run of the attack proves the last part.
attack=$repo/examples/attack-pod.yaml
ready=""
for _ in $(seq 120); do
    kill -0 "$(cat "$pidfile")" 2>/dev/null || { tail -n 30 "$logfile" >&2; die "palisade-serve exited"; }
    if out=$(sed '/^---/,$d' "$attack" | "${tenant[@]}" create --dry-run=server -f - 2>&1); then
        : # admitted: the webhook is not in place yet
    elif [[ "$out" == *"blocked due to the following policies"* ]]; then
        ready=1 && break
    fi
    sleep 0.5
done
[[ -n "$ready" ]] || { tail -n 30 "$logfile" >&2; die "Palisade did not start enforcing within 60 s"; }
"${admin[@]}" get clusterpolicies

say "The attack, as tenant-a-user: kubectl create -f examples/attack-pod.yaml"
# The file holds the node-escape Pod and the hardened web Pod; the first must be denied.
"${tenant[@]}" -n tenant-a delete pod web --ignore-not-found >/dev/null
set +e
"${tenant[@]}" create -f "$attack"
set -e
denied=1 admitted=1
"${admin[@]}" -n tenant-a get pod node-shell >/dev/null 2>&1 && denied=0
"${admin[@]}" -n tenant-a get pod web >/dev/null 2>&1 || admitted=0

say "Result: kubectl get pods -n tenant-a (the node-escape Pod was never stored)"
"${admin[@]}" -n tenant-a get pods
echo
[[ $denied == 1 ]] && echo "node-shell (privileged, hostPID/IPC/Network, hostPath /): DENIED" ||
    echo "node-shell: ADMITTED (unexpected)"
[[ $admitted == 1 ]] && echo "web (hardened): admitted" || echo "web: NOT admitted (unexpected)"
cat <<EOF

The cluster and Palisade keep running. Try your own manifests:
  export PATH=$(dirname "$PALISADE_KUBECTL"):\$PATH
  export KUBECONFIG=$PALISADE_ADMIN_KUBECONFIG
      (admin; or $PALISADE_TENANT_KUBECONFIG: tenant-a-user, namespace tenant-a only)
  kubectl apply -f policies/multi-tenancy/add-default-security-context/   # takes effect within 2 s
  kubectl get clusterpolicies -o wide                                      # READY and MESSAGE
  kubectl -n tenant-a run test --image=busybox --privileged                 # denied
Palisade's log: $logfile
Stop everything: scripts/demo.sh down
EOF
[[ $denied == 1 && $admitted == 1 ]]
