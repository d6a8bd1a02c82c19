#!/usr/bin/env bash
# up | down | status | env for the local control plane. See docs/local-cluster.md.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=pki.sh
. "$CLUSTER_SCRIPTS/pki.sh"
# shellcheck source-path=SCRIPTDIR source=procs.sh
. "$CLUSTER_SCRIPTS/procs.sh"

ADMIN_KUBECONFIG=$CLUSTER_DIR/admin.kubeconfig
TENANT_KUBECONFIG=$CLUSTER_DIR/tenant.kubeconfig

kubectl_admin() { "$K8S_BIN_DIR/kubectl" --kubeconfig "$ADMIN_KUBECONFIG" --request-timeout=10s "$@"; }

ready() { kubectl_admin get --raw /readyz >/dev/null 2>&1; }

all_running() {
    local c
    for c in "${COMPONENTS[@]}"; do component_pid "$c" >/dev/null || return 1; done
}

start_etcd() {
    local peer=http://127.0.0.1:$ETCD_PEER_PORT
    # Peer traffic is unused (single member) and stays plain on loopback;
    # clients need a certificate. No fsync: throwaway test data, much faster.
    start_component etcd --name palisade --data-dir "$CLUSTER_DIR/etcd-data" \
        --listen-client-urls "https://127.0.0.1:$ETCD_PORT" \
        --advertise-client-urls "https://127.0.0.1:$ETCD_PORT" \
        --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
        --initial-cluster "palisade=$peer" \
        --cert-file "$PKI_DIR/etcd-server.crt" --key-file "$PKI_DIR/etcd-server.key" \
        --trusted-ca-file "$PKI_DIR/ca.crt" --client-cert-auth \
        --unsafe-no-fsync
    # The port opens before etcd serves; starting the apiserver in between
    # only fills its log with dial errors.
    wait_log etcd "serving client traffic securely" 30
}

start_apiserver() {
    # --endpoint-reconciler-type=none: Endpoints may not hold loopback
    # addresses, so the `kubernetes` Service gets no endpoints (nothing in
    # the cluster would use them: no kubelet, no Pods run).
    # --allow-privileged: privileged Pods must reach admission so policies
    # (not the apiserver's validation) decide about them.
    start_component kube-apiserver \
        --bind-address=127.0.0.1 --advertise-address=127.0.0.1 \
        --secure-port="$APISERVER_PORT" \
        --tls-cert-file="$PKI_DIR/apiserver.crt" --tls-private-key-file="$PKI_DIR/apiserver.key" \
        --client-ca-file="$PKI_DIR/ca.crt" \
        --requestheader-client-ca-file="$PKI_DIR/front-proxy-ca.crt" \
        --requestheader-allowed-names=front-proxy-client \
        --requestheader-username-headers=X-Remote-User \
        --requestheader-group-headers=X-Remote-Group \
        --requestheader-extra-headers-prefix=X-Remote-Extra- \
        --proxy-client-cert-file="$PKI_DIR/front-proxy-client.crt" \
        --proxy-client-key-file="$PKI_DIR/front-proxy-client.key" \
        --etcd-servers="https://127.0.0.1:$ETCD_PORT" --etcd-cafile="$PKI_DIR/ca.crt" \
        --etcd-certfile="$PKI_DIR/apiserver-etcd-client.crt" \
        --etcd-keyfile="$PKI_DIR/apiserver-etcd-client.key" \
        --authorization-mode=Node,RBAC \
        --enable-admission-plugins=NodeRestriction \
        --service-account-issuer=https://kubernetes.default.svc.cluster.local \
        --service-account-key-file="$PKI_DIR/sa.pub" \
        --service-account-signing-key-file="$PKI_DIR/sa.key" \
        --service-cluster-ip-range="$SERVICE_CIDR" \
        --endpoint-reconciler-type=none \
        --allow-privileged=true \
        --profiling="${PALISADE_APISERVER_PROFILING:-false}"
    wait_port kube-apiserver "$APISERVER_PORT" 60
    local i
    for ((i = 0; i < 120; i++)); do
        ready && return 0
        component_pid kube-apiserver >/dev/null || die "kube-apiserver exited (see $LOG_DIR/kube-apiserver.log)"
        sleep 1
    done
    die "kube-apiserver not ready after 120s (see $LOG_DIR/kube-apiserver.log)"
}

start_controller_manager() {
    local kc=$CLUSTER_DIR/controller-manager.kubeconfig
    start_component kube-controller-manager \
        --kubeconfig="$kc" --authentication-kubeconfig="$kc" --authorization-kubeconfig="$kc" \
        --bind-address=127.0.0.1 --secure-port="$KCM_PORT" --cert-dir="$CLUSTER_DIR/kcm" \
        --service-account-private-key-file="$PKI_DIR/sa.key" --root-ca-file="$PKI_DIR/ca.crt" \
        --use-service-account-credentials=true \
        --cluster-signing-cert-file="$PKI_DIR/ca.crt" --cluster-signing-key-file="$PKI_DIR/ca.key" \
        --service-cluster-ip-range="$SERVICE_CIDR" \
        --leader-elect=false
    wait_port kube-controller-manager "$KCM_PORT" 60
}

