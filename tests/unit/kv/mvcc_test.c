/* The MVCC store against etcd 3.4's rules: revisions, versions and generations, Range
 * (range_end forms, limit, sort, filters, count), Put and DeleteRange flags, Txn compares
 * and atomicity, events (compaction, history replay and HashKV: mvcc_hist_test.c). */
#include <errno.h>

#include "../testutil.h"
#include "mvcctest.h"

static struct mvcc_range_req rq(const char *key, const char *end)
{
	struct mvcc_range_req q = { .key = mvcct_b(key), .range_end = mvcct_b(end) };
	return q;
}

/* Range into res; returns rc. */
static int range(struct mvcc *s, const struct mvcc_range_req *q, struct mvcc_range_res *res)
{
	return mvcc_range(s, q, res);
}

/* The keys of a result joined by commas. */
static const char *keys(const struct mvcc_range_res *r)
{
	static char buf[1024];
	size_t o = 0;

	buf[0] = 0;
	for (size_t i = 0; i < r->n && o < sizeof(buf) - 64; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%.*s", i ? "," : "",
				      (int)r->kvs[i].key.len, (const char *)r->kvs[i].key.p);
	return buf;
}

static void test_empty_store(void)
{
	struct mvcc *s = mvcct_new();
	struct mvcc_range_req q = rq("\0", NULL);
	struct mvcc_range_res r;
	struct mvcc_stats st;
	uint8_t zero = 0;

	q.key = (struct mvcc_bytes){ &zero, 1 };
	q.range_end = (struct mvcc_bytes){ &zero, 1 };
	TU_EQ_INT(mvcc_rev(s), 1);
	TU_EQ_INT(mvcc_compacted(s), 0);
	TU_EQ_INT(range(s, &q, &r), 0);
	TU_EQ_INT(r.n, 0);
	TU_EQ_INT(r.count, 0);
	TU_EQ_INT(r.revision, 1);
	TU_CHECK(!r.more);
	mvcc_range_res_free(s, &r);
	mvcc_stats(s, &st);
	TU_EQ_INT(st.keys, 0);
	TU_EQ_INT(st.index_keys, 0);
	TU_EQ_INT(st.revisions, 0);
	TU_CHECK(st.bytes > 0);
	mvcc_free(s);
	TU_EQ_INT(mvcct_mem.outstanding, 0);
}

static void test_versions_and_generations(void)
{
	struct mvcc *s = mvcct_new();
	struct mvcc_kv kv;

	TU_EQ_INT(mvcct_put(s, "a", "1"), 0);
	TU_EQ_INT(mvcc_rev(s), 2);
	TU_EQ_INT(mvcct_get(s, "a", 0, &kv), 1);
	TU_EQ_INT(kv.create_revision, 2);
	TU_EQ_INT(kv.mod_revision, 2);
	TU_EQ_INT(kv.version, 1);
	TU_CHECK(mvcct_eq(kv.value, "1"));
	TU_EQ_INT(mvcct_put(s, "a", "2"), 0);
	TU_EQ_INT(mvcct_get(s, "a", 0, &kv), 1);
	TU_EQ_INT(kv.create_revision, 2);
	TU_EQ_INT(kv.mod_revision, 3);
	TU_EQ_INT(kv.version, 2);
	TU_EQ_INT(mvcct_del(s, "a", NULL), 1);
	TU_EQ_INT(mvcc_rev(s), 4);
	TU_EQ_INT(mvcct_get(s, "a", 0, &kv), 0);
	/* a new generation starts over */
	TU_EQ_INT(mvcct_put(s, "a", "3"), 0);
	TU_EQ_INT(mvcct_get(s, "a", 0, &kv), 1);
	TU_EQ_INT(kv.create_revision, 5);
	TU_EQ_INT(kv.mod_revision, 5);
	TU_EQ_INT(kv.version, 1);
	/* the past stays readable */
	TU_EQ_INT(mvcct_get(s, "a", 1, &kv), 0);
	TU_EQ_INT(mvcct_get(s, "a", 2, &kv), 1);
	TU_CHECK(mvcct_eq(kv.value, "1"));
	TU_EQ_INT(mvcct_get(s, "a", 3, &kv), 1);
	TU_EQ_INT(kv.version, 2);
	TU_CHECK(mvcct_eq(kv.value, "2"));
	TU_EQ_INT(mvcct_get(s, "a", 4, &kv), 0);
	/* deleting nothing changes nothing */
	TU_EQ_INT(mvcct_del(s, "zz", NULL), 0);
	TU_EQ_INT(mvcct_del(s, "a0", "a1"), 0);
	TU_EQ_INT(mvcc_rev(s), 5);
	mvcc_free(s);
}

