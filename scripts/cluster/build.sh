#!/usr/bin/env bash
# Builds etcd, kube-apiserver, kube-controller-manager and kubectl from Go
# modules into $PALISADE_CACHE/k8s-<version>/bin. A stamp over the versions,
# the Go version and the builder go.mod/go.sum makes a repeated run a no-op.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BINARIES=(etcd kube-apiserver kube-controller-manager kubectl)
command -v go >/dev/null || die "go is not installed (needs Go >= the go line in scripts/cluster/build/*/go.mod)"

# Never fetch a toolchain, never stamp VCS info, never write into the repo:
# module and build caches stay in Go's defaults under $HOME (or wherever
# GOMODCACHE/GOCACHE point), outside the repo and any Cargo target dir.
export GOTOOLCHAIN=local GOFLAGS="-buildvcs=false -mod=readonly" CGO_ENABLED=0

stamp_value() {
    {
        echo "k8s=$K8S_VERSION etcd=$ETCD_VERSION $(go env GOVERSION)"
        cat "$CLUSTER_SCRIPTS"/build/*/go.mod "$CLUSTER_SCRIPTS"/build/*/go.sum
    } | sha256sum | cut -d' ' -f1
}

up_to_date() {
    local b
    [[ -f "$K8S_CACHE_DIR/stamp" && "$(cat "$K8S_CACHE_DIR/stamp")" == "$1" ]] || return 1
    for b in "${BINARIES[@]}"; do [[ -x "$K8S_BIN_DIR/$b" ]] || return 1; done
}

build_all() {
    local out=$1 minor=${K8S_VERSION#v1.}
    minor=${minor%%.*}
    # What hack/lib/version.sh would stamp, so `kubectl version` and the
    # apiserver's /version report the real release instead of v0.0.0.
    local ver_ldflags="" pkg
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        ver_ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
    done
    log "building kube-apiserver, kube-controller-manager, kubectl $K8S_VERSION (slow on a cold cache)"
    (cd "$CLUSTER_SCRIPTS/build/kubernetes" &&
        nice -n 19 go build -trimpath -ldflags="-s -w$ver_ldflags" -o "$out/" \
            k8s.io/kubernetes/cmd/kube-apiserver \
            k8s.io/kubernetes/cmd/kube-controller-manager \
            k8s.io/kubernetes/cmd/kubectl)
    log "building etcd $ETCD_VERSION"
    (cd "$CLUSTER_SCRIPTS/build/etcd" &&
        nice -n 19 go build -trimpath -ldflags="-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3)
}

main() {
    mkdir -p "$PALISADE_CACHE"
    # Several checkouts may share the cache: one builder at a time.
    exec 9>"$PALISADE_CACHE/k8s-$K8S_VERSION.lock"
    flock 9
    local want
    want=$(stamp_value)
    if up_to_date "$want"; then
        log "binaries up to date in $K8S_BIN_DIR"
        return 0
    fi
    local start=$SECONDS
    # Built aside and moved in whole: an interrupted build leaves no half bin/.
    BUILD_TMP="$K8S_CACHE_DIR/bin.tmp.$$"
    rm -rf "$BUILD_TMP" && mkdir -p "$BUILD_TMP"
    trap 'rm -rf "$BUILD_TMP"' EXIT
    build_all "$BUILD_TMP"
    rm -rf "$K8S_BIN_DIR" && mv "$BUILD_TMP" "$K8S_BIN_DIR"
    echo "$want" >"$K8S_CACHE_DIR/stamp"
    log "built in $((SECONDS - start))s into $K8S_BIN_DIR:"
    (cd "$K8S_BIN_DIR" && ls -l "${BINARIES[@]}" >&2)
}

main "$@"
