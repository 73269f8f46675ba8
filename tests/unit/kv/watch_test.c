/* The Watch service's pure parts against etcd 3.4's rules: key normalisation and ranges,
 * filters, the id table and etcd's automatic ids, a revision's records shared by watchers
 * (range, filters, prev_kv), catch-up chunks (1000 revisions, the byte bound, whole
 * revisions only, compaction) and sendFragments' cuts. */
#include <errno.h>

#include "../testutil.h"
#include "../../../kv/watch.h"
#include "mvcctest.h"

static struct watcher *mk(const char *key, size_t klen, const char *end, size_t elen,
			  const int32_t *filters, size_t nf, bool prev)
{
	struct kvm_watch_create_request r = {
		.key = { (const uint8_t *)key, klen }, .range_end = { (const uint8_t *)end, elen },
		.filters = filters, .n_filters = nf, .prev_kv = prev,
	};
	struct watcher *w = NULL;
	int rc = watch_new(&r, &w);
	TU_EQ_INT(rc, 0);
	return w;
}

static bool has(const struct watcher *w, const char *key)
{
	return watch_match(w, (const uint8_t *)key, strlen(key));
}

static void test_ranges(void)
{
	struct watcher *one = mk("foo", 3, NULL, 0, NULL, 0, false);
	TU_CHECK(has(one, "foo"));
	TU_CHECK(!has(one, "foo1") && !has(one, "fo"));

	struct watcher *pre = mk("foo", 3, "fop", 3, NULL, 0, false);
	TU_CHECK(has(pre, "foo") && has(pre, "foo/bar") && has(pre, "fooz"));
	TU_CHECK(!has(pre, "fop") && !has(pre, "fon") && !has(pre, "fo"));

	struct watcher *from = mk("m", 1, "\0", 1, NULL, 0, false);	/* every key >= m */
	TU_CHECK(has(from, "m") && has(from, "zzz") && !has(from, "l"));

	/* an empty key is "\0": alone it is that key, with "\0" it is every key */
	struct watcher *all = mk("", 0, "\0", 1, NULL, 0, false);
	TU_EQ_INT(all->key_len, 1);
	TU_CHECK(has(all, "a") && has(all, "\x01") && watch_match(all, (const uint8_t *)"\0", 1));
	struct watcher *zero = mk("", 0, NULL, 0, NULL, 0, false);
	TU_CHECK(watch_match(zero, (const uint8_t *)"\0", 1) && !has(zero, "a"));
	TU_EQ_INT(watch_range_end(zero).len, 0);

	/* etcd refuses range_end <= key: "mvcc: watcher range is empty" */
	struct kvm_watch_create_request r = { .key = { (const uint8_t *)"b", 1 },
					      .range_end = { (const uint8_t *)"a", 1 } };
	struct watcher *w = NULL;
	TU_EQ_INT(watch_new(&r, &w), WATCH_EEMPTY);
	r.range_end.p = (const uint8_t *)"b";
	TU_EQ_INT(watch_new(&r, &w), WATCH_EEMPTY);
	TU_EQ_STR(watch_strerror(WATCH_EEMPTY), "mvcc: watcher range is empty");
	TU_EQ_STR(watch_strerror(WATCH_EDUPLICATE),
		  "mvcc: duplicate watch ID provided on the WatchStream");
	TU_CHECK(w == NULL);
	free(one);
	free(pre);
	free(from);
	free(all);
	free(zero);
}

static void test_filters_and_flags(void)
{
	const int32_t noput[] = { KVM_FILTER_NOPUT }, both[] = { 1, 0, 7 };
	struct watcher *a = mk("k", 1, NULL, 0, noput, 1, true);
	TU_CHECK(watch_filtered(a, MVCC_EVENT_PUT) && !watch_filtered(a, MVCC_EVENT_DELETE));
	TU_CHECK(a->flags & WATCH_PREV_KV);
	struct watcher *b = mk("k", 1, NULL, 0, both, 3, false);	/* 7: ignored, as etcd */
	TU_CHECK(watch_filtered(b, MVCC_EVENT_PUT) && watch_filtered(b, MVCC_EVENT_DELETE));
	TU_CHECK(!(b->flags & WATCH_PREV_KV));
	struct kvm_watch_create_request r = { .key = { (const uint8_t *)"k", 1 },
					      .progress_notify = true, .fragment = true };
	struct watcher *c = NULL;
	TU_EQ_INT(watch_new(&r, &c), 0);
	TU_CHECK((c->flags & WATCH_PROGRESS) && (c->flags & WATCH_FRAGMENT) && c->idle);
	TU_CHECK(!watch_filtered(c, MVCC_EVENT_PUT) && !watch_filtered(c, MVCC_EVENT_DELETE));
	free(a);
	free(b);
	free(c);
}