static void test_binary_keys_and_empty_values(void)
{
	struct mvcc *s = mvcct_new();
	uint8_t k1[] = { 0, 0xff, 0 }, k2[] = { 0xff, 0xff }, v[] = { 0, 1, 0 };
	struct mvcc_put_req p = { .key = { k1, 3 }, .value = { v, 3 } };
	struct mvcc_put_req e = { .key = { k2, 2 } };
	struct mvcc_range_req q = { .key = { k1, 1 } };
	uint8_t zero = 0;
	struct mvcc_put_res pr;
	struct mvcc_range_res r;

	TU_EQ_INT(mvcc_put(s, &p, &pr), 0);
	TU_EQ_INT(pr.revision, 2);
	TU_EQ_INT(mvcc_put(s, &e, &pr), 0);
	q.range_end = (struct mvcc_bytes){ &zero, 1 };
	TU_EQ_INT(range(s, &q, &r), 0);
	TU_EQ_INT(r.n, 2);
	TU_EQ_INT(r.kvs[0].key.len, 3);
	TU_CHECK(memcmp(r.kvs[0].key.p, k1, 3) == 0);
	TU_EQ_INT(r.kvs[0].value.len, 3);
	TU_CHECK(memcmp(r.kvs[0].value.p, v, 3) == 0);
	TU_EQ_INT(r.kvs[1].value.len, 0);
	TU_EQ_INT(r.kvs[1].version, 1);
	mvcc_range_res_free(s, &r);
	mvcc_free(s);
}

static struct mvcc *abcd(void)
{
	struct mvcc *s = mvcct_new();
	const char *k[] = { "a", "b", "b/1", "b/2", "c", "d" };

	for (int i = 0; i < 6; i++)
		mvcct_put(s, k[i], k[i]);
	return s;
}

static void test_range_end_forms(void)
{
	struct mvcc *s = abcd();
	struct mvcc_range_res r;
	struct mvcc_range_req q;
	uint8_t zero = 0;

	q = rq("b", NULL);
	TU_EQ_INT(range(s, &q, &r), 0);
	TU_EQ_STR(keys(&r), "b");
	mvcc_range_res_free(s, &r);
	q = rq("b", "c");		/* a prefix */
	TU_EQ_INT(range(s, &q, &r), 0);
	TU_EQ_STR(keys(&r), "b,b/1,b/2");
	TU_EQ_INT(r.count, 3);
	mvcc_range_res_free(s, &r);
	q = rq("b/", "b0");
	TU_EQ_INT(range(s, &q, &r), 0);
	TU_EQ_STR(keys(&r), "b/1,b/2");
	mvcc_range_res_free(s, &r);
	q = rq("c", NULL);		/* from the key */
	q.range_end = (struct mvcc_bytes){ &zero, 1 };
	TU_EQ_INT(range(s, &q, &r), 0);
	TU_EQ_STR(keys(&r), "c,d");
	mvcc_range_res_free(s, &r);
	q.key = q.range_end;		/* "\0" to "\0": everything */
	TU_EQ_INT(range(s, &q, &r), 0);
	TU_EQ_STR(keys(&r), "a,b,b/1,b/2,c,d");
	mvcc_range_res_free(s, &r);
	q = rq("c", "b");		/* end before key: nothing */
	TU_EQ_INT(range(s, &q, &r), 0);
	TU_EQ_INT(r.n, 0);
	TU_EQ_INT(r.count, 0);
	mvcc_range_res_free(s, &r);
	q = rq("bb", NULL);
	TU_EQ_INT(range(s, &q, &r), 0);
	TU_EQ_INT(r.n, 0);
	mvcc_range_res_free(s, &r);
	q = rq(NULL, "z");
	TU_EQ_INT(range(s, &q, &r), MVCC_ENOKEY);
	TU_EQ_STR(mvcc_strerror(MVCC_ENOKEY), "etcdserver: key is not provided");
	mvcc_free(s);
}

/* etcd 3.4.23 answered these with k1..k4 put at 7..10 and k2 again at 11; here they are
 * at 2..5 and 6. */
static struct mvcc *k1234(void)
{
	struct mvcc *s = mvcct_new();

	mvcct_put(s, "k1", "vk1");
	mvcct_put(s, "k2", "vk2");
	mvcct_put(s, "k3", "vk3");
	mvcct_put(s, "k4", "vk4");
	mvcct_put(s, "k2", "again");
	return s;
}

