"""Minimal validating admission webhook for smoke.sh.

Denies objects labelled palisade-smoke=deny and allows everything else, so the
smoke check proves the apiserver can call a webhook at https://127.0.0.1:PORT.
Usage: smoke-webhook.py PORT CERT KEY
"""

import http.server
import json
import ssl
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        review = json.loads(self.rfile.read(length))
        request = review.get("request") or {}
        obj = request.get("object") or {}
        labels = (obj.get("metadata") or {}).get("labels") or {}
        allowed = labels.get("palisade-smoke") != "deny"
        response = {"uid": request.get("uid", ""), "allowed": allowed}
        if not allowed:
            response["status"] = {"code": 403, "message": "denied by the smoke webhook"}
        body = json.dumps(
            {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    server = http.server.HTTPServer(("127.0.0.1", port), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
