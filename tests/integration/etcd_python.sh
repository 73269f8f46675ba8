# python3-etcd3 (Debian's, a second client library over gRPC) against etcd 3.4 and
# cabind: the same KV script on both, outputs diffed after normalising member ids.
source tests/integration/lib.sh
command -v etcd >/dev/null || skip "etcd not installed (Debian etcd-server)"
/usr/bin/python3 -c 'import etcd3' 2>/dev/null || skip "python3-etcd3 not installed"

start_etcd_ref
start_cabind_kv

cat >"$TMP/kv.py" <<'PY'
import sys
import etcd3

c = etcd3.client(host="127.0.0.1", port=int(sys.argv[1]), timeout=10)

def show(what, v):
    print(what, v)

def kvs(it):
    return [(v, m.key, m.version, m.create_revision, m.mod_revision)
            for v, m in it]

c.put("/app/a", "1")
c.put("/app/b", "2")
c.put("/app/c", b"\x00\xffbinary")
c.put("/other", "x")
show("get a", c.get("/app/a")[0])
show("get missing", c.get("/app/none"))
show("prefix", kvs(c.get_prefix("/app/")))
show("prefix desc by key", kvs(c.get_prefix("/app/", sort_order="descend", sort_target="key")))
show("range", kvs(c.get_range("/app/a", "/app/c")))
show("all", kvs(c.get_all()))
show("replace ok", c.replace("/app/a", "1", "10"))
show("replace stale", c.replace("/app/a", "1", "11"))
ok, res = c.transaction(
    compare=[c.transactions.version("/app/b") > 0, c.transactions.value("/app/c") != "x"],
    success=[c.transactions.put("/app/t", "yes"), c.transactions.get("/app/t")],
    failure=[c.transactions.delete("/app/b")])
show("txn", (ok, [[(v, m.version) for v, m in r] if isinstance(r, list) else type(r).__name__ for r in res]))
ok, _ = c.transaction(compare=[c.transactions.create("/nope") > 0], success=[],
                      failure=[c.transactions.put("/created", "1")])
show("txn failure branch", (ok, c.get("/created")[0]))
show("delete", c.delete("/app/b"))
show("delete missing", c.delete("/app/b"))
show("delete prefix", c.delete_prefix("/app/").deleted)
show("left", kvs(c.get_all()))
st = c.status()
show("status", (st.version != "", st.leader is not None, st.db_size > 0))
show("members", len(list(c.members)))
PY
/usr/bin/python3 "$TMP/kv.py" "$P_ETCD" >"$TMP/etcd.txt" 2>&1 || { cat "$TMP/etcd.txt"; fail "the script fails against etcd"; }
/usr/bin/python3 "$TMP/kv.py" "$P_CABIN" >"$TMP/cabind.txt" 2>&1 || true
[[ -z ${KEEP_OUT:-} ]] || cp "$TMP/etcd.txt" "$TMP/cabind.txt" "$KEEP_OUT/"
diff -u "$TMP/etcd.txt" "$TMP/cabind.txt" || fail "python3-etcd3 sees cabind differently from etcd 3.4"
note "$(wc -l <"$TMP/etcd.txt") lines identical"