static void test_range_limit_filters_sort(void)
{
	struct mvcc *s = k1234();
	struct mvcc_range_req q = rq("k", "l");
	struct mvcc_range_res r;

	q.limit = 2;
	TU_EQ_INT(range(s, &q, &r), 0);
	TU_EQ_STR(keys(&r), "k1,k2");
	TU_EQ_INT(r.count, 4);
	TU_CHECK(r.more);
	TU_EQ_INT(r.revision, 6);
	mvcc_range_res_free(s, &r);
	q.limit = 4;
	TU_EQ_INT(range(s, &q, &r), 0);
	TU_CHECK(!r.more);
	TU_EQ_INT(r.n, 4);
	mvcc_range_res_free(s, &r);
	q.limit = -5;			/* negative: no limit */
	TU_EQ_INT(range(s, &q, &r), 0);
	TU_EQ_INT(r.n, 4);
	mvcc_range_res_free(s, &r);

	/* filters drop kvs but count still counts them (as etcd) */
	q = rq("k", "l");
	q.min_mod_revision = 3;
	q.keys_only = true;
	TU_EQ_INT(range(s, &q, &r), 0);
	TU_EQ_STR(keys(&r), "k2,k3,k4");
	TU_EQ_INT(r.count, 4);
	TU_CHECK(!r.more);
	TU_EQ_INT(r.kvs[0].value.len, 0);
	TU_CHECK(r.kvs[0].value.p == NULL);
	TU_EQ_INT(r.kvs[0].mod_revision, 6);
	mvcc_range_res_free(s, &r);
	q.limit = 1;
	TU_EQ_INT(range(s, &q, &r), 0);
	TU_EQ_STR(keys(&r), "k2");
	TU_CHECK(r.more);
	TU_EQ_INT(r.count, 4);
	mvcc_range_res_free(s, &r);
	q = rq("k", "l");
	q.max_mod_revision = 4;
	q.min_create_revision = 3;
	TU_EQ_INT(range(s, &q, &r), 0);
	TU_EQ_STR(keys(&r), "k3");
	mvcc_range_res_free(s, &r);
	q = rq("k", "l");
	q.max_create_revision = 3;
	TU_EQ_INT(range(s, &q, &r), 0);
	TU_EQ_STR(keys(&r), "k1,k2");
	TU_CHECK(mvcct_eq(r.kvs[1].value, "again"));
	mvcc_range_res_free(s, &r);

	/* count_only: the count and nothing else */
	q = rq("k", "l");
	q.count_only = true;
	q.limit = 2;
	TU_EQ_INT(range(s, &q, &r), 0);
	TU_EQ_INT(r.n, 0);
	TU_EQ_INT(r.count, 4);
	TU_CHECK(!r.more);
	TU_CHECK(r.kvs == NULL);
	mvcc_range_res_free(s, &r);

	/* a target other than KEY sorts ascending by default; ties stay in key order */
	q = rq("k", "l");
	q.sort_target = MVCC_SORT_VERSION;
	q.limit = 2;
	TU_EQ_INT(range(s, &q, &r), 0);
	TU_EQ_STR(keys(&r), "k1,k3");
	TU_CHECK(r.more);
	mvcc_range_res_free(s, &r);
	q.sort_order = MVCC_SORT_DESCEND;
	q.limit = 3;
	TU_EQ_INT(range(s, &q, &r), 0);
	TU_EQ_STR(keys(&r), "k2,k1,k3");
	TU_CHECK(r.more);
	mvcc_range_res_free(s, &r);
	q = rq("k", "l");
	q.sort_order = MVCC_SORT_DESCEND;	/* by key, then the limit */
	q.limit = 2;
	TU_EQ_INT(range(s, &q, &r), 0);
	TU_EQ_STR(keys(&r), "k4,k3");
	TU_CHECK(r.more);
	TU_EQ_INT(r.count, 4);
	mvcc_range_res_free(s, &r);
	q = rq("k", "l");
	q.sort_order = MVCC_SORT_ASCEND;
	q.sort_target = MVCC_SORT_VALUE;
	q.keys_only = true;		/* sorts by value, then drops it */
	TU_EQ_INT(range(s, &q, &r), 0);
	TU_EQ_STR(keys(&r), "k2,k1,k3,k4");
	TU_EQ_INT(r.kvs[0].value.len, 0);
	mvcc_range_res_free(s, &r);
	q = rq("k", "l");
	q.sort_order = MVCC_SORT_DESCEND;
	q.sort_target = MVCC_SORT_MOD;
	TU_EQ_INT(range(s, &q, &r), 0);
	TU_EQ_STR(keys(&r), "k2,k4,k3,k1");
	mvcc_range_res_free(s, &r);
	q.sort_target = MVCC_SORT_CREATE;
	TU_EQ_INT(range(s, &q, &r), 0);
	TU_EQ_STR(keys(&r), "k4,k3,k2,k1");
	mvcc_range_res_free(s, &r);
	q.sort_order = MVCC_SORT_NONE;	/* NONE with CREATE means ASCEND */
	TU_EQ_INT(range(s, &q, &r), 0);
	TU_EQ_STR(keys(&r), "k1,k2,k3,k4");
	mvcc_range_res_free(s, &r);
	q.sort_order = (enum mvcc_sort_order)3;
	TU_EQ_INT(range(s, &q, &r), MVCC_ESORT);
	q.sort_order = MVCC_SORT_NONE;
	q.sort_target = (enum mvcc_sort_target)5;
	TU_EQ_INT(range(s, &q, &r), MVCC_ESORT);
	TU_EQ_STR(mvcc_strerror(MVCC_ESORT), "etcdserver: invalid sort option");
	mvcc_free(s);
}

