"""The etcd Watch stream driven from Python, for tests/integration/etcd_watch.sh: run
against etcd 3.4 and against cabind, the transcripts must be identical.

  etcd_watch.py ENDPOINT raw      WatchRequests written by hand (etcd3's protos lack
                                  watch_id and fragment): ids, errors, filters, prev_kv,
                                  progress, cancel, catch-up, compaction, fragments,
                                  half-close; each step waits for the responses it expects
  etcd_watch.py ENDPOINT client   the python3-etcd3 client: watch, watch_prefix, cancel,
                                  iterators, a compacted start revision, progress_notify
                                  (etcd: --experimental-watch-progress-notify-interval,
                                  cabind: CABIND_WATCH_PROGRESS_MS, both short)

Responses are printed one per line without cluster_id, member_id and raft_term; the
responses of one step that go to different watchers are sorted (their order across
watchers is not defined), those of one watcher keep their order."""
import queue
import sys
import threading
import time

import grpc

import etcd3
import etcd3.etcdrpc as rpc
from etcd3.etcdrpc import rpc_pb2_grpc
from grpcwire import fail, f_int, f_len, varint

TIMEOUT = 20


def create(key=b"", range_end=b"", start=0, progress=False, filters=(), prev_kv=False,
           watch_id=0, fragment=False, packed=True):
    m = (f_len(1, key) if key else b"") + (f_len(2, range_end) if range_end else b"")
    m += f_int(3, start) + f_int(4, int(progress))
    if filters and packed:
        m += f_len(5, b"".join(varint(x) for x in filters))
    for x in filters if not packed else ():
        m += varint(5 << 3) + varint(x)
    m += f_int(6, int(prev_kv)) + f_int(7, watch_id) + f_int(8, int(fragment))
    return f_len(1, m)


def cancel(watch_id):
    return f_len(2, f_int(1, watch_id))


PROGRESS = f_len(3, b"")


def show(raw):
    r = rpc.WatchResponse.FromString(raw)
    r.header.cluster_id = r.header.member_id = r.header.raft_term = 0
    s = " ".join(str(r).split())
    if top_fields(raw).get(7):  # etcd3's WatchResponse has no field 7, fragment
        s += " fragment: true"
    return s


def top_fields(raw):
    """The varint fields at the top level of a message: {number: value}."""
    out, i = {}, 0

    def vint():
        nonlocal i
        v = shift = 0
        while True:
            b = raw[i]
            i += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return v
    while i < len(raw):
        tag = vint()
        if tag & 7 == 0:
            out[tag >> 3] = vint()
        elif tag & 7 == 2:
            n = vint()
            i += n
        elif tag & 7 == 1:
            i += 8
        else:
            i += 4
    return out


def brief(line):
    """A large response in short: its fields, and each event as key, value length,
    revision and whether prev_kv came."""
    head = line.split(" events {")[0]
    evs = []
    for e in line.split(" events {")[1:]:
        key = e.split('key: "')[1].split('"')[0]
        size = len(e.split('value: "')[1].split('"')[0]) if 'value: "' in e else 0
        mod = e.split("mod_revision: ")[1].split(" ")[0]
        evs.append("%s:%d@%s%s" % (key, size, mod, "+prev" if "prev_kv" in e else ""))
    frag = " fragment: true" if line.endswith("fragment: true") else ""
    return head + (" events [" + " ".join(evs) + "]" if evs else "") + frag


class Stream:
    def __init__(self, channel):
        self.requests = queue.Queue()
        self.responses = queue.Queue()
        call = channel.stream_stream("/etcdserverpb.Watch/Watch",
                                     request_serializer=lambda b: b,
                                     response_deserializer=lambda b: b)
        self.it = call(self._requests(), metadata=[("hasleader", "true")])
        threading.Thread(target=self._read, daemon=True).start()

    def _requests(self):
        while True:
            r = self.requests.get()
            if r is None:
                return
            yield r

    def _read(self):
        try:
            for m in self.it:
                self.responses.put(m)
        except grpc.RpcError as e:
            self.responses.put(e)

    def send(self, req):
        self.requests.put(req)

    def expect(self, n):
        got = []
        deadline = time.time() + TIMEOUT
        while len(got) < n:
            try:
                m = self.responses.get(timeout=max(0.1, deadline - time.time()))
            except queue.Empty:
                fail("waited for %d responses, got %d: %s" % (n, len(got),
                                                                [brief(g)[:300] for g in got]))
            if isinstance(m, Exception):
                fail("stream error: %s" % m)
            got.append(show(m))
        return got

    def events(self, n):
        """Responses until they have held n events: the events, one a line."""
        out = []
        while len(out) < n:
            line = brief(self.expect(1)[0]).replace(" fragment: true", "")
            if " events [" not in line:
                fail("expected events, got " + line)
            out += line.split(" events [")[1].rstrip("]").split(" ")
        return out

    # A progress request answers after every response queued before it (cabind), so
    # whatever else comes before it shows up here.
    def barrier(self):
        self.send(PROGRESS)
        out = []
        while True:
            r = self.expect(1)[0]
            if r.endswith("watch_id: -1"):
                return out
            out.append(r)


