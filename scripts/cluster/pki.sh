# shellcheck shell=bash
# Certificates and kubeconfigs for the local control plane (sourced by
# control.sh). One CA signs everything; keys are ECDSA P-256 except the
# service-account signing key (RSA, the most widely accepted JWT key type).

PKI_DIR=$CLUSTER_DIR/pki
# The first address of --service-cluster-ip-range becomes the `kubernetes`
# Service IP, so it must be in the apiserver certificate.
# shellcheck disable=SC2034 # used by control.sh
SERVICE_CIDR=10.0.0.0/24
SERVICE_IP=10.0.0.1

ensure_openssl() {
    command -v openssl >/dev/null && return 0
    [[ $(id -u) -eq 0 ]] || die "openssl is missing; install it (apt-get install openssl)"
    log "installing openssl from Debian"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null
}

# new_ca NAME CN: a self-signed CA.
new_ca() {
    [[ -f "$PKI_DIR/$1.crt" ]] && return 0
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -sha256 \
        -keyout "$PKI_DIR/$1.key" -out "$PKI_DIR/$1.crt" -subj "/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# new_cert NAME CN ORG EKU [SAN]: key + certificate signed by CA $SIGNER
# (default: the cluster CA).
new_cert() {
    local name=$1 cn=$2 org=$3 eku=$4 san=${5:-} ca=${SIGNER:-ca} subj ext
    [[ -f "$PKI_DIR/$name.crt" ]] && return 0
    subj="/CN=$cn"
    [[ -n "$org" ]] && subj="/O=$org$subj"
    ext="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=$eku"
    [[ -n "$san" ]] && ext+="
subjectAltName=$san"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$PKI_DIR/$name.key" -subj "$subj" -out "$PKI_DIR/$name.csr" 2>/dev/null
    openssl x509 -req -in "$PKI_DIR/$name.csr" -CA "$PKI_DIR/$ca.crt" -CAkey "$PKI_DIR/$ca.key" \
        -CAcreateserial -days 365 -sha256 -out "$PKI_DIR/$name.crt" -extfile <(echo "$ext") 2>/dev/null
    rm -f "$PKI_DIR/$name.csr"
}

ensure_pki() {
    ensure_openssl
    mkdir -p "$PKI_DIR" && chmod 700 "$PKI_DIR"
    new_ca ca palisade-local-ca
    # The aggregation layer's request-header CA, separate as in kubeadm: it
    # fills extension-apiserver-authentication, which the controller-manager
    # reads (and complains about every second when it is missing).
    new_ca front-proxy-ca palisade-front-proxy-ca
    SIGNER=front-proxy-ca new_cert front-proxy-client front-proxy-client "" clientAuth
    new_cert etcd-server etcd-server "" serverAuth,clientAuth "IP:127.0.0.1,DNS:localhost"
    new_cert apiserver-etcd-client kube-apiserver-etcd-client "" clientAuth
    new_cert apiserver kube-apiserver "" serverAuth \
        "IP:127.0.0.1,IP:$SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
    new_cert admin palisade-admin system:masters clientAuth
    new_cert controller-manager system:kube-controller-manager "" clientAuth
    new_cert tenant "$TENANT_USER" "$TENANT_GROUP" clientAuth
    if [[ ! -f "$PKI_DIR/sa.pub" ]]; then
        openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$PKI_DIR/sa.key" 2>/dev/null
        openssl pkey -in "$PKI_DIR/sa.key" -pubout -out "$PKI_DIR/sa.pub"
    fi
    chmod 600 "$PKI_DIR"/*.key
}

# write_kubeconfig FILE CERT_NAME USER_NAME: client-certificate kubeconfig
# with everything embedded, so it stays valid wherever it is copied.
write_kubeconfig() {
    local file=$1 cert=$2 user=$3
    cat >"$file" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: palisade
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $(base64 -w0 "$PKI_DIR/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 "$PKI_DIR/$cert.crt")
    client-key-data: $(base64 -w0 "$PKI_DIR/$cert.key")
contexts:
- name: $user@palisade
  context:
    cluster: palisade
    user: $user
current-context: $user@palisade
KUBECONFIG
    chmod 600 "$file"
}

write_kubeconfigs() {
    write_kubeconfig "$CLUSTER_DIR/admin.kubeconfig" admin palisade-admin
    write_kubeconfig "$CLUSTER_DIR/tenant.kubeconfig" tenant "$TENANT_USER"
    write_kubeconfig "$CLUSTER_DIR/controller-manager.kubeconfig" controller-manager system:kube-controller-manager
}
