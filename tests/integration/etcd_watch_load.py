"""Many watchers at once, for tests/integration/etcd_watch_load.sh.

  etcd_watch_load.py ENDPOINT [WATCHERS]

WATCHERS (default 1000) watchers over 8 streams on 4 connections: single keys, a prefix,
from a key, every key with prev_kv; a quarter start in the past. Then a stream of 20
prefix watchers that stops reading while about 30 MB of events go by. Every watcher must
get every event of its range exactly once, in revision order, with the events of one
revision together in one response, prev_kv right; the slow stream must have been caught
up from history (responses holding more than one revision). Prints one summary line."""
import queue
import sys
import threading
import time

import grpc

import etcd3.etcdrpc as rpc
from etcd3.etcdrpc import rpc_pb2_grpc
from grpcwire import fail, f_len, varint

TIMEOUT = 120


def create(key, range_end=b"", start=0, prev_kv=False):
    m = f_len(1, key) + (f_len(2, range_end) if range_end else b"")
    if start:
        m += varint(3 << 3) + varint(start)
    if prev_kv:
        m += varint(6 << 3) + varint(1)
    return f_len(1, m)


class Stream:
    def __init__(self, channel, specs):
        self.specs = specs  # per create request: (key, range_end, start, prev_kv)
        self.ids = []       # watch id of each spec, in order
        self.got = {}       # watch id -> [(rev, type, key, value, prev or None)]
        self.responses = {}  # watch id -> number of responses with events
        self.multi = 0       # responses holding more than one revision
        self.split = []      # revisions whose events came in two responses
        self.reading = threading.Event()
        self.reading.set()
        self.requests = queue.Queue()
        self.created = threading.Semaphore(0)
        self.error = None
        call = channel.stream_stream("/etcdserverpb.Watch/Watch",
                                     request_serializer=lambda b: b,
                                     response_deserializer=rpc.WatchResponse.FromString)
        self.it = call(self._requests())
        threading.Thread(target=self._read, daemon=True).start()
        for key, end, start, prev in specs:
            self.requests.put(create(key, end, start, prev))

    def _requests(self):
        while True:
            r = self.requests.get()
            if r is None:
                return
            yield r

    def _read(self):
        last = {}
        try:
            for r in self.it:
                self.reading.wait()
                if r.created:
                    if r.canceled:
                        self.error = "create refused: %s" % r
                    self.ids.append(r.watch_id)
                    self.got[r.watch_id] = []
                    self.responses[r.watch_id] = 0
                    self.created.release()
                    continue
                if r.canceled or not r.events:
                    self.error = "unexpected response: %s" % r
                    continue
                evs = self.got[r.watch_id]
                revs = sorted({e.kv.mod_revision for e in r.events})
                if len(revs) > 1:
                    self.multi += 1
                if last.get(r.watch_id) == revs[0]:
                    self.split.append((r.watch_id, revs[0]))
                last[r.watch_id] = revs[-1]
                self.responses[r.watch_id] += 1
                for e in r.events:
                    evs.append((e.kv.mod_revision, e.type, e.kv.key, e.kv.value,
                                e.prev_kv.value if e.HasField("prev_kv") else None))
        except grpc.RpcError as e:
            self.error = "stream ended: %s" % e

    def wait_created(self):
        for _ in self.specs:
            if not self.created.acquire(timeout=TIMEOUT):
                fail("watchers not created: %d of %d" % (len(self.ids), len(self.specs)))
        if self.error:
            fail(self.error)

    def count(self):
        return sum(len(v) for v in self.got.values())


def in_range(key, start, end):
    if not end:
        return key == start
    if end == b"\0":
        return key >= start
    return start <= key < end


