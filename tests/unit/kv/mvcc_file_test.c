/* The MVCC store with its values kept in a "file" (a buffer here): settling frees the heap
 * copies, and every read path (Range with limit, sort and keys-only, prev_kv, ignore_value,
 * events, history, compares, HashKV, restore in place) gets the same bytes back through the
 * reader, reading no more than it returns; a reader that fails fails the call. */
#include <errno.h>
#include <string.h>

#include "../testutil.h"
#include "mvcctest.h"

/* The file: values appended at their place; loc = offset (never 0: it starts at 16). */
static uint8_t file[1 << 20];
static size_t flen = 16;
static long reads;
static bool fail_reads;

static int reader(void *ctx, uint64_t loc, uint8_t *dst, size_t len)
{
	(void)ctx;
	reads++;
	if (fail_reads)
		return -EIO;
	if (loc + len > flen)
		return -EINVAL;
	memcpy(dst, file + loc, len);
	return 0;
}

static struct mvcc *new_store(void)
{
	struct mvcc *s = mvcct_new();
	mvcc_set_reader(s, reader, NULL);
	return s;
}

/* Puts key=value and moves the value to the file. */
static void put_file(struct mvcc *s, const char *key, const char *value)
{
	size_t n = strlen(value);

	TU_EQ_INT(mvcct_put(s, key, value), 0);
	memcpy(file + flen, value, n);
	TU_EQ_INT(mvcc_settle(s, mvcc_rev(s), 0, 0, flen), 0);
	flen += n;
}

static void test_settle_frees(void)
{
	struct mvcc *s = new_store();
	struct mvcc_stats st0, st1;
	long held;

	TU_EQ_INT(mvcct_put(s, "a", "hello"), 0);
	mvcc_stats(s, &st0);
	held = mvcct_mem.outstanding;
	memcpy(file + flen, "hello", 5);
	TU_EQ_INT(mvcc_settle(s, 2, 0, 0, flen), 0);
	flen += 5;
	TU_EQ_INT(mvcct_mem.outstanding, held - 1);	/* the heap copy went */
	mvcc_stats(s, &st1);
	TU_EQ_INT(st1.bytes, st0.bytes);		/* dbSize counts it still */
	TU_EQ_INT(mvcc_file_bytes(s), 5);
	TU_EQ_STR(mvcct_val(s, "a"), "hello");
	/* what cannot be settled */
	TU_EQ_INT(mvcc_settle(s, 2, 0, 0, 0), MVCC_EARG);
	TU_EQ_INT(mvcc_settle(s, 2, 1, 0, 100), MVCC_ENOTFOUND);
	TU_EQ_INT(mvcc_settle(s, 9, 0, 0, 100), MVCC_ENOTFOUND);
	TU_EQ_INT(mvcct_del(s, "a", NULL), 1);
	TU_EQ_INT(mvcc_settle(s, 3, 0, 0, 100), MVCC_ENOTFOUND);	/* a tombstone */
	TU_EQ_INT(mvcct_put(s, "e", NULL), 0);
	TU_EQ_INT(mvcc_settle(s, 4, 0, 0, 100), MVCC_ENOTFOUND);	/* empty */
	TU_EQ_INT(mvcc_compact(s, 4), 0);
	TU_EQ_INT(mvcc_file_bytes(s), 0);
	mvcc_free(s);
	TU_EQ_INT(mvcct_mem.outstanding, 0);
}