KV = None


def put(key, value):
    return KV.Put(rpc.PutRequest(key=key, value=value)).header.revision


def delete(key, end=b""):
    return KV.DeleteRange(rpc.DeleteRangeRequest(key=key, range_end=end)).header.revision


def txn(*ops):
    return KV.Txn(rpc.TxnRequest(success=list(ops))).header.revision


def op_put(key, value):
    return rpc.RequestOp(request_put=rpc.PutRequest(key=key, value=value))


def op_del(key):
    return rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=key))


def rev():
    return KV.Range(rpc.RangeRequest(key=b"\0")).header.revision


def step(title, lines, sort=False):
    print("-- " + title, flush=True)
    for line in sorted(lines) if sort else lines:
        print(line, flush=True)


def raw(endpoint):
    global KV
    ch = grpc.insecure_channel(endpoint, options=[("grpc.max_receive_message_length", 64 << 20)])
    KV = rpc_pb2_grpc.KVStub(ch)
    s = Stream(ch)
    r0 = rev()
    print("start at revision", r0)

    s.send(create(key=b"r/a"))
    step("key r/a: automatic id 0", s.expect(1))
    s.send(create(key=b"r/", range_end=b"r0", prev_kv=True))
    step("prefix r/ with prev_kv: id 1", s.expect(1))
    s.send(create(key=b"r/", range_end=b"r0", watch_id=7, filters=[0]))
    step("client id 7, NOPUT (packed)", s.expect(1))
    s.send(create(key=b"r/", range_end=b"r0", watch_id=7))
    step("id 7 again: refused", s.expect(1))
    s.send(create(key=b"r/z", range_end=b"r/a"))
    step("range_end before key: refused", s.expect(1))
    s.send(create(key=b"r/b", watch_id=-5, filters=[1], packed=False))
    step("client id -5, NODELETE (unpacked)", s.expect(1))
    s.send(create(key=b"", range_end=b"\0"))
    step("every key: id 2", s.expect(1))
    s.send(create(key=b"r/b", range_end=b"\0"))
    step("from key r/b: id 3", s.expect(1))

    put(b"r/a", b"1")
    step("put r/a", s.expect(3), sort=True)
    txn(op_put(b"r/b", b"2"), op_del(b"r/a"), op_put(b"s", b"3"))
    step("txn: put r/b, delete r/a, put s (one response per watcher)", s.expect(6), sort=True)
    delete(b"r/", b"r0")
    step("delete r/ prefix", s.expect(4), sort=True)

    s.send(PROGRESS)
    step("progress request", s.expect(1))
    s.send(cancel(1))
    step("cancel 1", s.expect(1))
    s.send(cancel(99))
    s.send(PROGRESS)
    step("cancel 99 (unknown: no answer), then progress", s.expect(1))
    s.send(create(key=b"r/c"))
    step("next automatic id: 4", s.expect(1))

    # catch-up: a start in the past replays, in one response per watcher
    s.send(create(key=b"r/", range_end=b"r0", start=r0 + 1, prev_kv=True))
    step("prefix r/ from the first write, prev_kv", s.expect(2))
    s.send(create(key=b"", range_end=b"\0", start=r0 + 2, filters=[1]))
    step("every key from the txn on, NODELETE", s.expect(2))
    s.send(create(key=b"r/a", start=r0 + 2))
    step("r/a from the txn on", s.expect(2))
    cur = rev()
    s.send(create(key=b"r/c", start=cur + 3))
    step("r/c from two revisions ahead", s.expect(1))
    for v in (b"1", b"2", b"3"):
        put(b"r/c", v)
    step("r/c written 3 times", s.expect(16), sort=True)

    # compaction
    KV.Compact(rpc.CompactionRequest(revision=rev() - 1))
    s.send(create(key=b"r/c", start=r0 + 1, watch_id=50))
    step("start below the compaction: created, then canceled", s.expect(2))
    s.send(create(key=b"r/c", start=-3))
    step("negative start: compacted too", s.expect(2))
    s.send(create(key=b"r/c", watch_id=50))
    step("the compacted watcher's id is still taken", s.expect(1))
    s.send(cancel(50))
    step("cancel the compacted watcher", s.expect(1))
    s.send(create(key=b"r/c", start=rev() - 1))
    step("start at the compacted revision", s.expect(2))

    step("nothing else queued", s.barrier())
    # half-close: the stream stays, events still come
    s.send(None)
    put(b"r/b", b"after")
    step("after half-close", s.expect(5), sort=True)

    # fragments, on a stream of their own: etcd cuts responses of 2 MiB and more for
    # watchers that ask (and only between events)
    f = Stream(ch)
    for i in range(4):
        put(b"f/%d" % i, b"x" * 600000)
    start = rev() - 3
    # etcd sends a catch-up 1000 revisions at a time (here one response of 2.4 MB, cut into
    # fragments when asked); cabind also ends one at the first revision past 1 MiB: compare
    # the events only
    f.send(create(key=b"f/", range_end=b"f0", start=start, fragment=True, watch_id=100))
    step("catch-up of 2.4 MB, fragment", [brief(m) for m in f.expect(1)] + f.events(4))
    f.send(create(key=b"f/", range_end=b"f0", start=start))
    step("catch-up of 2.4 MB, no fragment", [brief(m) for m in f.expect(1)] + f.events(4))
    f.send(create(key=b"f/", range_end=b"f0", fragment=True, prev_kv=True, watch_id=101))
    f.send(create(key=b"f/", range_end=b"f0", prev_kv=True))
    step("live, prev_kv, with and without fragment", [brief(m) for m in f.expect(2)])
    txn(op_put(b"f/0", b"y" * 700000), op_put(b"f/1", b"y" * 700000))
    step("txn of 2 x 700 KB with prev_kv: 2.8 MB", [brief(m) for m in f.expect(5)], sort=True)
    step("nothing else queued", [brief(m) for m in f.barrier()])


