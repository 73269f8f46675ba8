# Helper of kv_crash.sh (run with /usr/bin/python3, which has Debian's etcd3 module).
#   write PORT ACKS THREADS TAG SECONDS: THREADS writers put keys until the server goes away
#       (or SECONDS pass); every acknowledged put is appended to ACKS as "key value revision"
#       right after its response arrived, and only then. Now and then a writer deletes all
#       its keys with one DeleteRange (logged as a sweep): "- prefix revision deleted".
#   check PORT ACKS FROM SAMPLE: every acknowledgement from line FROM on, and SAMPLE random
#       earlier ones, must be readable at its revision with its value and mod_revision (a
#       DeleteRange: no key under the prefix at its revision, as many as it deleted just
#       before); the store's revision must not be below any acknowledged one. Prints what
#       it checked.
import os
import random
import sys
import threading
import time

import etcd3
from etcd3 import etcdrpc


def writer(port, fd, lock, tag, n, deadline, counts):
    c = etcd3.client(host="127.0.0.1", port=port, timeout=5)
    i = 0
    try:
        while time.time() < deadline:
            # 20 keys per writer, overwritten again and again: history matters; odd
            # writers use keys long enough that cabind keeps only a prefix in memory
            key = "crash/%d/%02d" % (n, i % 20) + ("/" + "L" * 140 if n % 2 else "")
            value = "%s-%d-%d" % (tag, n, i)
            if i % 53 == 52:
                prefix = "crash/%d/" % n
                resp = c.delete_prefix(prefix)
                line = ("- %s %d %d\n" % (prefix, resp.header.revision, resp.deleted)).encode()
            else:
                resp = c.put(key, value)
                line = ("%s %s %d\n" % (key, value, resp.header.revision)).encode()
            with lock:
                os.write(fd, line)
            counts[n] += 1
            i += 1
    except Exception:
        pass  # the server went away: this put is unknown, not acknowledged
    finally:
        try:
            c.close()
        except Exception:
            pass


def write(port, acks, threads, tag, seconds):
    fd = os.open(acks, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    lock = threading.Lock()
    counts = [0] * threads
    deadline = time.time() + seconds
    ts = [threading.Thread(target=writer, args=(port, fd, lock, tag, n, deadline, counts))
          for n in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    os.close(fd)
    print("acknowledged %d puts" % sum(counts))


def check(port, acks, start, sample):
    with open(acks) as f:
        lines = [l.split() for l in f if l.strip()]
    todo = lines[start:]
    old = lines[:start]
    todo += random.sample(old, min(sample, len(old)))
    c = etcd3.client(host="127.0.0.1", port=port, timeout=10)
    rev = c.status().raft_index
    top = max([int(l[2]) for l in lines], default=0)  # a DeleteRange's too
    if rev < top:
        sys.exit("FAIL: the store is at revision %d, below acknowledged revision %d" % (rev, top))
    bad = 0
    for l in todo:
        if l[0] == "-":
            prefix, r, n = l[1].encode(), int(l[2]), int(l[3])
            end = prefix[:-1] + bytes([prefix[-1] + 1])
            now = c.kvstub.Range(etcdrpc.RangeRequest(key=prefix, range_end=end, revision=r,
                                                      count_only=True), 10).count
            before = c.kvstub.Range(etcdrpc.RangeRequest(key=prefix, range_end=end,
                                                         revision=r - 1, count_only=True),
                                    10).count
            if now != 0 or before != n or n < 2:
                print("LOST: DeleteRange %s at revision %d: %d keys left, %d before (it "
                      "deleted %d)" % (l[1], r, now, before, n))
                bad += 1
            continue
        key, value, r = l
        resp = c.kvstub.Range(etcdrpc.RangeRequest(key=key.encode(), revision=int(r)), 10)
        kvs = list(resp.kvs)
        if len(kvs) != 1 or kvs[0].value.decode() != value or kvs[0].mod_revision != int(r):
            got = [(kv.value, kv.mod_revision) for kv in kvs]
            print("LOST: %s=%s at revision %s; got %s" % (key, value, r, got))
            bad += 1
    if bad:
        sys.exit("FAIL: %d of %d acknowledged writes lost or wrong" % (bad, len(todo)))
    print("checked %d acknowledged writes (%d new, %d earlier; %d DeleteRanges), store at "
          "revision %d" % (len(todo), len(lines) - start, len(todo) - (len(lines) - start),
                           sum(1 for l in todo if l[0] == "-"), rev))


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5], float(sys.argv[6]))
    else:
        check(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