static void test_range_reads_what_it_returns(void)
{
	struct mvcc *s = new_store();
	uint8_t zero = 0;
	struct mvcc_range_req q = { .key = { &zero, 1 }, .range_end = { &zero, 1 } };
	struct mvcc_range_res r;
	char k[8], v[1100];

	/* 300 values of about 1 KiB: more than one chunk of the read buffer */
	for (int i = 0; i < 300; i++) {
		snprintf(k, sizeof(k), "k%03d", i);
		memset(v, 'a' + i % 26, 1000 + (size_t)i % 50);
		v[1000 + i % 50] = 0;
		put_file(s, k, v);
	}
	reads = 0;
	TU_EQ_INT(mvcc_range(s, &q, &r), 0);
	TU_EQ_INT(r.n, 300);
	TU_EQ_INT(reads, 300);
	for (size_t i = 0; i < r.n; i++) {
		TU_EQ_INT(r.kvs[i].value.len, 1000 + i % 50);
		TU_CHECK(r.kvs[i].value.p[0] == 'a' + i % 26 &&
			 r.kvs[i].value.p[r.kvs[i].value.len - 1] == 'a' + i % 26);
	}
	mvcc_range_res_free(s, &r);

	reads = 0;
	q.limit = 2;
	TU_EQ_INT(mvcc_range(s, &q, &r), 0);
	TU_EQ_INT(r.n, 2);
	TU_EQ_INT(reads, 2);
	mvcc_range_res_free(s, &r);

	reads = 0;
	q.sort_target = MVCC_SORT_MOD;
	q.sort_order = MVCC_SORT_DESCEND;
	TU_EQ_INT(mvcc_range(s, &q, &r), 0);
	TU_EQ_INT(reads, 2);	/* sorted on metadata: values of the two returned only */
	TU_CHECK(mvcct_eq(r.kvs[0].key, "k299"));
	TU_EQ_INT(r.kvs[0].value.len, 1000 + 299 % 50);
	mvcc_range_res_free(s, &r);

	reads = 0;
	q.sort_target = MVCC_SORT_VALUE;
	TU_EQ_INT(mvcc_range(s, &q, &r), 0);
	TU_EQ_INT(reads, 300);	/* sorted on values: all of them */
	TU_EQ_INT(r.kvs[0].value.p[0], 'z');
	mvcc_range_res_free(s, &r);

	reads = 0;
	q.sort_target = MVCC_SORT_KEY;
	q.sort_order = MVCC_SORT_NONE;
	q.keys_only = true;
	TU_EQ_INT(mvcc_range(s, &q, &r), 0);
	TU_EQ_INT(reads, 0);
	TU_EQ_INT(r.kvs[0].value.len, 0);
	mvcc_range_res_free(s, &r);

	q.keys_only = false;
	fail_reads = true;
	TU_EQ_INT(mvcc_range(s, &q, &r), -EIO);
	TU_EQ_INT(r.n, 0);
	TU_CHECK(r.kvs == NULL);
	fail_reads = false;
	mvcc_free(s);
	TU_EQ_INT(mvcct_mem.outstanding, 0);
}

static void test_writes_and_events(void)
{
	struct mvcc *s = new_store();
	struct mvcct_evlog log = { .n = 0 };
	struct mvcc_put_req pr = { .key = mvcct_b("a"), .prev_kv = true, .ignore_value = true };
	struct mvcc_put_res res;
	struct mvcc_delete_req dr = { .key = mvcct_b("a"), .prev_kv = true };
	struct mvcc_delete_res dres;
	int64_t next;

	put_file(s, "a", "first");
	mvcc_set_observer(s, mvcct_record, &log);
	/* ignore_value keeps the value read back from the file; prev_kv carries it too */
	TU_EQ_INT(mvcc_put(s, &pr, &res), 0);
	TU_CHECK(res.has_prev && mvcct_eq(res.prev.value, "first"));
	TU_EQ_STR(mvcct_val(s, "a"), "first");
	TU_EQ_INT(log.n, 1);
	TU_EQ_STR(log.ev[0].value, "first");
	TU_EQ_STR(log.ev[0].prev_value, "first");
	/* rev 3's value is a heap copy again until settled */
	memcpy(file + flen, "first", 5);
	TU_EQ_INT(mvcc_settle(s, 3, 0, 0, flen), 0);
	flen += 5;
	TU_EQ_INT(mvcc_delete(s, &dr, &dres), 0);
	TU_EQ_INT(dres.n_prev, 1);
	TU_CHECK(mvcct_eq(dres.prev_kvs[0].value, "first"));
	mvcc_delete_res_free(s, &dres);
	TU_EQ_STR(log.ev[1].prev_value, "first");

	/* history from the file, and a failed read stops it */
	log.n = 0;
	TU_EQ_INT(mvcc_history(s, mvcct_b("a"), mvcct_b(NULL), 2, 0, mvcct_record, &log, &next), 3);
	TU_EQ_STR(log.ev[0].value, "first");
	TU_EQ_STR(log.ev[1].prev_value, "first");
	TU_EQ_STR(log.ev[2].prev_value, "first");
	fail_reads = true;
	TU_EQ_INT(mvcc_history(s, mvcct_b("a"), mvcct_b(NULL), 2, 0, mvcct_record, &log, &next),
		  -EIO);
	/* a live event whose prev cannot be read goes without it, counted */
	put_file(s, "b", "x");
	log.n = 0;
	TU_EQ_INT(mvcct_put(s, "b", "y"), 0);
	TU_EQ_INT(log.n, 1);
	TU_CHECK(!log.ev[0].has_prev);
	TU_EQ_INT(mvcc_read_errors(s), 1);
	fail_reads = false;
	mvcc_free(s);
	TU_EQ_INT(mvcct_mem.outstanding, 0);
}