static void test_range_revisions(void)
{
	struct mvcc *s = k1234();
	struct mvcc_range_req q = rq("k2", NULL);
	struct mvcc_range_res r;

	q.revision = 7;
	TU_EQ_INT(range(s, &q, &r), MVCC_EFUTURE);
	TU_EQ_STR(mvcc_strerror(MVCC_EFUTURE),
		  "etcdserver: mvcc: required revision is a future revision");
	TU_EQ_INT(r.n, 0);
	q.revision = 3;
	TU_EQ_INT(range(s, &q, &r), 0);
	TU_CHECK(mvcct_eq(r.kvs[0].value, "vk2"));
	TU_EQ_INT(r.revision, 6);	/* the header carries the current revision */
	mvcc_range_res_free(s, &r);
	q.revision = -1;		/* negative: current */
	TU_EQ_INT(range(s, &q, &r), 0);
	TU_CHECK(mvcct_eq(r.kvs[0].value, "again"));
	mvcc_range_res_free(s, &r);
	TU_EQ_INT(mvcc_compact(s, 4), 0);
	q.revision = 3;
	TU_EQ_INT(range(s, &q, &r), MVCC_ECOMPACTED);
	TU_EQ_STR(mvcc_strerror(MVCC_ECOMPACTED),
		  "etcdserver: mvcc: required revision has been compacted");
	q.revision = 4;			/* the compacted revision itself is still readable */
	TU_EQ_INT(range(s, &q, &r), 0);
	TU_CHECK(mvcct_eq(r.kvs[0].value, "vk2"));
	mvcc_range_res_free(s, &r);
	q.revision = 0;
	TU_EQ_INT(range(s, &q, &r), 0);
	TU_CHECK(mvcct_eq(r.kvs[0].value, "again"));
	mvcc_range_res_free(s, &r);
	mvcc_free(s);
}

static void test_put_flags(void)
{
	struct mvcc *s = mvcct_new();
	struct mvcc_put_req p = { .key = mvcct_b("k"), .value = mvcct_b("v1"), .lease = 7 };
	struct mvcc_put_res r;
	struct mvcc_kv kv;

	p.prev_kv = true;
	TU_EQ_INT(mvcc_put(s, &p, &r), 0);
	TU_CHECK(!r.has_prev);		/* nothing before */
	TU_EQ_INT(r.revision, 2);
	p.value = mvcct_b("v2");
	TU_EQ_INT(mvcc_put(s, &p, &r), 0);
	TU_CHECK(r.has_prev);
	TU_CHECK(mvcct_eq(r.prev.value, "v1"));
	TU_EQ_INT(r.prev.mod_revision, 2);
	TU_EQ_INT(r.prev.lease, 7);
	TU_EQ_INT(r.prev.version, 1);

	/* ignore_value keeps the value, takes the new lease */
	p = (struct mvcc_put_req){ .key = mvcct_b("k"), .lease = 9, .ignore_value = true };
	TU_EQ_INT(mvcc_put(s, &p, &r), 0);
	TU_EQ_INT(mvcct_get(s, "k", 0, &kv), 1);
	TU_CHECK(mvcct_eq(kv.value, "v2"));
	TU_EQ_INT(kv.lease, 9);
	TU_EQ_INT(kv.version, 3);
	/* ignore_lease keeps the lease, takes the new value */
	p = (struct mvcc_put_req){ .key = mvcct_b("k"), .value = mvcct_b("v3"), .ignore_lease = true };
	TU_EQ_INT(mvcc_put(s, &p, &r), 0);
	TU_EQ_INT(mvcct_get(s, "k", 0, &kv), 1);
	TU_CHECK(mvcct_eq(kv.value, "v3"));
	TU_EQ_INT(kv.lease, 9);
	/* a plain put with no lease drops the lease */
	TU_EQ_INT(mvcct_put(s, "k", "v4"), 0);
	TU_EQ_INT(mvcct_get(s, "k", 0, &kv), 1);
	TU_EQ_INT(kv.lease, 0);
	TU_EQ_INT(mvcc_rev(s), 6);

	/* the errors, and nothing moves */
	p = (struct mvcc_put_req){ .key = mvcct_b("k"), .value = mvcct_b("x"), .ignore_value = true };
	TU_EQ_INT(mvcc_put(s, &p, &r), MVCC_EVALUE);
	TU_EQ_STR(mvcc_strerror(MVCC_EVALUE), "etcdserver: value is provided");
	p = (struct mvcc_put_req){ .key = mvcct_b("k"), .lease = 1, .ignore_lease = true };
	TU_EQ_INT(mvcc_put(s, &p, &r), MVCC_ELEASE);
	TU_EQ_STR(mvcc_strerror(MVCC_ELEASE), "etcdserver: lease is provided");
	p = (struct mvcc_put_req){ .key = mvcct_b("nope"), .ignore_value = true };
	TU_EQ_INT(mvcc_put(s, &p, &r), MVCC_ENOTFOUND);
	TU_EQ_STR(mvcc_strerror(MVCC_ENOTFOUND), "etcdserver: key not found");
	p = (struct mvcc_put_req){ .key = mvcct_b("nope"), .value = mvcct_b("v"), .ignore_lease = true };
	TU_EQ_INT(mvcc_put(s, &p, &r), MVCC_ENOTFOUND);
	TU_EQ_INT(mvcct_del(s, "k", NULL), 1);	/* a deleted key is missing too */
	p = (struct mvcc_put_req){ .key = mvcct_b("k"), .ignore_value = true };
	TU_EQ_INT(mvcc_put(s, &p, &r), MVCC_ENOTFOUND);
	p = (struct mvcc_put_req){ .value = mvcct_b("v") };
	TU_EQ_INT(mvcc_put(s, &p, &r), MVCC_ENOKEY);
	TU_EQ_INT(mvcc_rev(s), 7);
	TU_EQ_INT(mvcct_get(s, "nope", 0, &kv), 0);
	TU_EQ_STR(mvcc_strerror(-ENOMEM), "mvcc: out of memory");
	TU_EQ_STR(mvcc_strerror(-1), "unknown error");
	mvcc_free(s);
}