def main():
    endpoint = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    chans = [grpc.insecure_channel(endpoint, options=[
        ("grpc.max_receive_message_length", 64 << 20)]) for _ in range(4)]
    kv = rpc_pb2_grpc.KVStub(chans[0])
    history = []  # (rev, type, key, value, prev value or None)
    state = {}

    def apply(rev, ops):
        for op, key, value in ops:
            if op == "put":
                history.append((rev, 0, key, value, state.get(key)))
                state[key] = value
            elif key in state:
                history.append((rev, 1, key, b"", state.pop(key)))

    def write(ops):
        reqs = [rpc.RequestOp(request_put=rpc.PutRequest(key=k, value=v)) if op == "put" else
                rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=k))
                for op, k, v in ops]
        rev = kv.Txn(rpc.TxnRequest(success=reqs)).header.revision
        apply(rev, ops)
        return rev

    def ops_for(i, size=0):
        k = b"ld/k%d" % (i % 10)
        v = (b"v%d-" % i) + b"x" * size
        if i % 10 == 3:
            return [("put", k, v), ("put", b"ld/t%d" % (i % 3), v), ("put", b"other", v)]
        if i % 15 == 7:
            return [("del", k, b"")]
        return [("put", k, v)]

    for i in range(50):
        write(ops_for(i))
    past = history[0][0] + 10

    specs = []
    for i in range(n):
        kind = i % 4
        start = past if i % 4 == i // 4 % 4 else 0
        if kind == 0:
            specs.append((b"ld/k%d" % (i % 10), b"", start, False))
        elif kind == 1:
            specs.append((b"ld/", b"ld0", start, False))
        elif kind == 2:
            specs.append((b"ld/k5", b"\0", start, False))
        else:
            specs.append((b"\0", b"\0", start, True))
    per = (n + 7) // 8
    t0 = time.time()
    streams = [Stream(chans[j % 4], specs[j * per:(j + 1) * per]) for j in range(8)]
    for s in streams:
        s.wait_created()
    first_live = kv.Range(rpc.RangeRequest(key=b"x")).header.revision + 1
    t1 = time.time()

    for i in range(50, 250):
        write(ops_for(i))

    # a stream that stops reading while large events go by
    slow_specs = [(b"ld/", b"ld0", 0, i % 2 == 0) for i in range(20)]
    slow = Stream(chans[1], slow_specs)
    slow.wait_created()
    slow_from = kv.Range(rpc.RangeRequest(key=b"x")).header.revision + 1
    slow.reading.clear()
    for i in range(250, 450):
        write(ops_for(i, size=8000))
    end = write([("put", b"ld/zz-end", b".")])
    slow.reading.set()

    def expected(spec, live_from):
        key, rend, start, prev = spec
        lo = start if start else live_from
        return [(r, t, k, v, p if prev else None) for r, t, k, v, p in history
                if r >= lo and in_range(k, key, rend)]

    deadline = time.time() + TIMEOUT
    for s, live_from in [(x, first_live) for x in streams] + [(slow, slow_from)]:
        want = {wid: expected(spec, live_from) for wid, spec in zip(s.ids, s.specs)}
        total = sum(len(v) for v in want.values())
        while s.count() < total and time.time() < deadline and not s.error:
            time.sleep(0.05)
        if s.error:
            fail(s.error)
        for wid, spec in zip(s.ids, s.specs):
            got = s.got[wid]
            if got != want[wid]:
                bad = next((i for i, (a, b) in enumerate(zip(got, want[wid])) if a != b),
                           min(len(got), len(want[wid])))
                fail("watch %d %s: %d events, want %d; first difference at %d: got %s want %s"
                     % (wid, spec[:3], len(got), len(want[wid]), bad,
                        got[bad][:3] if bad < len(got) else None,
                        want[wid][bad][:3] if bad < len(want[wid]) else None))
        if s.split:
            fail("a revision's events came in two responses: %s" % s.split[:5])
    time.sleep(0.2)
    for s in streams + [slow]:
        for wid, evs in s.got.items():
            if evs and evs[-1][0] > end:
                fail("watch %d: events after the last revision" % wid)
    if slow.multi == 0:
        fail("the slow stream was never caught up from history")
    events = sum(s.count() for s in streams) + slow.count()
    print("ok: %d watchers on 8 streams created in %.1fs, %d revisions, %d events delivered "
          "exactly once in order; the slow stream (20 watchers) caught up in %d multi-revision "
          "responses" % (n, t1 - t0, end - history[0][0] + 1, events, slow.multi), flush=True)


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    import os
    os._exit(0)
