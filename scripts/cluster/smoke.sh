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
    if [[ -n "$webhook_pid" ]]; then
        kill "$webhook_pid" 2>/dev/null || true
        wait "$webhook_pid" 2>/dev/null || true # killed by TERM: status 143
        webhook_pid=""
    fi
    if [[ -n "$work" ]]; then rm -rf "$work"; fi
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

# Garbage collection: a dependent goes once its owner is deleted.
"${admin[@]}" -n "$ns" create configmap owner -o name
uid=$("${admin[@]}" -n "$ns" get configmap owner -o jsonpath='{.metadata.uid}')
"${admin[@]}" apply -o name -f - <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: dependent
  namespace: $ns
  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: owner, uid: "$uid"}]
YAML
"${admin[@]}" -n "$ns" delete configmap owner --wait=false
gone() { # gone KUBECTL-GET-ARGS...: waits up to 60s for NotFound
    local _ out
    for _ in $(seq 60); do
        out=$("${admin[@]}" get "$@" 2>&1 || true)
        [[ "$out" == *NotFound* ]] && return 0
        sleep 1
    done
    return 1
}
check "garbage collector deletes a dependent of a deleted owner" gone -n "$ns" configmap dependent

check "admin deletes namespace $ns" "${admin[@]}" delete namespace "$ns" --wait=false
check "namespace controller finishes deleting $ns" gone namespace "$ns"

trap - EXIT
cleanup
left=""
for d in /proc/[0-9]*; do
    cmd=$(tr '\0' ' ' 2>/dev/null <"$d/cmdline" || true)
    if [[ "$cmd" == *"$PALISADE_CLUSTER_DIR/"* && ${d#/proc/} != "$$" ]]; then left+=" ${d#/proc/}"; fi
done
check "down left no process (${left:-none})" [ -z "$left" ]
check "down removed $PALISADE_CLUSTER_DIR" [ ! -e "$PALISADE_CLUSTER_DIR" ]

echo "$passes passed, $failures failed"
[[ $failures -eq 0 ]]