static void test_delete_range(void)
{
	struct mvcc *s = abcd();
	struct mvcc_delete_req d = { .key = mvcct_b("b"), .range_end = mvcct_b("c"), .prev_kv = true };
	struct mvcc_delete_res r;
	struct mvcc_stats st;
	uint8_t zero = 0;

	TU_EQ_INT(mvcc_delete(s, &d, &r), 0);
	TU_EQ_INT(r.deleted, 3);
	TU_EQ_INT(r.n_prev, 3);
	TU_EQ_INT(r.revision, 8);
	TU_CHECK(mvcct_eq(r.prev_kvs[0].key, "b"));
	TU_CHECK(mvcct_eq(r.prev_kvs[2].key, "b/2"));
	TU_CHECK(mvcct_eq(r.prev_kvs[2].value, "b/2"));
	TU_EQ_INT(r.prev_kvs[2].mod_revision, 5);
	mvcc_delete_res_free(s, &r);
	TU_EQ_INT(mvcc_rev(s), 8);
	mvcc_stats(s, &st);
	TU_EQ_INT(st.keys, 3);
	TU_EQ_INT(st.index_keys, 6);
	TU_EQ_INT(st.revisions, 9);
	/* again: nothing left there, nothing changes */
	TU_EQ_INT(mvcc_delete(s, &d, &r), 0);
	TU_EQ_INT(r.deleted, 0);
	TU_EQ_INT(r.n_prev, 0);
	TU_EQ_INT(r.revision, 8);
	TU_EQ_INT(mvcc_rev(s), 8);
	/* without prev_kv, and from a key on */
	d = (struct mvcc_delete_req){ .key = mvcct_b("c"), .range_end = { &zero, 1 } };
	TU_EQ_INT(mvcc_delete(s, &d, &r), 0);
	TU_EQ_INT(r.deleted, 2);
	TU_CHECK(r.prev_kvs == NULL);
	TU_EQ_INT(mvcc_rev(s), 9);
	TU_CHECK(mvcct_val(s, "a") != NULL);
	TU_CHECK(mvcct_val(s, "d") == NULL);
	d = (struct mvcc_delete_req){ 0 };
	TU_EQ_INT(mvcc_delete(s, &d, &r), MVCC_ENOKEY);
	mvcc_free(s);
}

static struct mvcc_compare cmpv(const char *key, enum mvcc_cmp_target t, enum mvcc_cmp_result res,
				int64_t number, const char *value)
{
	struct mvcc_compare c = { .result = res, .target = t, .key = mvcct_b(key),
				  .number = number, .value = mvcct_b(value) };
	return c;
}

