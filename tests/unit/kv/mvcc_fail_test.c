/* The MVCC store under memory failure and for memory use: every op is tried with its Nth
 * allocation failing, for N = 1, 2, ... until it succeeds, and each failure must leave the
 * store exactly as it was (same hash over every revision, revision, counters, blocks
 * held); transactions roll back whole. Compaction and rollback must give memory back. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "../testutil.h"
#include "mvcctest.h"
#include "../../../kv/mvcc_int.h"

struct snap {
	uint32_t hash;
	int64_t rev;
	struct mvcc_stats st;
	long blocks;
};

static struct snap snap(struct mvcc *s)
{
	struct snap x;
	struct mvcc_hash h;

	mvcct_fail(0, false);
	mvcc_hash_kv(s, 0, &h);
	x.hash = h.hash;
	x.rev = mvcc_rev(s);
	mvcc_stats(s, &x.st);
	x.blocks = mvcct_mem.outstanding;
	return x;
}

/* bytes may grow: a reservation made before the failure is kept for next time */
static bool same(struct snap a, struct snap b)
{
	return a.hash == b.hash && a.rev == b.rev && a.st.keys == b.st.keys &&
	       a.st.index_keys == b.st.index_keys && a.st.revisions == b.st.revisions &&
	       a.blocks == b.blocks;
}

static struct mvcc *filled(int n)
{
	struct mvcc *s = mvcct_new();
	char k[32], v[32];

	for (int i = 0; i < n; i++) {
		snprintf(k, sizeof(k), "key%04d", i);
		snprintf(v, sizeof(v), "value%d", i);
		mvcct_put(s, k, v);
		if (i % 3 == 0)
			mvcct_put(s, k, "again");
	}
	mvcct_del(s, "key0010", "key0015");
	return s;
}

/* Runs op with allocation N failing for N = 1.. (and with every allocation from N on
 * failing when all); returns how many failures were seen. */
typedef int op_fn(struct mvcc *s);
static int fail_loop(struct mvcc *s, op_fn *op, bool all)
{
	int failures = 0;
	bool ok = true;

	for (long nth = 1; nth < 10000; nth++) {
		struct snap before = snap(s);
		mvcct_fail(nth, all);
		int rc = op(s);
		mvcct_fail(0, false);
		if (rc >= 0)
			return failures;
		failures++;
		ok &= rc == -ENOMEM && same(before, snap(s));
		if (!ok) {
			fprintf(stderr, "allocation %ld: rc %d, store changed (blocks %zu %zu revs %zu %zu keys %zu %zu)\n", nth, rc, (size_t)before.blocks, (size_t)snap(s).blocks, before.st.revisions, snap(s).st.revisions, before.st.index_keys, snap(s).st.index_keys);
			TU_CHECK(ok);
			return failures;
		}
	}
	TU_CHECK(!"never succeeded");
	return failures;
}

static int op_put_new(struct mvcc *s)
{
	return mvcct_put(s, "key0500x", "new value");
}

static int op_put_existing(struct mvcc *s)
{
	struct mvcc_put_req q = { .key = mvcct_b("key0003"), .value = mvcct_b("v"), .prev_kv = true };
	struct mvcc_put_res r;
	return mvcc_put(s, &q, &r);
}

static int op_put_ignore_value(struct mvcc *s)
{
	struct mvcc_put_req q = { .key = mvcct_b("key0004"), .ignore_value = true, .lease = 3 };
	struct mvcc_put_res r;
	return mvcc_put(s, &q, &r);
}

static int op_delete(struct mvcc *s)
{
	struct mvcc_delete_req q = { .key = mvcct_b("key00"), .range_end = mvcct_b("key01"),
				     .prev_kv = true };
	struct mvcc_delete_res r;
	int rc = mvcc_delete(s, &q, &r);

	if (!rc) {
		TU_EQ_INT(r.deleted, 95);
		mvcc_delete_res_free(s, &r);
	}
	return rc;
}

