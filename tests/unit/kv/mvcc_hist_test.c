/* The MVCC store's history against etcd 3.4's rules: compaction, history replay for
 * watches, and HashKV (golden values taken from etcd 3.4.23 running the same history). */
#include <errno.h>

#include "../testutil.h"
#include "mvcctest.h"

static void test_compaction(void)
{
	struct mvcc *s = mvcct_new();
	struct mvcc_stats st;
	struct mvcc_kv kv;

	mvcct_put(s, "a", "1");		/* 2 */
	mvcct_put(s, "b", "1");		/* 3 */
	mvcct_put(s, "a", "2");		/* 4 */
	mvcct_del(s, "b", NULL);	/* 5 */
	mvcct_put(s, "c", "1");		/* 6 */
	mvcct_del(s, "c", NULL);	/* 7 */
	mvcct_put(s, "c", "2");		/* 8 */
	TU_EQ_INT(mvcc_compact(s, 9), MVCC_EFUTURE);
	TU_EQ_INT(mvcc_compact(s, 5), 0);
	TU_EQ_INT(mvcc_compacted(s), 5);
	TU_EQ_INT(mvcc_compact(s, 5), MVCC_ECOMPACTED);
	TU_EQ_INT(mvcc_compact(s, 4), MVCC_ECOMPACTED);
	mvcc_stats(s, &st);
	TU_EQ_INT(st.index_keys, 2);	/* b went entirely */
	TU_EQ_INT(st.revisions, 4);	/* a@4, c@6, c@7, c@8 */
	TU_EQ_INT(st.keys, 2);
	TU_EQ_INT(mvcct_get(s, "a", 4, &kv), MVCC_ECOMPACTED);
	TU_EQ_INT(mvcct_get(s, "a", 5, &kv), 1);
	TU_CHECK(mvcct_eq(kv.value, "2"));
	TU_EQ_INT(kv.version, 2);
	TU_EQ_INT(kv.create_revision, 2);
	TU_EQ_INT(mvcct_get(s, "b", 5, &kv), 0);
	TU_EQ_INT(mvcct_get(s, "c", 6, &kv), 1);
	TU_EQ_INT(mvcct_get(s, "c", 7, &kv), 0);
	TU_EQ_INT(mvcct_get(s, "c", 8, &kv), 1);
	TU_CHECK(mvcct_eq(kv.value, "2"));
	/* later writes keep the old create revision and version */
	TU_EQ_INT(mvcct_put(s, "a", "3"), 0);
	TU_EQ_INT(mvcct_get(s, "a", 0, &kv), 1);
	TU_EQ_INT(kv.version, 3);
	TU_EQ_INT(kv.create_revision, 2);
	TU_EQ_INT(mvcc_compact(s, 9), 0);
	mvcc_stats(s, &st);
	TU_EQ_INT(st.revisions, 2);	/* a@9, c@8 */
	TU_EQ_INT(mvcc_compact(s, 1), MVCC_ECOMPACTED);
	TU_EQ_INT(mvcc_compact(s, 10), MVCC_EFUTURE);
	mvcc_free(s);

	/* a fresh store compacts at 1 */
	s = mvcct_new();
	TU_EQ_INT(mvcc_compact(s, 1), 0);
	TU_EQ_INT(mvcc_compact(s, 1), MVCC_ECOMPACTED);
	mvcc_free(s);
}