static void test_compare_and_hash(void)
{
	struct mvcc *s = new_store(), *h = mvcct_new();
	struct mvcc_compare c = { .result = MVCC_CMP_EQUAL, .target = MVCC_TARGET_VALUE,
				  .key = mvcct_b("k"), .value = mvcct_b("v1") };
	struct mvcc_hash a, b;

	put_file(s, "k", "v1");
	put_file(s, "j", "v2");
	TU_EQ_INT(mvcct_put(h, "k", "v1"), 0);
	TU_EQ_INT(mvcct_put(h, "j", "v2"), 0);
	TU_CHECK(mvcc_txn_compare(s, &c));
	c.value = mvcct_b("v2");
	TU_CHECK(!mvcc_txn_compare(s, &c));
	TU_EQ_INT(mvcc_hash_kv(s, 0, &a), 0);
	TU_EQ_INT(mvcc_hash_kv(h, 0, &b), 0);
	TU_EQ_INT(a.hash, b.hash);
	fail_reads = true;
	c.value = mvcct_b("v1");
	TU_CHECK(!mvcc_txn_compare(s, &c));	/* unreadable: not equal, and counted */
	TU_EQ_INT(mvcc_read_errors(s), 1);
	TU_EQ_INT(mvcc_hash_kv(s, 0, &a), -EIO);
	fail_reads = false;
	mvcc_free(s);
	mvcc_free(h);
	TU_EQ_INT(mvcct_mem.outstanding, 0);
}

static void test_restore_in_place(void)
{
	struct mvcc *s = new_store(), *c = new_store();
	static const uint8_t img[] = "....the-value....";
	struct mvcc_stats sa, sc;
	struct mvcc_rec r = {
		.kv = { .key = mvcct_b("k"), .value = { img + 4, 9 }, .create_revision = 2,
			.mod_revision = 2, .version = 1 },
	};

	memcpy(file + 1000, img, sizeof(img));
	mvcc_restore_in_place(s, img, sizeof(img), 1000);
	TU_EQ_INT(mvcc_restore_rec(s, &r), 0);
	TU_EQ_INT(mvcc_restore_rec(c, &r), 0);	/* c copies it */
	TU_EQ_INT(mvcc_file_bytes(s), 9);
	TU_EQ_INT(mvcc_file_bytes(c), 0);
	mvcc_stats(s, &sa);
	mvcc_stats(c, &sc);
	TU_EQ_INT(sa.bytes, sc.bytes);			/* the same dbSize */
	TU_EQ_INT(sc.bytes - (sa.bytes - 9), 9);	/* but 9 bytes less memory */
	mvcc_restore_in_place(s, NULL, 0, 0);
	r.kv.mod_revision = 3;	/* a value outside the range is copied */
	r.kv.version = 2;
	r.kv.value = mvcct_b("copied");
	TU_EQ_INT(mvcc_restore_rec(s, &r), 0);
	TU_EQ_INT(mvcc_file_bytes(s), 9);
	TU_EQ_STR(mvcct_val(s, "k"), "copied");
	struct mvcc_kv kv;
	TU_EQ_INT(mvcct_get(s, "k", 2, &kv), 1);
	TU_CHECK(mvcct_eq(kv.value, "the-value"));
	mvcc_free(s);
	mvcc_free(c);
	TU_EQ_INT(mvcct_mem.outstanding, 0);
}

