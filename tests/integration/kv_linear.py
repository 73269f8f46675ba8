#!/usr/bin/python3
"""Records a history for lincheck.py: concurrent clients (python3-etcd3, each starting at
one of the endpoints and moving to the next when it fails) put, get and compare-and-set a
few keys for a while, each operation written with its call and return times. A write
that fails may still have been applied: its return is unknown (null). A read that fails
is left out. A compare-and-set that fails reads the key in the same transaction and
records what it found ("saw"), so that every answer observes the register exactly.

  kv_linear.py HISTORY SECONDS HOST:PORT... [--clients N] [--keys N]
"""
import argparse
import json
import random
import threading
import time

import etcd3

OP_TIMEOUT = 2


def client_loop(idx, endpoints, keys, until, out, lock, counts):
    rnd = random.Random(idx)
    at = idx % len(endpoints)
    clients = {}
    seen = {}
    n = 0

    def connect(e):
        if e not in clients:
            host, port = e.rsplit(":", 1)
            clients[e] = etcd3.client(host=host, port=int(port), timeout=OP_TIMEOUT)
        return clients[e]

    while time.monotonic() < until:
        key = "lin/%d" % rnd.randrange(keys)
        dice = rnd.random()
        n += 1
        c = connect(endpoints[at])
        rec = {"key": key, "call": time.monotonic(), "client": idx}
        try:
            if dice < 0.4:
                value, _ = c.get(key)
                value = value.decode() if value is not None else None
                rec.update(f="get", arg=None, out=value)
                seen[key] = value
            elif dice < 0.75:
                value = "c%d-%d" % (idx, n)
                c.put(key, value)
                rec.update(f="put", arg=value, out=None)
            else:
                expected = seen.get(key)
                value = "c%d-%d" % (idx, n)
                if expected is None:
                    cmp = [c.transactions.version(key) == 0]
                else:
                    cmp = [c.transactions.value(key) == expected]
                ok, res = c.transaction(compare=cmp, success=[c.transactions.put(key, value)],
                                        failure=[c.transactions.get(key)])
                rec.update(f="cas", arg=[expected, value], out=bool(ok))
                if not ok:  # what it found instead, read in the same transaction
                    saw = res[0][0][0].decode() if res and res[0] else None
                    rec["saw"] = seen[key] = saw
            rec["ret"] = time.monotonic()
            counts["ok"] += 1
        except Exception:  # noqa: BLE001 - any failure: unknown outcome
            at = (at + 1) % len(endpoints)
            counts["failed"] += 1
            if dice < 0.4:
                continue  # a read that failed tells nothing
            if dice < 0.75:
                rec.update(f="put", arg="c%d-%d" % (idx, n), out=None)
            else:
                rec.update(f="cas", arg=[seen.get(key), "c%d-%d" % (idx, n)], out=None)
            rec["ret"] = None
            time.sleep(0.05)
        with lock:
            out.write(json.dumps(rec) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("history")
    ap.add_argument("seconds", type=float)
    ap.add_argument("endpoints", nargs="+")
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--keys", type=int, default=4)
    a = ap.parse_args()
    until = time.monotonic() + a.seconds
    lock = threading.Lock()
    counts = {"ok": 0, "failed": 0}
    with open(a.history, "w") as out:
        threads = [threading.Thread(target=client_loop,
                                    args=(i, a.endpoints, a.keys, until, out, lock, counts))
                   for i in range(a.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    print("%d operations answered, %d failed" % (counts["ok"], counts["failed"]))


if __name__ == "__main__":
    main()
