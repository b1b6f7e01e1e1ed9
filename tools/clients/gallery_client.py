"""A hand-written Python client of the reid gallery over Zenoh (package `eclipse-zenoh`), used by the test suite to
show that plain JSON is enough: enrol three people, look one up, forget one, look again, read the statistics.

    python gallery_client.py --connect tcp/127.0.0.1:7447 [--prefix reid] [--name main] [--dim 8]
    python gallery_client.py --connect tls/127.0.0.1:7447 --tls-ca site/ca.pem --tls-cert site/admin.pem \
        --tls-key site/admin.key          # mutual TLS with certificates from `reid gallery certs`

Prints one JSON object with what each step returned.
"""

import argparse
import json

import zenoh


TIMEOUT = 5.0


def request(session, key, body=None, params=""):
    """Sends a query and returns (ok, decoded JSON) of every reply (none when no server answers, or the access
    rules deny this client)."""
    selector = f"{key}?{params}" if params else key
    kwargs = {"target": zenoh.QueryTarget.ALL, "timeout": TIMEOUT}
    if body is not None:
        kwargs["payload"] = json.dumps(body).encode()
    out = []
    for reply in session.get(selector, **kwargs):
        if reply.ok is not None:
            out.append((True, json.loads(reply.ok.payload.to_bytes())))
        else:
            out.append((False, json.loads(reply.err.payload.to_bytes())))
    return out


def vector(person, dim):
    return [1.0 if d == person % dim else 0.05 * ((d * 7 + person) % 5) for d in range(dim)]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--connect", required=True)
    p.add_argument("--prefix", default="reid")
    p.add_argument("--name", default="main")
    p.add_argument("--dim", type=int, default=8)
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the replies of each request")
    p.add_argument("--tls-ca", help="site CA certificate (PEM) for mutual TLS")
    p.add_argument("--tls-cert", help="this client's certificate (PEM); its common name sets its rights")
    p.add_argument("--tls-key", help="this client's private key (PEM)")
    a = p.parse_args()
    global TIMEOUT
    TIMEOUT = a.timeout
    conf = zenoh.Config()
    conf.insert_json5("mode", '"peer"')
    conf.insert_json5("connect/endpoints", json.dumps([a.connect]))
    conf.insert_json5("scouting/multicast/enabled", "false")
    tls = [a.tls_ca, a.tls_cert, a.tls_key]
    if any(tls):
        if not all(tls):
            p.error("mutual TLS needs all of --tls-ca, --tls-cert and --tls-key")
        conf.insert_json5("transport/link/tls/root_ca_certificate", json.dumps(a.tls_ca))
        conf.insert_json5("transport/link/tls/connect_certificate", json.dumps(a.tls_cert))
        conf.insert_json5("transport/link/tls/connect_private_key", json.dumps(a.tls_key))
        conf.insert_json5("transport/link/tls/enable_mtls", "true")
        conf.insert_json5("transport/link/tls/verify_name_on_connect", "true")
    base = f"{a.prefix}/gallery/{a.name}"
    result = {}
    with zenoh.open(conf) as session:
        items = [{"embedding": vector(i, a.dim), "identity": f"py{i}", "camera": "py-cam"} for i in range(3)]
        result["enroll"] = request(session, f"{base}/enroll", {"items": items})
        result["query"] = request(session, f"{base}/query", {"embedding": vector(1, a.dim), "k": 3})
        result["bad_query"] = request(session, f"{base}/query", {"embedding": [1.0, 2.0]})
        result["forget"] = request(session, f"{base}/forget", {"identity": "py1"})
        result["query_after_forget"] = request(session, f"{base}/query", {"embedding": vector(1, a.dim)}, "k=3")
        result["stats"] = request(session, f"{base}/stats")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