/* Puts key=value and moves both the key and the value to the file. */
static void put_both(struct mvcc *s, const char *key, const char *value)
{
	size_t kn = strlen(key), vn = strlen(value);

	TU_EQ_INT(mvcct_put(s, key, value), 0);
	memcpy(file + flen, key, kn);
	memcpy(file + flen + kn, value, vn);
	TU_EQ_INT(mvcc_settle(s, mvcc_rev(s), 0, flen, vn ? flen + kn : 0), 0);
	flen += kn + vn;
}

/* A key of 150 'k's and then n: longer than MVCC_KEY_INLINE, equal on the prefix. */
static const char *long_key(int n)
{
	static char bufs[4][160];	/* a few at once: a range's two ends */
	static int next;
	char *buf = bufs[next++ % 4];

	memset(buf, 'k', 150);
	snprintf(buf + 150, 10, "%05d", n);
	return buf;
}

static void test_long_keys(void)
{
	struct mvcc *s = new_store();
	uint8_t zero = 0;
	struct mvcc_range_req q = { .key = { &zero, 1 }, .range_end = { &zero, 1 } };
	struct mvcc_range_res r;
	struct mvcc_stats st;
	struct mvcct_evlog log = { .n = 0 };
	struct mvcc_kv kv;
	char v[16];
	int64_t next;

	flen = 16;
	for (int i = 0; i < 200; i++) {	/* out of order: inserts between file keys */
		snprintf(v, sizeof(v), "v%d", i * 37 % 200);
		put_both(s, long_key(i * 37 % 200), v);
	}
	mvcc_stats(s, &st);
	TU_EQ_INT(st.keys, 200);
	TU_EQ_INT(mvcc_file_bytes(s), 200 * 155 + 690);	/* the keys, the values (v0..v199) */
	reads = 0;
	TU_EQ_INT(mvcct_get(s, long_key(123), 0, &kv), 1);	/* found by reading keys back */
	TU_CHECK(reads > 0);
	TU_CHECK(mvcct_eq(kv.value, "v123"));
	TU_EQ_INT(kv.key.len, 155);
	TU_CHECK(memcmp(kv.key.p, long_key(123), 155) == 0);
	TU_EQ_INT(mvcc_range(s, &q, &r), 0);
	TU_EQ_INT(r.n, 200);
	for (size_t i = 0; i < r.n; i++)
		TU_CHECK(r.kvs[i].key.len == 155 &&
			 memcmp(r.kvs[i].key.p, long_key((int)i), 155) == 0);
	mvcc_range_res_free(s, &r);
	/* a prefix range that ends inside the keys' common part and one past it */
	q.key = (struct mvcc_bytes){ (const uint8_t *)long_key(50), 155 };
	q.range_end = (struct mvcc_bytes){ (const uint8_t *)long_key(60), 155 };
	TU_EQ_INT(mvcc_range(s, &q, &r), 0);
	TU_EQ_INT(r.n, 10);
	mvcc_range_res_free(s, &r);
	/* overwrite one (an existing key found by its bytes), watch it, delete half */
	mvcc_set_observer(s, mvcct_record, &log);
	put_both(s, long_key(7), "again");
	TU_EQ_INT(log.n, 1);
	TU_EQ_STR(log.ev[0].prev_value, "v7");
	mvcc_stats(s, &st);
	TU_EQ_INT(st.keys, 200);
	TU_EQ_INT(mvcct_del(s, long_key(0), long_key(100)), 100);
	TU_EQ_INT(mvcc_history(s, mvcct_b("\x01"), mvcct_b("\xff"), mvcc_rev(s), 0, mvcct_record,
			       &log, &next), 100);
	/* compaction frees the deleted keys, finding each next one by its bytes */
	TU_EQ_INT(mvcc_compact(s, mvcc_rev(s)), 0);
	mvcc_stats(s, &st);
	TU_EQ_INT(st.index_keys, 100);
	TU_EQ_INT(mvcct_get(s, long_key(150), 0, &kv), 1);
	TU_EQ_INT(mvcct_get(s, long_key(50), 0, &kv), 0);
	/* unreadable keys: a delete and compaction still leave a sound index */
	TU_EQ_INT(mvcct_del(s, long_key(100), long_key(150)), 50);
	fail_reads = true;
	TU_EQ_INT(mvcc_compact(s, mvcc_rev(s)), 0);
	fail_reads = false;
	TU_CHECK(mvcc_read_errors(s) > 0);
	mvcc_stats(s, &st);
	TU_EQ_INT(st.index_keys, 50);
	q.key = (struct mvcc_bytes){ &zero, 1 };
	q.range_end = (struct mvcc_bytes){ &zero, 1 };
	TU_EQ_INT(mvcc_range(s, &q, &r), 0);
	TU_EQ_INT(r.n, 50);
	TU_CHECK(memcmp(r.kvs[0].key.p, long_key(150), 155) == 0);
	mvcc_range_res_free(s, &r);
	mvcc_free(s);
	TU_EQ_INT(mvcct_mem.outstanding, 0);
}