static void test_compares(void)
{
	struct mvcc *s = mvcct_new();
	struct mvcc_compare c;

	mvcct_put_lease(s, "a", "va", 5);	/* rev 2 */
	mvcct_put(s, "a", "vb");		/* rev 3: version 2, lease 0 */
	mvcct_put_lease(s, "b", "vb", 8);	/* rev 4 */
	TU_EQ_INT(mvcc_txn_begin(s), 0);
	c = cmpv("a", MVCC_TARGET_VERSION, MVCC_CMP_EQUAL, 2, NULL);
	TU_CHECK(mvcc_txn_compare(s, &c));
	c.result = MVCC_CMP_GREATER;
	TU_CHECK(!mvcc_txn_compare(s, &c));
	c.number = 1;
	TU_CHECK(mvcc_txn_compare(s, &c));
	c.result = MVCC_CMP_LESS;
	TU_CHECK(!mvcc_txn_compare(s, &c));
	c.result = MVCC_CMP_NOT_EQUAL;
	TU_CHECK(mvcc_txn_compare(s, &c));
	c = cmpv("a", MVCC_TARGET_CREATE, MVCC_CMP_EQUAL, 2, NULL);
	TU_CHECK(mvcc_txn_compare(s, &c));
	c = cmpv("a", MVCC_TARGET_MOD, MVCC_CMP_EQUAL, 3, NULL);
	TU_CHECK(mvcc_txn_compare(s, &c));
	c = cmpv("a", MVCC_TARGET_LEASE, MVCC_CMP_EQUAL, 0, NULL);
	TU_CHECK(mvcc_txn_compare(s, &c));
	c = cmpv("b", MVCC_TARGET_LEASE, MVCC_CMP_EQUAL, 8, NULL);
	TU_CHECK(mvcc_txn_compare(s, &c));
	c = cmpv("a", MVCC_TARGET_VALUE, MVCC_CMP_EQUAL, 0, "vb");
	TU_CHECK(mvcc_txn_compare(s, &c));
	c = cmpv("a", MVCC_TARGET_VALUE, MVCC_CMP_GREATER, 0, "va");
	TU_CHECK(mvcc_txn_compare(s, &c));
	c = cmpv("a", MVCC_TARGET_VALUE, MVCC_CMP_LESS, 0, "vb0");
	TU_CHECK(mvcc_txn_compare(s, &c));
	/* a missing key is version/create/mod/lease 0 and fails every value compare */
	c = cmpv("zz", MVCC_TARGET_VERSION, MVCC_CMP_EQUAL, 0, NULL);
	TU_CHECK(mvcc_txn_compare(s, &c));
	c = cmpv("zz", MVCC_TARGET_CREATE, MVCC_CMP_EQUAL, 0, NULL);
	TU_CHECK(mvcc_txn_compare(s, &c));
	c = cmpv("zz", MVCC_TARGET_MOD, MVCC_CMP_LESS, 1, NULL);
	TU_CHECK(mvcc_txn_compare(s, &c));
	c = cmpv("zz", MVCC_TARGET_VALUE, MVCC_CMP_EQUAL, 0, NULL);
	TU_CHECK(!mvcc_txn_compare(s, &c));
	c.result = MVCC_CMP_NOT_EQUAL;
	TU_CHECK(!mvcc_txn_compare(s, &c));
	/* over a range: every key must pass */
	c = cmpv("a", MVCC_TARGET_MOD, MVCC_CMP_GREATER, 2, NULL);
	c.range_end = mvcct_b("c");
	TU_CHECK(mvcc_txn_compare(s, &c));
	c.number = 3;
	TU_CHECK(!mvcc_txn_compare(s, &c));
	c = cmpv("x", MVCC_TARGET_VERSION, MVCC_CMP_EQUAL, 0, NULL);
	c.range_end = mvcct_b("y");	/* an empty range compares like a missing key */
	TU_CHECK(mvcc_txn_compare(s, &c));
	c.target = MVCC_TARGET_VALUE;
	TU_CHECK(!mvcc_txn_compare(s, &c));
	c = cmpv("a", MVCC_TARGET_VERSION, (enum mvcc_cmp_result)9, 100, NULL);
	TU_CHECK(mvcc_txn_compare(s, &c));	/* an unknown result passes, as in etcd */
	TU_EQ_INT(mvcc_txn_end(s), 4);
	TU_EQ_INT(mvcc_rev(s), 4);
	mvcc_free(s);
}

