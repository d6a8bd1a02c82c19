# shellcheck shell=bash
# shellcheck disable=SC2034 # settings for the scripts that source this file
# Shared settings for the local control plane scripts. Sourced, not run.
CLUSTER_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=versions.env
. "$CLUSTER_SCRIPTS/versions.env"

PALISADE_CACHE=${PALISADE_CACHE:-$HOME/.cache/palisade}
K8S_CACHE_DIR=$PALISADE_CACHE/k8s-$K8S_VERSION
K8S_BIN_DIR=$K8S_CACHE_DIR/bin
CLUSTER_DIR=${PALISADE_CLUSTER_DIR:-/tmp/palisade-cluster}

# Loopback only. Defaults sit below the Linux ephemeral range (32768+) and
# away from the usual 2379/6443/10257 so a second cluster or a dev server
# does not collide with them.
ETCD_PORT=${PALISADE_ETCD_PORT:-23379}
ETCD_PEER_PORT=${PALISADE_ETCD_PEER_PORT:-23380}
APISERVER_PORT=${PALISADE_APISERVER_PORT:-26443}
KCM_PORT=${PALISADE_KCM_PORT:-26257}
# A cluster keeps the ports it was started with until `down`, whatever the
# environment of a later status/env/up says.
if [[ -f "$CLUSTER_DIR/ports.env" ]]; then
    # shellcheck source=/dev/null
    . "$CLUSTER_DIR/ports.env"
fi

TENANT_NAMESPACE=tenant-a
TENANT_USER=tenant-a-user
TENANT_GROUP=tenants

COMPONENTS=(etcd kube-apiserver kube-controller-manager)

log() { printf '[cluster] %s\n' "$*" >&2; }
die() { printf '[cluster] error: %s\n' "$*" >&2; exit 1; }