static void test_ids(void)
{
	enum { N = 3000 };
	static struct watcher w[N];
	struct watch_ids t = { 0 };

	for (int i = 0; i < N; i++) {
		w[i].id = (i % 3 == 0) ? -i : (int64_t)i * 7919;
		TU_EQ_INT(watch_ids_add(&t, &w[i]), 0);
	}
	TU_EQ_INT(t.n, N);
	for (int i = 0; i < N; i++)
		TU_CHECK(watch_ids_find(&t, w[i].id) == &w[i]);
	for (int i = 0; i < N; i += 2)
		watch_ids_del(&t, w[i].id);
	watch_ids_del(&t, 123456789);	/* absent: nothing */
	TU_EQ_INT(t.n, N / 2);
	for (int i = 0; i < N; i++)
		TU_CHECK(watch_ids_find(&t, w[i].id) == (i % 2 ? &w[i] : NULL));
	watch_ids_free(&t);
	TU_CHECK(watch_ids_find(&t, 1) == NULL);

	/* etcd: automatic ids count from 0, skipping ids clients chose */
	struct watcher c2 = { .id = 2 }, a0 = { 0 };
	int64_t next = 0;
	TU_EQ_INT(watch_ids_add(&t, &c2), 0);
	TU_EQ_INT(watch_ids_auto(&t, &next), 0);
	a0.id = 0;
	TU_EQ_INT(watch_ids_add(&t, &a0), 0);
	TU_EQ_INT(watch_ids_auto(&t, &next), 1);
	TU_EQ_INT(watch_ids_auto(&t, &next), 3);
	watch_ids_del(&t, 0);
	TU_EQ_INT(watch_ids_auto(&t, &next), 4);	/* not reused: next only moves on */
	watch_ids_free(&t);
}

static void test_fragment(void)
{
	struct pb_bytes r[4] = { { NULL, 600000 }, { NULL, 600000 }, { NULL, 600000 },
				 { NULL, 600000 } };
	bool frag = true;

	/* under the limit, or a single record: one response, no flag */
	TU_EQ_INT(watch_fragment(30, r, 3, false, &frag), 3);
	TU_CHECK(!frag);
	struct pb_bytes huge = { NULL, 3u << 20 };
	TU_EQ_INT(watch_fragment(30, &huge, 1, false, &frag), 1);
	TU_CHECK(!frag);
	/* 2.4 MB: as etcd 3.4 sends it, 3 records (1.8 MB) flagged, then the last one */
	TU_EQ_INT(watch_fragment(30, r, 4, false, &frag), 3);
	TU_CHECK(frag);
	TU_EQ_INT(watch_fragment(30, r + 3, 1, true, &frag), 1);
	TU_CHECK(!frag);
	/* a fragment takes at least one record even when that one is over the limit */
	struct pb_bytes big[2] = { { NULL, 3u << 20 }, { NULL, 10 } };
	TU_EQ_INT(watch_fragment(30, big, 2, false, &frag), 1);
	TU_CHECK(frag);
	TU_EQ_INT(watch_fragment(30, big + 1, 1, true, &frag), 1);
	TU_CHECK(!frag);
	/* the cut is at the limit, the 2 bytes of the flag counted */
	struct pb_bytes edge[3] = { { NULL, 1000 }, { NULL, WATCH_FRAGMENT_MAX - 1000 - 30 - 2 },
				    { NULL, 5000 } };
	TU_EQ_INT(watch_fragment(30, edge, 3, false, &frag), 1);
	TU_CHECK(frag);
	edge[1].len--;
	TU_EQ_INT(watch_fragment(30, edge, 3, false, &frag), 2);
	TU_CHECK(frag);
	/* whole, the flag is not counted: just under the limit goes out in one piece */
	edge[1].len -= 5000 - 2;
	TU_EQ_INT(watch_fragment(30, edge, 3, false, &frag), 3);
	TU_CHECK(!frag);
}

