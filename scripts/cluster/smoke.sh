#!/usr/bin/env bash
# End-to-end check of the local control plane: up, admin and tenant access,
# RBAC denial, /readyz, a webhook on 127.0.0.1, then down with no process
# left. Uses its own state directory and ports unless they are set, so it
# does not disturb a cluster that is already running. Exits non-zero on failure.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PALISADE_CLUSTER_DIR=${PALISADE_CLUSTER_DIR:-/tmp/palisade-smoke}
export PALISADE_ETCD_PORT=${PALISADE_ETCD_PORT:-24379}
export PALISADE_ETCD_PEER_PORT=${PALISADE_ETCD_PEER_PORT:-24380}
export PALISADE_APISERVER_PORT=${PALISADE_APISERVER_PORT:-27443}
export PALISADE_KCM_PORT=${PALISADE_KCM_PORT:-27257}
webhook_port=${PALISADE_SMOKE_WEBHOOK_PORT:-28443}
cluster=$here/../cluster.sh

failures=0 passes=0 webhook_pid="" work=""
pass() { passes=$((passes + 1)); echo "ok   - $*"; }
fail() { failures=$((failures + 1)); echo "FAIL - $*"; }
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}

cleanup() {
    [[ -n "$webhook_pid" ]] && kill "$webhook_pid" 2>/dev/null && wait "$webhook_pid" 2>/dev/null
    [[ -n "$work" ]] && rm -rf "$work"
    "$cluster" down || true
}
trap cleanup EXIT

"$cluster" up
eval "$("$cluster" env)"
work=$(mktemp -d)
admin=(kubectl --kubeconfig "$PALISADE_ADMIN_KUBECONFIG")
tenant=(kubectl --kubeconfig "$PALISADE_TENANT_KUBECONFIG")

check "kubectl on PATH is $PALISADE_KUBECTL" [ "$(command -v kubectl)" = "$PALISADE_KUBECTL" ]

check "/readyz is ok" [ "$("${admin[@]}" get --raw /readyz)" = ok ]

ns=smoke-$$
check "admin creates namespace $ns" "${admin[@]}" create namespace "$ns" -o name

pod() { # pod NAME NAMESPACE [LABEL]
    cat <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1, namespace: $2, labels: {palisade-smoke: "${3:-allow}"}}
spec:
  containers: [{name: c, image: registry.k8s.io/pause:3.10}]
YAML
}

tenant_create() { pod "$@" | "${tenant[@]}" create -f - -o name; }
check "tenant creates a Pod in tenant-a" tenant_create p1 tenant-a
if out=$(pod p1 default | "${tenant[@]}" create -f - 2>&1); then
    fail "tenant created a Pod in default"
elif [[ "$out" == *forbidden* ]]; then
    pass "tenant is forbidden in default"
else
    fail "tenant in default failed for another reason: $out"
fi
check "tenant cannot list secrets in kube-system" \
    [ "$("${tenant[@]}" auth can-i list secrets -n kube-system || true)" = no ]
sa=$("${admin[@]}" -n "$ns" get serviceaccount default -o name 2>/dev/null || true)
for _ in $(seq 30); do
    [[ -n "$sa" ]] && break
    sleep 1
    sa=$("${admin[@]}" -n "$ns" get serviceaccount default -o name 2>/dev/null || true)
done
check "controller-manager made the default ServiceAccount in $ns" [ "$sa" = serviceaccount/default ]

# A validating webhook at https://127.0.0.1:<port>, called by the apiserver.
if command -v python3 >/dev/null; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
        -keyout "$work/wh.key" -out "$work/wh.crt" -subj /CN=smoke-webhook \
        -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
    python3 "$here/smoke-webhook.py" "$webhook_port" "$work/wh.crt" "$work/wh.key" &
    webhook_pid=$!
    "${admin[@]}" apply -f - >/dev/null <<YAML
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: palisade-smoke}
webhooks:
- name: smoke.palisade.local
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: Fail
  timeoutSeconds: 5
  namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: tenant-a}}
  rules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}]
  clientConfig:
    url: https://127.0.0.1:$webhook_port/validate
    caBundle: $(base64 -w0 "$work/wh.crt")
YAML
    # The apiserver picks the configuration up asynchronously.
    out=""
    for _ in $(seq 20); do
        if out=$(pod p2 tenant-a deny | "${tenant[@]}" create -f - 2>&1); then
            "${admin[@]}" -n tenant-a delete pod p2 --wait=false >/dev/null
        elif [[ "$out" == *"denied by the smoke webhook"* ]]; then
            break
        fi
        sleep 1
    done
    echo "  (apiserver said: $out)"
    check "webhook at 127.0.0.1:$webhook_port denies a labelled Pod" grep -q "denied by the smoke webhook" <<<"$out"
    check "webhook at 127.0.0.1:$webhook_port allows an unlabelled Pod" tenant_create p3 tenant-a
    "${admin[@]}" delete validatingwebhookconfiguration palisade-smoke >/dev/null
else
    echo "skip - python3 missing: webhook check not run"
fi

check "admin deletes namespace $ns" "${admin[@]}" delete namespace "$ns" --wait=false

trap - EXIT
cleanup
left=$(for d in /proc/[0-9]*; do
    tr '\0' ' ' <"$d/cmdline" 2>/dev/null | grep -q -- "$PALISADE_CLUSTER_DIR/" && echo "${d#/proc/}"
done || true)
check "down left no process (${left:-none})" [ -z "$left" ]
check "down removed $PALISADE_CLUSTER_DIR" [ ! -e "$PALISADE_CLUSTER_DIR" ]

echo "$passes passed, $failures failed"
[[ $failures -eq 0 ]]