static int op_range(struct mvcc *s)
{
	struct mvcc_range_req q = { .key = mvcct_b("key"), .range_end = mvcct_b("kez"),
				    .sort_order = MVCC_SORT_DESCEND, .sort_target = MVCC_SORT_MOD };
	struct mvcc_range_res r;
	int rc = mvcc_range(s, &q, &r);

	if (rc)
		TU_CHECK(r.kvs == NULL && r.n == 0);
	else
		mvcc_range_res_free(s, &r);
	return rc;
}

/* Writes enough new keys to split leaves and grow the tree, mixed with the other ops. */
static int op_txn(struct mvcc *s)
{
	struct mvcc_range_res rr;
	struct mvcc_put_res pr;
	struct mvcc_delete_res dr;
	struct mvcc_range_req q = { .key = mvcct_b("key"), .range_end = mvcct_b("kez") };
	char k[32];
	int rc = mvcc_txn_begin(s);

	for (int i = 0; !rc && i < 80; i++) {
		snprintf(k, sizeof(k), "key%04dn", i * 5);
		struct mvcc_put_req p = { .key = mvcct_b(k), .value = mvcct_b(k) };
		rc = mvcc_txn_put(s, &p, &pr);
		if (!rc && i == 40) {
			struct mvcc_delete_req d = { .key = mvcct_b("key01"), .range_end = mvcct_b("key02"),
						     .prev_kv = true };
			if (!(rc = mvcc_txn_delete(s, &d, &dr)))
				mvcc_delete_res_free(s, &dr);
		}
		if (!rc && i == 60 && !(rc = mvcc_txn_range(s, &q, &rr)))
			mvcc_range_res_free(s, &rr);
	}
	if (rc) {
		mvcc_txn_abort(s);
		return rc;
	}
	return (int)mvcc_txn_end(s);
}

static void test_single_ops(void)
{
	op_fn *ops[] = { op_put_new, op_put_existing, op_put_ignore_value, op_delete, op_range };

	for (int all = 0; all < 2; all++)
		for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
			struct mvcc *s = filled(300);
			TU_CHECK(fail_loop(s, ops[i], all) > 0 || ops[i] == op_put_ignore_value ||
				 ops[i] == op_put_existing);
			mvcc_free(s);
		}
}

static void test_txn_all_or_nothing(void)
{
	for (int all = 0; all < 2; all++) {
		struct mvcc *s = filled(300);
		struct mvcct_evlog ev = { .n = 0 };
		int64_t rev = mvcc_rev(s);
		mvcc_set_observer(s, mvcct_record, &ev);
		TU_CHECK(fail_loop(s, op_txn, all) > 10);
		TU_EQ_INT(mvcc_rev(s), rev + 1);	/* the successful run, once */
		/* 80 puts; 120 deletes (100 old keys, 20 of its own puts); no failed ones */
		TU_EQ_INT(ev.n, 80 + 120);
		mvcc_free(s);
	}
}

/* Small blocks carved from chunks: 16-byte aligned, apart, each class's freed block the
 * next one given, a resize moving a block only across classes (into and out of the small
 * sizes too) with its bytes, every chunk back with the store, and the bytes counted as
 * asked for. */