/* Decodes a response made of a head and the records into *m (arena a). */
static int decode(const struct pb_bytes *recs, size_t n, struct kvm_watch_response *m,
		  struct pb_arena *a, struct pb_buf *b)
{
	static const uint8_t hdr[] = { 0x18, 0x07 };	/* revision 7 */
	b->len = 0;
	watch_put_head(b, (struct pb_bytes){ hdr, sizeof(hdr) }, 5, false);
	for (size_t i = 0; i < n; i++)
		pb_put_raw(b, recs[i].p, recs[i].len);
	return b->err ? b->err : kvm_decode(KVM_WATCH_RESPONSE, b->data, b->len, m, a);
}

static bool kv_is(const struct kvm_kv *kv, const char *key, const char *value, int64_t mod)
{
	return kv && kv->key.len == strlen(key) && memcmp(kv->key.p, key, kv->key.len) == 0 &&
	       kv->value.len == strlen(value) &&
	       (!kv->value.len || memcmp(kv->value.p, value, kv->value.len) == 0) &&
	       kv->mod_revision == mod;
}

struct rev_sink {
	struct watch_rev rev;
	struct pb_buf tmp;
	int revisions;
};

static void on_event(void *ctx, const struct mvcc_event *ev)
{
	struct rev_sink *s = ctx;
	TU_EQ_INT(watch_rev_add(&s->rev, ev, &s->tmp), 0);
	s->revisions += ev->last;
}

static void test_rev_select(void)
{
	struct mvcc *s = mvcct_new();
	struct rev_sink sink = { 0 };
	struct pb_bytes recs[8];
	struct pb_arena a;
	struct pb_buf b;
	struct kvm_watch_response m;
	const int32_t nodel[] = { KVM_FILTER_NODELETE };

	pb_arena_init(&a, NULL);
	pb_buf_init(&b, NULL);
	pb_buf_init(&sink.tmp, NULL);
	watch_rev_init(&sink.rev);
	mvcct_put(s, "a/1", "old");	/* rev 2 */
	mvcct_put(s, "b", "x");		/* rev 3 */
	mvcc_set_observer(s, on_event, &sink);
	/* rev 4: one transaction, three events */
	struct mvcc_put_req p1 = { .key = mvcct_b("a/1"), .value = mvcct_b("new") };
	struct mvcc_put_req p2 = { .key = mvcct_b("a/2"), .value = mvcct_b("v") };
	struct mvcc_delete_req d = { .key = mvcct_b("b") };
	struct mvcc_put_res pr;
	struct mvcc_delete_res dr;
	TU_EQ_INT(mvcc_txn_begin(s), 0);
	TU_EQ_INT(mvcc_txn_put(s, &p1, &pr), 0);
	TU_EQ_INT(mvcc_txn_put(s, &p2, &pr), 0);
	TU_EQ_INT(mvcc_txn_delete(s, &d, &dr), 0);
	mvcc_delete_res_free(s, &dr);
	TU_EQ_INT(mvcc_txn_end(s), 4);
	TU_EQ_INT(sink.revisions, 1);
	TU_EQ_INT(sink.rev.rev, 4);
	TU_EQ_INT(sink.rev.n, 3);

	struct watcher *pre = mk("a/", 2, "a0", 2, NULL, 0, false);
	TU_EQ_INT(watch_rev_select(&sink.rev, pre, recs), 2);
	TU_EQ_INT(decode(recs, 2, &m, &a, &b), 0);
	TU_EQ_INT(m.n_events, 2);
	TU_CHECK(kv_is(m.events[0].kv, "a/1", "new", 4) && !m.events[0].prev_kv);
	TU_CHECK(kv_is(m.events[1].kv, "a/2", "v", 4));
	TU_EQ_INT(m.watch_id, 5);
	TU_EQ_INT(m.header->revision, 7);

	struct watcher *prev = mk("", 0, "\0", 1, NULL, 0, true);	/* all, with prev_kv */
	TU_EQ_INT(watch_rev_select(&sink.rev, prev, recs), 3);
	TU_EQ_INT(decode(recs, 3, &m, &a, &b), 0);
	TU_CHECK(kv_is(m.events[0].prev_kv, "a/1", "old", 2));
	TU_CHECK(!m.events[1].prev_kv);	/* a/2 is new */
	TU_EQ_INT(m.events[2].type, KVM_EVENT_DELETE);
	TU_CHECK(kv_is(m.events[2].kv, "b", "", 4));
	TU_CHECK(kv_is(m.events[2].prev_kv, "b", "x", 3));
	TU_EQ_INT(m.events[2].kv->version, 0);

	struct watcher *puts = mk("", 0, "\0", 1, nodel, 1, false);
	TU_EQ_INT(watch_rev_select(&sink.rev, puts, recs), 2);
	struct watcher *none = mk("c", 1, NULL, 0, NULL, 0, false);
	TU_EQ_INT(watch_rev_select(&sink.rev, none, recs), 0);

	watch_rev_reset(&sink.rev);
	TU_EQ_INT(sink.rev.n, 0);
	mvcct_put(s, "c", "1");
	TU_EQ_INT(sink.rev.n, 1);
	TU_EQ_INT(sink.rev.rev, 5);
	TU_EQ_INT(watch_rev_select(&sink.rev, none, recs), 1);

	watch_rev_free(&sink.rev);
	pb_buf_free(&sink.tmp);
	pb_buf_free(&b);
	pb_arena_free(&a);
	free(pre);
	free(prev);
	free(puts);
	free(none);
	mvcc_free(s);
	TU_EQ_INT(mvcct_mem.outstanding, 0);
}

