"""What one PolicyReport create costs kube-apiserver, by fieldValidation and row count.

    report-create-cost.py MODE N [ROWS]   MODE: default (no fieldValidation), Ignore, Warn, Strict

Posts N PolicyReports shaped like Palisade's (ROWS rows, default 22; no owner reference) to
namespace `fv` of the cluster of PALISADE_CLUSTER_DIR (port PALISADE_APISERVER_PORT), 16 in
flight on kept-alive connections, prints the API server's CPU seconds (from /proc) and
deletes them. See docs/performance.md, "Session 7".
"""
import json, ssl, sys, time, http.client, concurrent.futures, os
DIR = os.environ.get("PALISADE_CLUSTER_DIR", "/tmp/palisade-cluster")
PORT = int(os.environ.get("PALISADE_APISERVER_PORT", "26443")); PKI = f"{DIR}/pki"; NS = "fv"
mode, n = sys.argv[1], int(sys.argv[2])
ROWS = int(sys.argv[3]) if len(sys.argv) > 3 else 22
ctx = ssl.create_default_context(cafile=f"{PKI}/ca.crt")
ctx.load_cert_chain(f"{PKI}/admin.crt", f"{PKI}/admin.key")
def cpu():
    pid = open(f"{DIR}/run/kube-apiserver.pid").read().strip()
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
def report(i):
    rows = [{"policy": f"policy-{r}", "rule": f"rule-{r}", "result": "pass" if r % 10 else "fail",
             "message": "validation rule 'x' passed." if r % 10 else "Privileged mode is disallowed. The fields spec.containers[*].securityContext.privileged must be unset or set to `false`.",
             "scored": True, "source": "kyverno", "timestamp": {"seconds": 1763900000, "nanos": 0},
             "category": "Pod Security Standards (Baseline)", "severity": "medium",
             "properties": {"process": "background scan"}} for r in range(ROWS)]
    return {"apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": "PolicyReport",
            "metadata": {"name": f"r-{i}", "namespace": NS, "labels": {"app.kubernetes.io/managed-by": "palisade"}},
            "scope": {"apiVersion": "v1", "kind": "Pod", "name": f"pod-{i}", "namespace": NS, "uid": f"00000000-0000-0000-0000-{i:012d}"},
            "summary": {"pass": 20, "fail": 2, "warn": 0, "error": 0, "skip": 0}, "results": rows}
qs = "fieldManager=palisade" + ("" if mode == "default" else f"&fieldValidation={mode}")
import threading
local = threading.local()
def post(i):
    c = getattr(local, "c", None)
    if c is None:
        c = local.c = http.client.HTTPSConnection("127.0.0.1", PORT, context=ctx)
    c.request("POST", f"/apis/wgpolicyk8s.io/v1alpha2/namespaces/{NS}/policyreports?{qs}",
              json.dumps(report(i)), {"Content-Type": "application/json"})
    r = c.getresponse(); r.read()
    assert r.status == 201, r.status
before = cpu(); t = time.time()
with concurrent.futures.ThreadPoolExecutor(16) as ex:
    list(ex.map(post, range(n)))
after = cpu()
print(f"{mode:8} {ROWS} rows {n} creates: apiserver CPU {after-before:.2f} s ({(after-before)/n*1000:.2f} ms each), wall {time.time()-t:.1f} s")
c = http.client.HTTPSConnection("127.0.0.1", PORT, context=ctx)
c.request("DELETE", f"/apis/wgpolicyk8s.io/v1alpha2/namespaces/{NS}/policyreports"); c.getresponse().read()