static void test_history(void)
{
	struct mvcc *s = mvcct_new();
	struct mvcct_evlog ev = { .n = 0 };
	uint8_t zero = 0;
	struct mvcc_bytes all = { &zero, 1 };
	int64_t next;

	mvcct_put(s, "a", "1");		/* 2 */
	mvcct_put(s, "b", "1");		/* 3 */
	mvcc_txn_begin(s);		/* 4: a, b, c */
	mvcc_txn_put(s, &(struct mvcc_put_req){ .key = mvcct_b("c"), .value = mvcct_b("1") },
		     &(struct mvcc_put_res){ 0 });
	struct mvcc_delete_res dr;
	mvcc_txn_delete(s, &(struct mvcc_delete_req){ .key = mvcct_b("a"), .range_end = mvcct_b("c") },
			&dr);
	mvcc_delete_res_free(s, &dr);
	TU_EQ_INT(mvcc_txn_end(s), 4);
	mvcct_put(s, "a", "2");		/* 5 */

	TU_EQ_INT(mvcc_history(s, all, all, 1, 0, mvcct_record, &ev, &next), 6);
	TU_EQ_INT(next, 6);
	TU_EQ_STR(ev.ev[0].key, "a");
	TU_EQ_INT(ev.ev[0].mod, 2);
	TU_CHECK(ev.ev[0].last);
	TU_EQ_STR(ev.ev[2].key, "c");	/* revision 4 in sub-revision order */
	TU_EQ_INT(ev.ev[2].type, MVCC_EVENT_PUT);
	TU_CHECK(!ev.ev[2].last);
	TU_EQ_STR(ev.ev[3].key, "a");
	TU_EQ_INT(ev.ev[3].type, MVCC_EVENT_DELETE);
	TU_EQ_INT(ev.ev[3].mod, 4);
	TU_CHECK(ev.ev[3].has_prev);
	TU_EQ_STR(ev.ev[3].prev_value, "1");
	TU_EQ_STR(ev.ev[4].key, "b");
	TU_CHECK(ev.ev[4].last);
	TU_EQ_INT(ev.ev[5].mod, 5);
	TU_EQ_INT(ev.ev[5].version, 1);
	TU_CHECK(!ev.ev[5].has_prev);

	/* one key, from a revision; last marks the revision's last delivered event */
	ev.n = 0;
	TU_EQ_INT(mvcc_history(s, mvcct_b("a"), mvcct_b(NULL), 3, 0, mvcct_record, &ev, &next), 2);
	TU_EQ_INT(ev.ev[0].type, MVCC_EVENT_DELETE);
	TU_CHECK(ev.ev[0].last);
	TU_EQ_INT(ev.ev[1].mod, 5);
	/* in chunks: whole revisions, at least max events each */
	ev.n = 0;
	TU_EQ_INT(mvcc_history(s, all, all, 1, 2, mvcct_record, &ev, &next), 2);
	TU_EQ_INT(next, 4);
	TU_EQ_INT(mvcc_history(s, all, all, next, 1, mvcct_record, &ev, &next), 3);
	TU_EQ_INT(next, 5);
	TU_EQ_INT(mvcc_history(s, all, all, next, 1, mvcct_record, &ev, &next), 1);
	TU_EQ_INT(next, 6);
	TU_EQ_INT(mvcc_history(s, all, all, next, 1, mvcct_record, &ev, &next), 0);
	TU_EQ_INT(next, 6);
	TU_EQ_INT(mvcc_history(s, all, all, 9, 1, mvcct_record, &ev, &next), 0);
	TU_EQ_INT(next, 9);
	TU_EQ_INT(ev.n, 6);

	/* after compaction: below it fails; at it, the puts held there remain */
	TU_EQ_INT(mvcc_compact(s, 4), 0);
	TU_EQ_INT(mvcc_history(s, all, all, 3, 0, mvcct_record, &ev, &next), MVCC_ECOMPACTED);
	ev.n = 0;
	TU_EQ_INT(mvcc_history(s, all, all, 4, 0, mvcct_record, &ev, &next), 2);
	TU_EQ_STR(ev.ev[0].key, "c");
	TU_CHECK(ev.ev[0].last);
	TU_EQ_INT(ev.ev[1].mod, 5);
	mvcc_free(s);
}

/* The history etcd 3.4.23 hashed: lease 4660 granted; put a=1; put b=2 with the lease; txn
 * {put c=3, put d="", delete a}; delete [b, d); put a=x; put a=y. */