static void test_txn_reads_own_writes(void)
{
	struct mvcc *s = mvcct_new();
	struct mvcct_evlog ev = { .n = 0 };
	struct mvcc_put_req p = { .key = mvcct_b("a"), .value = mvcct_b("1") };
	struct mvcc_delete_req d = { .key = mvcct_b("b"), .prev_kv = true };
	struct mvcc_range_req q = rq("a", "z");
	struct mvcc_compare c = cmpv("a", MVCC_TARGET_VERSION, MVCC_CMP_EQUAL, 1, NULL);
	struct mvcc_put_res pr;
	struct mvcc_delete_res dr;
	struct mvcc_range_res r;

	mvcct_put(s, "b", "old");	/* rev 2 */
	mvcc_set_observer(s, mvcct_record, &ev);
	TU_EQ_INT(mvcc_txn_begin(s), 0);
	TU_EQ_INT(mvcc_txn_begin(s), MVCC_ETXN);
	TU_EQ_INT(mvcc_txn_range(s, &q, &r), 0);	/* before writing: revision 2 */
	TU_EQ_INT(r.revision, 2);
	TU_EQ_STR(keys(&r), "b");
	mvcc_range_res_free(s, &r);
	TU_EQ_INT(mvcc_txn_put(s, &p, &pr), 0);
	TU_EQ_INT(pr.revision, 3);
	TU_EQ_INT(mvcc_txn_range(s, &q, &r), 0);
	TU_EQ_STR(keys(&r), "a,b");
	TU_EQ_INT(r.revision, 3);
	TU_EQ_INT(r.kvs[0].mod_revision, 3);
	mvcc_range_res_free(s, &r);
	TU_CHECK(mvcc_txn_compare(s, &c));	/* compares see the writes too */
	q.revision = 3;				/* the pending revision may be named */
	TU_EQ_INT(mvcc_txn_range(s, &q, &r), 0);
	TU_EQ_INT(r.n, 2);
	mvcc_range_res_free(s, &r);
	q.revision = 0;
	TU_EQ_INT(mvcc_txn_delete(s, &d, &dr), 0);
	TU_EQ_INT(dr.deleted, 1);
	TU_CHECK(mvcct_eq(dr.prev_kvs[0].value, "old"));
	mvcc_delete_res_free(s, &dr);
	p.value = mvcct_b("2");			/* the same key again: its own sub-revision */
	p.prev_kv = true;
	TU_EQ_INT(mvcc_txn_put(s, &p, &pr), 0);
	TU_CHECK(pr.has_prev);
	TU_CHECK(mvcct_eq(pr.prev.value, "1"));
	TU_EQ_INT(mvcc_txn_range(s, &q, &r), 0);
	TU_EQ_STR(keys(&r), "a");
	TU_EQ_INT(r.kvs[0].version, 2);
	TU_EQ_INT(r.kvs[0].create_revision, 3);
	mvcc_range_res_free(s, &r);
	/* nothing is visible outside yet */
	TU_EQ_INT(mvcc_rev(s), 2);
	TU_EQ_INT(ev.n, 0);
	TU_EQ_INT(mvcc_range(s, &q, &r), MVCC_ETXN);
	TU_EQ_INT(mvcct_put(s, "x", "y"), MVCC_ETXN);
	TU_EQ_INT(mvcc_compact(s, 2), MVCC_ETXN);
	TU_EQ_INT(mvcc_txn_end(s), 3);
	TU_EQ_INT(mvcc_txn_end(s), MVCC_ETXN);
	TU_EQ_INT(mvcc_rev(s), 3);

	/* three events at revision 3, in write order, with prev as of revision 2 */
	TU_EQ_INT(ev.n, 3);
	TU_EQ_INT(ev.ev[0].type, MVCC_EVENT_PUT);
	TU_EQ_STR(ev.ev[0].key, "a");
	TU_EQ_STR(ev.ev[0].value, "1");
	TU_EQ_INT(ev.ev[0].version, 1);
	TU_CHECK(!ev.ev[0].has_prev);
	TU_CHECK(!ev.ev[0].last);
	TU_EQ_INT(ev.ev[1].type, MVCC_EVENT_DELETE);
	TU_EQ_STR(ev.ev[1].key, "b");
	TU_EQ_INT(ev.ev[1].mod, 3);
	TU_EQ_INT(ev.ev[1].create, 0);
	TU_EQ_INT(ev.ev[1].version, 0);
	TU_EQ_STR(ev.ev[1].value, "");
	TU_CHECK(ev.ev[1].has_prev);
	TU_EQ_STR(ev.ev[1].prev_value, "old");
	TU_EQ_INT(ev.ev[1].prev_mod, 2);
	TU_EQ_INT(ev.ev[2].type, MVCC_EVENT_PUT);
	TU_EQ_STR(ev.ev[2].value, "2");
	TU_EQ_INT(ev.ev[2].version, 2);
	TU_CHECK(!ev.ev[2].has_prev);	/* "a" did not exist at revision 2 */
	TU_CHECK(ev.ev[2].last);

	/* a read-only transaction does not move the revision */
	TU_EQ_INT(mvcc_txn_begin(s), 0);
	TU_EQ_INT(mvcc_txn_range(s, &q, &r), 0);
	mvcc_range_res_free(s, &r);
	TU_EQ_INT(mvcc_txn_delete(s, &(struct mvcc_delete_req){ .key = mvcct_b("none") }, &dr), 0);
	TU_EQ_INT(mvcc_txn_end(s), 3);
	TU_EQ_INT(ev.n, 3);
	/* outside a transaction the txn calls refuse */
	TU_EQ_INT(mvcc_txn_range(s, &q, &r), MVCC_ETXN);
	TU_EQ_INT(mvcc_txn_put(s, &p, &pr), MVCC_ETXN);
	TU_EQ_INT(mvcc_txn_delete(s, &d, &dr), MVCC_ETXN);
	mvcc_free(s);
}