static void test_slab(void)
{
	enum { PER = 40 };
	static uint8_t *b[MVCC_SLAB_MAX + 1][PER];
	struct mvcc *s;
	struct mvcc_stats st0, st;
	size_t total = 0;
	void *p, *q;

	mvcct_fail(0, false);
	long before = mvcct_mem.outstanding;
	TU_EQ_INT(mvcc_new(&mvcct_alloc_slab, &s), 0);
	long base = mvcct_mem.outstanding;
	mvcc_stats(s, &st0);
	for (size_t n = 1; n <= MVCC_SLAB_MAX; n++)
		for (int i = 0; i < PER; i++) {
			TU_CHECK((b[n][i] = mvcc_mem_alloc(s, n)) != NULL);
			TU_EQ_INT((uintptr_t)b[n][i] % 16, 0);
			memset(b[n][i], (int)(n * 7 + (size_t)i), n);
			total += (n + 15) / 16 * 16;
		}
	for (size_t n = 1; n <= MVCC_SLAB_MAX; n++)
		for (int i = 0; i < PER; i++)
			for (size_t j = 0; j < n; j++)
				TU_EQ_INT(b[n][i][j], (uint8_t)(n * 7 + (size_t)i));
	/* chunks: what the blocks take, a chunk's header and unused tail aside */
	long chunks = mvcct_mem.outstanding - base;
	TU_CHECK((size_t)chunks <= total / (MVCC_SLAB_CHUNK - 16 - MVCC_SLAB_MAX) + 1);
	TU_CHECK((size_t)chunks >= total / MVCC_SLAB_CHUNK);
	mvcc_stats(s, &st);
	TU_EQ_INT(st.bytes - st0.bytes, MVCC_SLAB_MAX * (MVCC_SLAB_MAX + 1) / 2 * PER);
	/* reuse within a class: 33..48 bytes */
	p = b[40][3];
	mvcc_mem_free(s, p, 40);
	TU_CHECK(mvcc_mem_alloc(s, 48) == p);
	mvcc_mem_free(s, p, 48);
	TU_CHECK(mvcc_mem_alloc(s, 33) == p);
	/* resizes */
	q = p;
	memset(p, 'x', 33);
	TU_EQ_INT(mvcc_mem_grow(s, &q, 33, 45), 0);
	TU_CHECK(q == p);
	TU_EQ_INT(mvcc_mem_grow(s, &q, 45, 100), 0);
	TU_CHECK(q != p && ((uint8_t *)q)[32] == 'x' && ((uint8_t *)q)[0] == 'x');
	memset(q, 'y', 100);
	long out = mvcct_mem.outstanding;
	TU_EQ_INT(mvcc_mem_grow(s, &q, 100, 1000), 0);	/* out of the small sizes */
	TU_EQ_INT(mvcct_mem.outstanding, out + 1);
	TU_CHECK(((uint8_t *)q)[0] == 'y' && ((uint8_t *)q)[99] == 'y');
	TU_EQ_INT(mvcc_mem_grow(s, &q, 1000, 200), 0);	/* and back */
	TU_EQ_INT(mvcct_mem.outstanding, out);
	TU_CHECK(((uint8_t *)q)[0] == 'y' && ((uint8_t *)q)[99] == 'y');
	/* a failing chunk: NULL, nothing counted */
	mvcc_stats(s, &st0);
	mvcct_fail(1, true);
	for (int i = 0; i < 10000 && (p = mvcc_mem_alloc(s, 256)); i++)
		;
	mvcct_fail(0, false);
	TU_CHECK(p == NULL);
	mvcc_stats(s, &st);
	TU_CHECK(st.bytes > st0.bytes && (st.bytes - st0.bytes) % 256 == 0);
	mvcc_free(s);
	TU_EQ_INT(mvcct_mem.outstanding, before);
}

static void test_new_fails(void)
{
	struct mvcc *s = NULL;

	mvcct_fail(1, false);
	TU_EQ_INT(mvcc_new(&mvcct_alloc, &s), -ENOMEM);
	mvcct_fail(0, false);
	TU_CHECK(s == NULL);
}

static void test_abort_frees(void)
{
	struct mvcc *s = filled(100);
	struct snap before = snap(s);
	char k[32];

	TU_EQ_INT(mvcc_txn_begin(s), 0);
	for (int i = 0; i < 2000; i++) {
		snprintf(k, sizeof(k), "new%05d", i);
		struct mvcc_put_req p = { .key = mvcct_b(k), .value = mvcct_b("some value") };
		struct mvcc_put_res r;
		TU_EQ_INT(mvcc_txn_put(s, &p, &r), 0);
	}
	mvcc_txn_abort(s);
	struct snap after = snap(s);
	TU_EQ_INT(after.hash, before.hash);
	TU_EQ_INT(after.blocks, before.blocks);		/* the log grew in place */
	TU_EQ_INT(after.st.index_keys, before.st.index_keys);
	mvcc_free(s);
}