# wait_free PORT: a port held by something else is a clear error up front,
# not a component failing later.
wait_free() {
    port_busy "$1" || return 0
    die "127.0.0.1:$1 is already in use; pick other ports with PALISADE_*_PORT (see docs/local-cluster.md)"
}

# The multi-tenant situation: tenant-a-user may edit namespace tenant-a only.
bootstrap_tenant() {
    kubectl_admin apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Namespace
metadata:
  name: $TENANT_NAMESPACE
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: $TENANT_USER-edit
  namespace: $TENANT_NAMESPACE
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: edit
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: $TENANT_USER
YAML
    # Pods are rejected until the controller-manager made the default
    # ServiceAccount, so `up` is not done before that.
    local i
    for ((i = 0; i < 60; i++)); do
        kubectl_admin -n "$TENANT_NAMESPACE" get serviceaccount default >/dev/null 2>&1 && return 0
        component_pid kube-controller-manager >/dev/null ||
            die "kube-controller-manager exited (see $LOG_DIR/kube-controller-manager.log)"
        sleep 1
    done
    die "no default ServiceAccount in $TENANT_NAMESPACE after 60s (see $LOG_DIR/kube-controller-manager.log)"
}

on_up_failure() {
    local c
    log "up failed; stopping what it started. Last log lines:"
    for c in "${COMPONENTS[@]}"; do
        [[ -f "$LOG_DIR/$c.log" ]] && { echo "--- $c" >&2; tail -n 15 "$LOG_DIR/$c.log" >&2; }
    done
    stop_all
    log "logs kept in $LOG_DIR; \`scripts/cluster.sh down\` removes them"
}

cmd_up() {
    "$CLUSTER_SCRIPTS/build.sh"
    mkdir -p "$CLUSTER_DIR"
    exec 8>"$CLUSTER_DIR.lock"
    flock 8
    if all_running && ready; then
        bootstrap_tenant
        log "already up: https://127.0.0.1:$APISERVER_PORT"
        return 0
    fi
    # Partly running (a crash, a reboot): restart everything on the same
    # certificates and etcd data.
    stop_all
    local port
    for port in "$ETCD_PORT" "$ETCD_PEER_PORT" "$APISERVER_PORT" "$KCM_PORT"; do wait_free "$port"; done
    trap 'on_up_failure' EXIT
    # A signal ends `up` through exit, so the EXIT trap cleans up too.
    trap 'exit 130' INT TERM HUP
    printf 'ETCD_PORT=%s\nETCD_PEER_PORT=%s\nAPISERVER_PORT=%s\nKCM_PORT=%s\n' \
        "$ETCD_PORT" "$ETCD_PEER_PORT" "$APISERVER_PORT" "$KCM_PORT" >"$CLUSTER_DIR/ports.env"
    ensure_pki
    write_kubeconfigs
    start_etcd
    start_apiserver
    start_controller_manager
    bootstrap_tenant
    trap - EXIT INT TERM HUP
    log "up: https://127.0.0.1:$APISERVER_PORT (state in $CLUSTER_DIR)"
}

cmd_down() {
    if [[ -d "$CLUSTER_DIR" ]]; then
        exec 8>"$CLUSTER_DIR.lock"
        flock 8
    fi
    stop_all
    rm -rf "$CLUSTER_DIR"
    rm -f "$CLUSTER_DIR.lock"
    log "down: no process left, $CLUSTER_DIR removed"
}

cmd_status() {
    local c pid ok=0
    for c in "${COMPONENTS[@]}"; do
        if pid=$(component_pid "$c"); then
            printf '%-24s running (pid %s)\n' "$c" "$pid"
        else
            printf '%-24s stopped\n' "$c"
            ok=1
        fi
    done
    if [[ -f "$ADMIN_KUBECONFIG" ]] && ready; then
        printf '%-24s ok (https://127.0.0.1:%s)\n' readyz "$APISERVER_PORT"
    else
        printf '%-24s not ready\n' readyz
        ok=1
    fi
    return "$ok"
}

cmd_env() {
    cat <<ENV
export KUBECONFIG=$ADMIN_KUBECONFIG
export PALISADE_ADMIN_KUBECONFIG=$ADMIN_KUBECONFIG
export PALISADE_TENANT_KUBECONFIG=$TENANT_KUBECONFIG
export PALISADE_TENANT_NAMESPACE=$TENANT_NAMESPACE
export PALISADE_APISERVER_URL=https://127.0.0.1:$APISERVER_PORT
export PALISADE_CLUSTER_CA=$PKI_DIR/ca.crt
export PALISADE_KUBECTL=$K8S_BIN_DIR/kubectl
export PATH=$K8S_BIN_DIR:\$PATH
ENV
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
env) cmd_env ;;
*) die "usage: scripts/cluster.sh build|up|down|status|env" ;;
esac