static void test_txn_abort(void)
{
	struct mvcc *s = mvcct_new();
	struct mvcct_evlog ev = { .n = 0 };
	struct mvcc_put_req p = { .key = mvcct_b("new"), .value = mvcct_b("1") };
	struct mvcc_put_req bad = { .key = mvcct_b("missing"), .ignore_value = true };
	struct mvcc_delete_req d = { .key = mvcct_b("a"), .range_end = mvcct_b("c") };
	struct mvcc_put_res pr;
	struct mvcc_delete_res dr;
	struct mvcc_hash h0, h1;
	struct mvcc_stats st0, st1;
	long held;

	mvcct_put(s, "a", "1");
	mvcct_put(s, "b", "2");
	mvcc_set_observer(s, mvcct_record, &ev);
	TU_EQ_INT(mvcc_hash_kv(s, 0, &h0), 0);
	mvcc_stats(s, &st0);
	held = mvcct_mem.outstanding;
	TU_EQ_INT(mvcc_txn_begin(s), 0);
	TU_EQ_INT(mvcc_txn_put(s, &p, &pr), 0);
	TU_EQ_INT(mvcc_txn_delete(s, &d, &dr), 0);
	TU_EQ_INT(dr.deleted, 2);
	TU_EQ_INT(mvcc_txn_put(s, &bad, &pr), MVCC_ENOTFOUND);
	mvcc_txn_abort(s);
	TU_EQ_INT(mvcc_rev(s), 3);
	TU_EQ_INT(ev.n, 0);
	TU_EQ_INT(mvcc_hash_kv(s, 0, &h1), 0);
	TU_EQ_INT(h1.hash, h0.hash);
	mvcc_stats(s, &st1);
	TU_EQ_INT(st1.keys, st0.keys);
	TU_EQ_INT(st1.index_keys, st0.index_keys);
	TU_EQ_INT(st1.revisions, st0.revisions);
	TU_CHECK(mvcct_val(s, "new") == NULL);
	TU_EQ_STR(mvcct_val(s, "a"), "1");
	TU_CHECK(mvcct_mem.outstanding <= held + 1);	/* the log may have grown */
	mvcc_txn_abort(s);				/* no transaction: nothing */
	/* the next transaction starts from sub-revision 0 again */
	TU_EQ_INT(mvcct_put(s, "c", "3"), 0);
	TU_EQ_INT(mvcc_rev(s), 4);
	TU_EQ_INT(ev.n, 1);
	TU_CHECK(ev.ev[0].last);
	mvcc_free(s);
}

static void test_many_keys_in_order(void)
{
	struct mvcc *s = mvcct_new();
	struct mvcc_range_req q = rq("k", "l");
	struct mvcc_range_res r;
	char k[32];
	bool ok = true;

	/* enough keys for a tree of several levels, written out of order */
	for (int i = 0; i < 5000; i++) {
		snprintf(k, sizeof(k), "k%05d", (i * 7919) % 5000);
		TU_EQ_INT(mvcct_put(s, k, k), 0);
	}
	for (int i = 0; i < 5000; i += 3) {
		snprintf(k, sizeof(k), "k%05d", i);
		TU_EQ_INT(mvcct_del(s, k, NULL), 1);
	}
	TU_EQ_INT(range(s, &q, &r), 0);
	TU_EQ_INT(r.count, 5000 - 1667);
	for (size_t i = 1; i < r.n; i++)
		ok &= mvcct_cmp(r.kvs[i - 1].key, r.kvs[i].key) < 0;
	TU_CHECK(ok);
	mvcc_range_res_free(s, &r);
	q = rq("k02500", "k02510");
	TU_EQ_INT(range(s, &q, &r), 0);
	TU_EQ_STR(keys(&r), "k02500,k02501,k02503,k02504,k02506,k02507,k02509");
	mvcc_range_res_free(s, &r);
	mvcc_free(s);
}

int main(void)
{
	TU_RUN(test_empty_store);
	TU_RUN(test_versions_and_generations);
	TU_RUN(test_binary_keys_and_empty_values);
	TU_RUN(test_range_end_forms);
	TU_RUN(test_range_limit_filters_sort);
	TU_RUN(test_range_revisions);
	TU_RUN(test_put_flags);
	TU_RUN(test_delete_range);
	TU_RUN(test_compares);
	TU_RUN(test_txn_reads_own_writes);
	TU_RUN(test_txn_abort);
	TU_RUN(test_many_keys_in_order);
	TU_EQ_INT(mvcct_mem.outstanding, 0);
	return TU_EXIT();
}