static void test_hash_kv_matches_etcd(void)
{
	struct mvcc *s = mvcct_new();
	struct mvcc_delete_res dr;
	struct mvcc_put_res pr;
	struct mvcc_hash h;

	TU_EQ_INT(mvcc_hash_kv(s, 0, &h), 0);
	TU_EQ_INT(h.hash, 1084519789u);
	TU_EQ_INT(h.compact_revision, -1);
	TU_EQ_INT(h.revision, 1);
	mvcct_put(s, "a", "1");
	mvcct_put_lease(s, "b", "2", 4660);
	mvcc_txn_begin(s);
	mvcc_txn_put(s, &(struct mvcc_put_req){ .key = mvcct_b("c"), .value = mvcct_b("3") }, &pr);
	mvcc_txn_put(s, &(struct mvcc_put_req){ .key = mvcct_b("d") }, &pr);
	mvcc_txn_delete(s, &(struct mvcc_delete_req){ .key = mvcct_b("a") }, &dr);
	mvcc_txn_end(s);
	TU_EQ_INT(mvcct_del(s, "b", "d"), 2);
	mvcct_put(s, "a", "x");
	mvcct_put(s, "a", "y");
	TU_EQ_INT(mvcc_rev(s), 7);

	TU_EQ_INT(mvcc_hash_kv(s, 0, &h), 0);
	TU_EQ_INT(h.hash, 3615804043u);
	TU_EQ_INT(h.revision, 7);
	TU_EQ_INT(mvcc_hash_kv(s, 5, &h), 0);
	TU_EQ_INT(h.hash, 1253176319u);
	TU_EQ_INT(mvcc_hash_kv(s, 3, &h), 0);
	TU_EQ_INT(h.hash, 3888042001u);
	TU_EQ_INT(mvcc_hash_kv(s, 8, &h), MVCC_EFUTURE);
	TU_EQ_INT(mvcc_compact(s, 5), 0);
	TU_EQ_INT(mvcc_hash_kv(s, 0, &h), 0);
	TU_EQ_INT(h.hash, 659900685u);
	TU_EQ_INT(h.compact_revision, 5);
	TU_EQ_INT(mvcc_hash_kv(s, 6, &h), 0);
	TU_EQ_INT(h.hash, 849503536u);
	TU_EQ_INT(mvcc_hash_kv(s, 5, &h), MVCC_ECOMPACTED);
	TU_EQ_INT(mvcc_compact(s, 7), 0);
	TU_EQ_INT(mvcc_hash_kv(s, 0, &h), 0);
	TU_EQ_INT(h.hash, 298773159u);
	TU_EQ_INT(h.compact_revision, 7);
	mvcc_free(s);

	/* and the smaller one: put a=1, b=2, a=3; del b; put c=4; compact 4 */
	s = mvcct_new();
	mvcct_put(s, "a", "1");
	mvcct_put(s, "b", "2");
	mvcct_put(s, "a", "3");
	mvcct_del(s, "b", NULL);
	mvcct_put(s, "c", "4");
	TU_EQ_INT(mvcc_hash_kv(s, 0, &h), 0);
	TU_EQ_INT(h.hash, 2750537463u);
	TU_EQ_INT(mvcc_compact(s, 4), 0);
	TU_EQ_INT(mvcc_hash_kv(s, 0, &h), 0);
	TU_EQ_INT(h.hash, 2450235489u);
	TU_EQ_INT(mvcc_hash_kv(s, 5, &h), 0);
	TU_EQ_INT(h.hash, 1468967122u);
	TU_EQ_INT(mvcc_hash_kv(s, 4, &h), MVCC_ECOMPACTED);
	mvcc_free(s);
}

int main(void)
{
	TU_RUN(test_compaction);
	TU_RUN(test_history);
	TU_RUN(test_hash_kv_matches_etcd);
	TU_EQ_INT(mvcct_mem.outstanding, 0);
	return TU_EXIT();
}