def client(endpoint):
    global KV
    host, port = endpoint.rsplit(":", 1)
    c = etcd3.client(host=host, port=int(port), timeout=TIMEOUT)
    KV = rpc_pb2_grpc.KVStub(grpc.insecure_channel(endpoint))
    lock = threading.Lock()
    logs = {}

    def recorder(name):
        logs[name] = []

        def cb(resp):
            with lock:
                if isinstance(resp, Exception):
                    logs[name].append("%s error %s %s" % (name, type(resp).__name__,
                                                          getattr(resp, "compacted_revision", "")))
                    return
                if not resp.events:
                    logs[name].append("%s progress revision %d" % (name, resp.header.revision))
                evs = ["%s %s=%s@%d%s" % (type(e).__name__, e.key.decode(), e.value.decode(),
                                          e.mod_revision,
                                          " prev=" + e.prev_value.decode()
                                          if getattr(e, "prev_value", None) else "")
                       for e in resp.events]
                if evs:
                    logs[name].append("%s [%s]" % (name, ", ".join(evs)))
        return cb

    def wait(name, n):
        deadline = time.time() + TIMEOUT
        while True:
            with lock:
                if len(logs[name]) >= n:
                    return
            if time.time() > deadline:
                fail("%s: waited for %d, got %s" % (name, n, logs[name]))
            time.sleep(0.02)

    def dump(title, *names):
        print("-- " + title)
        with lock:
            for name in names:
                for line in logs[name]:
                    print(line)
                logs[name] = []
        sys.stdout.flush()

    print("start at revision", rev())
    a = c.add_watch_callback("py/k", recorder("key"))
    c.add_watch_prefix_callback("py/", recorder("prefix"), prev_kv=True)
    c.put("py/k", "1")
    c.put("py/j", "2")
    c.put("py/k", "3")
    c.delete("py/k")
    c.transaction(compare=[], success=[c.transactions.put("py/t1", "a"),
                                       c.transactions.put("py/t2", "b")], failure=[])
    wait("key", 3)
    wait("prefix", 5)
    dump("watch py/k and watch_prefix py/ with prev_kv", "key", "prefix")

    c.cancel_watch(a)
    # a create on the same stream is answered after the cancel was done
    c.add_watch_callback("py/k", recorder("after"))
    c.put("py/k", "4")
    wait("after", 1)
    wait("prefix", 1)
    dump("cancel: only the new watcher and the prefix one see py/k=4", "key", "after", "prefix")

    events, cancel = c.watch_prefix("py/", start_revision=rev() - 3)
    got = [next(events) for _ in range(4)]
    cancel()
    print("-- watch_prefix iterator from 3 revisions back")
    for e in got:
        print(type(e).__name__, e.key.decode(), e.value.decode(), e.mod_revision, e.version)

    # (etcd3's filters argument fails with this protobuf release: the raw part has them)
    cur = rev()
    c.compact(cur)
    c.add_watch_callback("py/k", recorder("compacted"), start_revision=2)
    wait("compacted", 1)
    dump("start revision 2 after compaction at %d" % cur, "compacted")
    events, cancel = c.watch("py/k", start_revision=3)
    try:
        next(events)
        print("no error")
    except etcd3.exceptions.RevisionCompactedError as e:
        print("iterator: RevisionCompactedError", e.compacted_revision)
    cancel()

    c.add_watch_callback("py/p", recorder("progress"), progress_notify=True)
    wait("progress", 1)
    del logs["progress"][1:]  # one is enough: the interval is short
    dump("progress_notify (no events): a notification at the current revision", "progress")


if __name__ == "__main__":
    {"raw": raw, "client": client}[sys.argv[2]](sys.argv[1])
    sys.stdout.flush()
    import os
    os._exit(0)  # the watch threads block in grpc