/* Hundreds of 256-byte keys with 1 KiB values, overwritten, deleted, compacted: the
 * memory comes back, down to the store's own struct and a small log block. */
static void test_compaction_frees(void)
{
	struct mvcc *s = mvcct_new();
	long base = mvcct_mem.outstanding;
	char key[257], val[1025];
	struct mvcc_stats st;

	memset(val, 'v', 1024);
	val[1024] = 0;
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 800; i++) {
			memset(key, 'k', 256);
			snprintf(key + 240, 17, "%016d", i * 7919 % 800);
			TU_EQ_INT(mvcct_put(s, key, val), 0);
		}
	mvcc_stats(s, &st);
	TU_EQ_INT(st.keys, 800);
	TU_EQ_INT(st.revisions, 2400);
	TU_CHECK(st.bytes > 2400 * (1024 + 48));
	/* compacting now keeps one revision per key and shrinks the arrays */
	TU_EQ_INT(mvcc_compact(s, mvcc_rev(s)), 0);
	mvcc_stats(s, &st);
	TU_EQ_INT(st.revisions, 800);
	/* per key: the value, the key, one revision, a log entry, an index slot, headers, and
	 * (a long key not yet in a file) its prefix a second time */
	TU_CHECK(st.bytes < 800 * (1024 + 256 + 160 + MVCC_KEY_PREFIX + 8));
	printf("held after compaction: %zu bytes for 800 keys (%zu per key)\n", st.bytes,
	       st.bytes / 800);
	uint8_t zero = 0;
	struct mvcc_delete_req d = { .key = { &zero, 1 }, .range_end = { &zero, 1 } };
	struct mvcc_delete_res dr;
	TU_EQ_INT(mvcc_delete(s, &d, &dr), 0);
	TU_EQ_INT(dr.deleted, 800);
	TU_EQ_INT(mvcc_compact(s, mvcc_rev(s)), 0);
	mvcc_stats(s, &st);
	TU_EQ_INT(st.keys, 0);
	TU_EQ_INT(st.index_keys, 0);
	TU_EQ_INT(st.revisions, 0);
	TU_CHECK(st.bytes < 4096);
	TU_CHECK(mvcct_mem.outstanding <= base + 1);	/* the log's small block */
	mvcc_free(s);
}

/* Compaction only shrinks; when the allocator refuses, it still compacts. */
static void test_compaction_without_memory(void)
{
	struct mvcc *s = filled(300), *t = filled(300);
	struct mvcc_hash a, b;

	mvcct_fail(1, true);
	TU_EQ_INT(mvcc_compact(s, mvcc_rev(s) - 5), 0);
	mvcct_fail(0, false);
	TU_EQ_INT(mvcc_compact(t, mvcc_rev(t) - 5), 0);
	TU_EQ_INT(mvcc_hash_kv(s, 0, &a), 0);
	TU_EQ_INT(mvcc_hash_kv(t, 0, &b), 0);
	TU_EQ_INT(a.hash, b.hash);
	mvcc_free(s);
	mvcc_free(t);
}

int main(void)
{
	TU_RUN(test_single_ops);
	TU_RUN(test_txn_all_or_nothing);
	TU_RUN(test_slab);
	TU_RUN(test_new_fails);
	TU_RUN(test_abort_frees);
	TU_RUN(test_compaction_frees);
	TU_RUN(test_compaction_without_memory);
	TU_EQ_INT(mvcct_mem.outstanding, 0);
	return TU_EXIT();
}