/* Events nobody wants read nothing back: a paused observer costs the reads of no observer
 * at all, and a history without prev reads no value from before. */
static long delete_reads(bool observer, bool paused)
{
	struct mvcc *s = new_store();
	struct mvcct_evlog log = { .n = 0 };
	long n;

	flen = 16;
	put_both(s, long_key(1), "one");
	put_both(s, long_key(2), "two");
	if (observer)
		mvcc_set_observer(s, mvcct_record, &log);
	mvcc_observer_pause(s, paused);
	reads = 0;
	TU_EQ_INT(mvcct_del(s, long_key(1), long_key(3)), 2);
	n = reads;
	TU_EQ_INT(log.n, observer && !paused ? 2 : 0);
	mvcc_free(s);
	return n;
}

static void test_no_needless_reads(void)
{
	struct mvcc *s;
	struct mvcct_evlog log = { .n = 0 };
	int64_t next;
	long quiet = delete_reads(false, false);

	TU_EQ_INT(delete_reads(true, true), quiet);
	TU_CHECK(delete_reads(true, false) >= quiet + 4);	/* keys and values before */

	s = new_store();
	flen = 16;
	put_both(s, long_key(1), "one");
	TU_EQ_INT(mvcct_del(s, long_key(1), NULL), 1);
	reads = 0;
	TU_EQ_INT(mvcc_history_ex(s, mvcct_b("\x01"), mvcct_b("\xff"), 3, 0, false, mvcct_record,
				  &log, &next), 1);
	TU_CHECK(!log.ev[0].has_prev);
	TU_EQ_INT(reads, 1);	/* the key, not the value before */
	log.n = 0;
	reads = 0;
	TU_EQ_INT(mvcc_history(s, mvcct_b("\x01"), mvcct_b("\xff"), 3, 0, mvcct_record, &log,
			       &next), 1);
	TU_CHECK(log.ev[0].has_prev);
	TU_EQ_INT(reads, 3);	/* the key, and the key and value before */
	mvcc_free(s);
	TU_EQ_INT(mvcct_mem.outstanding, 0);
}

int main(void)
{
	TU_RUN(test_settle_frees);
	TU_RUN(test_range_reads_what_it_returns);
	TU_RUN(test_writes_and_events);
	TU_RUN(test_compare_and_hash);
	TU_RUN(test_restore_in_place);
	TU_RUN(test_long_keys);
	TU_RUN(test_no_needless_reads);
	return TU_EXIT();
}
