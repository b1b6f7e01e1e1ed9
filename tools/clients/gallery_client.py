"""A hand-written Python client of the reid gallery over Zenoh (package `eclipse-zenoh`), used by the test suite to
show that plain JSON is enough: enrol three people, look one up, forget one, look again, read the statistics.

    python gallery_client.py --connect tcp/127.0.0.1:7447 [--prefix reid] [--name main] [--dim 8]

Prints one JSON object with what each step returned.
"""

import argparse
import json

import zenoh


def request(session, key, body=None, params=""):
    """Sends a query and returns (ok, decoded JSON) of every reply."""
    selector = f"{key}?{params}" if params else key
    kwargs = {"target": zenoh.QueryTarget.ALL, "timeout": 5.0}
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
    a = p.parse_args()
    conf = zenoh.Config()
    conf.insert_json5("mode", '"peer"')
    conf.insert_json5("connect/endpoints", json.dumps([a.connect]))
    conf.insert_json5("scouting/multicast/enabled", "false")
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