/* Reads w's whole history in chunks, checking each; returns the chunks read. */
static int read_all(struct mvcc *s, struct watcher *w, struct watch_chunk *c, struct pb_buf *tmp,
		    int64_t *events)
{
	int chunks = 0;
	for (;;) {
		int rc = watch_catch_up(s, w, c, tmp);
		TU_CHECK(rc >= 0);
		if (rc < 0)
			return chunks;
		chunks++;
		*events += rc;
		TU_CHECK(c->next > w->next_rev);
		w->next_rev = c->next;
		if (c->done)
			return chunks;
	}
}

static void test_catch_up_chunks(void)
{
	struct mvcc *s = mvcct_new();
	struct watch_chunk c;
	struct pb_buf tmp;
	struct pb_bytes *recs = calloc(WATCH_BATCH_REVS, sizeof(*recs));
	struct pb_arena a;
	struct pb_buf b;
	struct kvm_watch_response m;
	char key[16], val[16];

	pb_buf_init(&tmp, NULL);
	watch_chunk_init(&c);
	pb_buf_init(&b, NULL);
	pb_arena_init(&a, NULL);
	for (int i = 0; i < 2500; i++) {	/* revisions 2..2501 */
		snprintf(key, sizeof(key), "m%d", i % 7);
		snprintf(val, sizeof(val), "v%d", i);
		mvcct_put(s, key, val);
	}
	mvcct_put(s, "other", "x");	/* 2502 */
	struct watcher *w = mk("m", 1, "n", 1, NULL, 0, false);
	w->next_rev = 8;
	/* etcd 3.4: 1000 revisions a response */
	TU_EQ_INT(watch_catch_up(s, w, &c, &tmp), 1000);
	TU_EQ_INT(c.next, 1008);
	TU_CHECK(!c.done);
	watch_chunk_records(&c, recs);
	TU_EQ_INT(decode(recs, c.n, &m, &a, &b), 0);
	TU_EQ_INT(m.n_events, 1000);
	TU_EQ_INT(m.events[0].kv->mod_revision, 8);
	TU_EQ_INT(m.events[999].kv->mod_revision, 1007);
	w->next_rev = c.next;
	TU_EQ_INT(watch_catch_up(s, w, &c, &tmp), 1000);
	w->next_rev = c.next;
	TU_EQ_INT(watch_catch_up(s, w, &c, &tmp), 494);	/* 2008..2501, then "other" */
	TU_EQ_INT(c.next, 2503);
	TU_CHECK(c.done);

	/* revisions are counted before the filters, as etcd counts them */
	const int32_t noput[] = { KVM_FILTER_NOPUT };
	struct watcher *f = mk("m", 1, "n", 1, noput, 1, false);
	f->next_rev = 2;
	TU_EQ_INT(watch_catch_up(s, f, &c, &tmp), 0);
	TU_EQ_INT(c.next, 1002);
	TU_CHECK(!c.done);

	/* a range with no events: one read to the end */
	struct watcher *q = mk("zz", 2, NULL, 0, NULL, 0, false);
	q->next_rev = 1;
	TU_EQ_INT(watch_catch_up(s, q, &c, &tmp), 0);
	TU_EQ_INT(c.next, 2503);
	TU_CHECK(c.done);

	/* the whole history, any chunking: every event once */
	int64_t events = 0;
	w->next_rev = 2;
	TU_EQ_INT(read_all(s, w, &c, &tmp, &events), 3);
	TU_EQ_INT(events, 2500);

	free(w);
	free(f);
	free(q);
	free(recs);
	watch_chunk_free(&c);
	pb_buf_free(&tmp);
	pb_buf_free(&b);
	pb_arena_free(&a);
	mvcc_free(s);
	TU_EQ_INT(mvcct_mem.outstanding, 0);
}

static void test_catch_up_bytes(void)
{
	struct mvcc *s = mvcct_new();
	struct watch_chunk c;
	struct pb_buf tmp;
	char *big = malloc(300001);

	pb_buf_init(&tmp, NULL);
	watch_chunk_init(&c);
	memset(big, 'x', 300000);
	big[300000] = 0;
	/* rev 2: a transaction writing b0 and b1; then revs 3.. one key each */
	struct mvcc_put_req p0 = { .key = mvcct_b("b0"), .value = mvcct_b(big) };
	struct mvcc_put_req p1 = { .key = mvcct_b("b1"), .value = mvcct_b(big) };
	struct mvcc_put_res pr;
	TU_EQ_INT(mvcc_txn_begin(s), 0);
	TU_EQ_INT(mvcc_txn_put(s, &p0, &pr), 0);
	TU_EQ_INT(mvcc_txn_put(s, &p1, &pr), 0);
	TU_EQ_INT(mvcc_txn_end(s), 2);
	for (int i = 2; i < 10; i++) {
		char key[8];
		snprintf(key, sizeof(key), "b%d", i);
		mvcct_put(s, key, big);	/* revs 3..10 */
	}
	struct watcher *w = mk("b", 1, "c", 1, NULL, 0, true);
	w->next_rev = 1;
	/* 300 KB records: 1 MiB is passed with the 4th; the chunk ends before the next
	 * revision, and the transaction's two records stay together */
	TU_EQ_INT(watch_catch_up(s, w, &c, &tmp), 4);
	TU_EQ_INT(c.next, 5);
	TU_CHECK(!c.done);
	w->next_rev = c.next;
	TU_EQ_INT(watch_catch_up(s, w, &c, &tmp), 4);
	TU_EQ_INT(c.next, 9);
	w->next_rev = c.next;
	TU_EQ_INT(watch_catch_up(s, w, &c, &tmp), 2);
	TU_CHECK(c.done);
	TU_EQ_INT(c.next, 11);

	/* compaction: below it the watcher is told; at it, history still serves */
	TU_EQ_INT(mvcc_compact(s, 6), 0);
	w->next_rev = 5;
	TU_EQ_INT(watch_catch_up(s, w, &c, &tmp), MVCC_ECOMPACTED);
	w->next_rev = 6;
	TU_EQ_INT(watch_catch_up(s, w, &c, &tmp), 4);	/* 6..9: four 300 KB records */
	w->next_rev = -3;	/* etcd: a negative start is below any compaction */
	TU_EQ_INT(watch_catch_up(s, w, &c, &tmp), MVCC_ECOMPACTED);

	free(w);
	free(big);
	watch_chunk_free(&c);
	pb_buf_free(&tmp);
	mvcc_free(s);
	TU_EQ_INT(mvcct_mem.outstanding, 0);
}

int main(void)
{
	TU_RUN(test_ranges);
	TU_RUN(test_filters_and_flags);
	TU_RUN(test_ids);
	TU_RUN(test_fragment);
	TU_RUN(test_rev_select);
	TU_RUN(test_catch_up_chunks);
	TU_RUN(test_catch_up_bytes);
	return TU_EXIT();
}
