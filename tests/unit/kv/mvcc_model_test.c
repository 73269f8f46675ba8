/* The MVCC store against a plain reference model (every revision in arrays, searched
 * linearly): thousands of random puts, deletes, transactions (some failing part-way for
 * memory or ignore_value and rolled back), ranges with random options and revisions,
 * compactions, history replays and events, compared result by result. The seed is printed;
 * MVCC_SEED=N repeats a run. */
#include <errno.h>
#include <inttypes.h>
#include <time.h>

#include "../testutil.h"
#include "mvcctest.h"

#define NKEYS 24
#define NOPS 4000
#define MAXREVS 40000

/* ---- randomness ------------------------------------------------------------------------- */
static uint64_t rng;
static uint64_t rnd(void)
{
	return mvcct_xorshift(&rng);
}
static int pick(int n)
{
	return (int)(rnd() % (uint64_t)n);
}

/* ---- the model -------------------------------------------------------------------------- */
struct mkey {
	uint8_t b[4];
	size_t len;
};

struct mrev {
	int key;
	int64_t main, create, version, lease;
	uint32_t sub;
	bool tomb;
	char val[8];
	size_t vlen;
};

static struct mkey keys[NKEYS];		/* sorted in the store's order */
static struct mrev revs[MAXREVS];	/* every revision, committed then pending, in order */
static int nrevs, ncommitted;
static int64_t cur, compacted;

static struct mvcc *s;
static struct mrev events[MAXREVS];	/* what the observer reported, as mrevs */
static struct mrev ev_prev[MAXREVS];
static bool ev_has_prev[MAXREVS];
static int nevents;
static bool failed;

#define CHECK(expr)                                                                         \
	do {                                                                                \
		if (!(expr) && !failed) {                                                   \
			failed = true;                                                      \
			fprintf(stderr, "FAIL %s:%d %s (op %d)\n", __FILE__, __LINE__, #expr, \
				opno);                                                      \
		}                                                                           \
	} while (0)
static int opno;

/* What a run did, printed so that a quiet run is visibly not a vacuous one. */
static struct {
	long writes, aborted, nomem, ranges, compactions, hist_events;
} did;

static int bcmp_(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	for (size_t i = 0; i < al && i < bl; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return al < bl ? -1 : al > bl;
}

static struct mvcc_bytes kb(int k)
{
	struct mvcc_bytes b = { keys[k].b, keys[k].len };
	return b;
}

static void make_keys(void)
{
	static const uint8_t alpha[] = { 0, 'a', 'b', 'c', 0xff };
	int n = 0;

	while (n < NKEYS) {
		struct mkey k = { .len = (size_t)(1 + pick(3)) };
		bool dup = false;
		for (size_t i = 0; i < k.len; i++)
			k.b[i] = alpha[pick(5)];
		for (int i = 0; i < n; i++)
			dup |= bcmp_(keys[i].b, keys[i].len, k.b, k.len) == 0;
		if (!dup)
			keys[n++] = k;
	}
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && bcmp_(keys[j - 1].b, keys[j - 1].len, keys[j].b, keys[j].len) > 0; j--) {
			struct mkey t = keys[j];
			keys[j] = keys[j - 1];
			keys[j - 1] = t;
		}
}

/* The latest revision of key k with main <= at among the first n revisions, or NULL. */
static const struct mrev *m_at(int k, int64_t at, int n)
{
	for (int i = n; i-- > 0;)
		if (revs[i].key == k && revs[i].main <= at)
			return &revs[i];
	return NULL;
}

static const struct mrev *m_live(int k, int64_t at, int n)
{
	const struct mrev *r = m_at(k, at, n);
	return r && !r->tomb ? r : NULL;
}

/* Whether compaction kept revision r. */
static bool held(const struct mrev *r)
{
	return r->main > compacted || (m_at(r->key, compacted, ncommitted) == r && !r->tomb);
}

static int64_t view(bool in_txn)
{
	return in_txn && nrevs > ncommitted ? cur + 1 : cur;
}

/* A span as two key indexes: end -1 = single, -2 = "\0" (unbounded). */
struct mspan {
	int key, end;
};

static bool m_in(struct mspan sp, int k)
{
	int c = bcmp_(keys[k].b, keys[k].len, keys[sp.key].b, keys[sp.key].len);
	if (sp.end == -1)
		return c == 0;
	if (c < 0)
		return false;
	/* a range_end of "\0" means no end, even when it comes from the key pool */
	if (sp.end == -2 || (keys[sp.end].len == 1 && keys[sp.end].b[0] == 0))
		return true;
	return bcmp_(keys[k].b, keys[k].len, keys[sp.end].b, keys[sp.end].len) < 0;
}

static struct mspan rnd_span(void)
{
	struct mspan sp = { pick(NKEYS), -1 };
	int r = pick(10);

	if (r < 3)
		sp.end = -1;
	else if (r < 5)
		sp.end = -2;
	else
		sp.end = pick(NKEYS);
	return sp;
}

static struct mvcc_bytes end_bytes(struct mspan sp)
{
	static const uint8_t zero = 0;
	struct mvcc_bytes b = { NULL, 0 };

	if (sp.end == -2)
		b = (struct mvcc_bytes){ &zero, 1 };
	else if (sp.end >= 0)
		b = kb(sp.end);
	return b;
}

static bool kv_is(const struct mvcc_kv *kv, const struct mrev *r, bool with_value)
{
	if (bcmp_(kv->key.p, kv->key.len, keys[r->key].b, keys[r->key].len) != 0)
		return false;
	if (r->tomb)
		return kv->mod_revision == r->main && !kv->create_revision && !kv->version &&
		       !kv->lease && !kv->value.len;
	return kv->mod_revision == r->main && kv->create_revision == r->create &&
	       kv->version == r->version && kv->lease == r->lease &&
	       (!with_value || (kv->value.len == r->vlen &&
				(!r->vlen || memcmp(kv->value.p, r->val, r->vlen) == 0)));
}

/* ---- ops -------------------------------------------------------------------------------- */

static void rnd_value(char *v, size_t *len)
{
	*len = (size_t)pick(4);
	for (size_t i = 0; i < *len; i++)
		v[i] = (char)('a' + pick(3));
}

static void do_put(bool in_txn, int *rc_out)
{
	int k = pick(NKEYS);
	struct mrev r = { .key = k };
	struct mvcc_put_req q = { .key = kb(k) };
	struct mvcc_put_res res;
	const struct mrev *old = m_at(k, INT64_MAX, nrevs);
	bool live = old && !old->tomb;
	int want = 0, rc;

	rnd_value(r.val, &r.vlen);
	q.value = (struct mvcc_bytes){ (const uint8_t *)r.val, r.vlen };
	q.lease = pick(3) ? 0 : 1 + pick(3);
	q.prev_kv = pick(2);
	q.ignore_value = pick(12) == 0;
	q.ignore_lease = pick(12) == 0;
	if (q.ignore_value && q.value.len)
		want = MVCC_EVALUE;
	else if (q.ignore_lease && q.lease)
		want = MVCC_ELEASE;
	else if ((q.ignore_value || q.ignore_lease) && !live)
		want = MVCC_ENOTFOUND;
	rc = in_txn ? mvcc_txn_put(s, &q, &res) : mvcc_put(s, &q, &res);
	*rc_out = rc;
	did.nomem += rc == -ENOMEM;
	if (rc == -ENOMEM)
		return;
	CHECK(rc == want);
	if (rc)
		return;
	r.main = cur + 1;
	r.sub = (uint32_t)(nrevs - ncommitted);
	r.create = live ? old->create : r.main;
	r.version = live ? old->version + 1 : 1;
	r.lease = q.ignore_lease ? old->lease : q.lease;
	if (q.ignore_value) {
		memcpy(r.val, old->val, old->vlen);
		r.vlen = old->vlen;
	}
	CHECK(res.revision == r.main);
	CHECK(res.has_prev == (q.prev_kv && live));
	if (res.has_prev)
		CHECK(kv_is(&res.prev, old, true));
	revs[nrevs++] = r;
}

static void do_delete(bool in_txn, int *rc_out)
{
	struct mspan sp = rnd_span();
	struct mvcc_delete_req q = { .key = kb(sp.key), .range_end = end_bytes(sp),
				     .prev_kv = pick(2) };
	struct mvcc_delete_res res;
	int64_t at = view(in_txn), n = 0;
	int rc = in_txn ? mvcc_txn_delete(s, &q, &res) : mvcc_delete(s, &q, &res);

	*rc_out = rc;
	did.nomem += rc == -ENOMEM;
	if (rc == -ENOMEM)
		return;
	CHECK(rc == 0);
	for (int k = 0; k < NKEYS; k++) {
		const struct mrev *old = m_live(k, at, nrevs);
		if (!m_in(sp, k) || !old)
			continue;
		if (q.prev_kv)
			CHECK((size_t)n < res.n_prev && kv_is(&res.prev_kvs[n], old, true));
		struct mrev r = { .key = k, .main = cur + 1, .sub = (uint32_t)(nrevs - ncommitted),
				  .tomb = true };
		revs[nrevs++] = r;
		n++;
	}
	CHECK(res.deleted == n);
	CHECK(res.n_prev == (size_t)(q.prev_kv ? n : 0));
	mvcc_delete_res_free(s, &res);
}

static int64_t target(const struct mvcc_kv *kv, enum mvcc_sort_target t)
{
	switch (t) {
	case MVCC_SORT_VERSION:
		return kv->version;
	case MVCC_SORT_CREATE:
		return kv->create_revision;
	case MVCC_SORT_MOD:
		return kv->mod_revision;
	default:
		return 0;
	}
}

/* The model's own order: by the target (then key), reversed for DESCEND except ties. */
static bool before(const struct mvcc_kv *a, const struct mvcc_kv *b, enum mvcc_sort_order o,
		   enum mvcc_sort_target t)
{
	int c;

	if (t == MVCC_SORT_KEY)
		c = bcmp_(a->key.p, a->key.len, b->key.p, b->key.len);
	else if (t == MVCC_SORT_VALUE)
		c = bcmp_(a->value.p, a->value.len, b->value.p, b->value.len);
	else
		c = target(a, t) < target(b, t) ? -1 : target(a, t) > target(b, t);
	if (o == MVCC_SORT_DESCEND)
		c = -c;
	if (!c)
		c = bcmp_(a->key.p, a->key.len, b->key.p, b->key.len);
	return c < 0;
}

static void do_range(bool in_txn, int *rc_out)
{
	struct mspan sp = rnd_span();
	struct mvcc_range_req q = { .key = kb(sp.key), .range_end = end_bytes(sp) };
	struct mvcc_range_res res;
	struct mvcc_kv want[NKEYS];
	int64_t v = view(in_txn), at, count = 0;
	size_t n = 0;
	int rc, wrc = 0;

	q.revision = pick(3) ? 0 : compacted - 1 + pick((int)(v - compacted + 3));
	q.limit = pick(2) ? 0 : pick(5);
	q.sort_order = (enum mvcc_sort_order)(pick(2) ? 0 : pick(3));
	q.sort_target = (enum mvcc_sort_target)(pick(2) ? 0 : pick(5));
	q.keys_only = pick(4) == 0;
	q.count_only = pick(8) == 0;
	if (!pick(4))
		q.min_mod_revision = pick((int)cur + 2);
	if (!pick(4))
		q.max_mod_revision = pick((int)cur + 2);
	if (!pick(4))
		q.min_create_revision = pick((int)cur + 2);
	if (!pick(4))
		q.max_create_revision = pick((int)cur + 2);
	rc = in_txn ? mvcc_txn_range(s, &q, &res) : mvcc_range(s, &q, &res);
	*rc_out = rc;
	did.nomem += rc == -ENOMEM;
	if (rc == -ENOMEM)
		return;
	did.ranges++;
	at = q.revision > 0 ? q.revision : v;
	if (q.revision > v)
		wrc = MVCC_EFUTURE;
	else if (at < compacted)
		wrc = MVCC_ECOMPACTED;
	CHECK(rc == wrc);
	if (rc)
		return;
	for (int k = 0; k < NKEYS; k++) {
		const struct mrev *r = m_live(k, at, nrevs);
		if (!m_in(sp, k) || !r)
			continue;
		count++;
		struct mvcc_kv kv = { .key = kb(k), .create_revision = r->create,
				      .mod_revision = r->main, .version = r->version,
				      .lease = r->lease,
				      .value = { (const uint8_t *)r->val, r->vlen } };
		if ((q.min_mod_revision && kv.mod_revision < q.min_mod_revision) ||
		    (q.max_mod_revision && kv.mod_revision > q.max_mod_revision) ||
		    (q.min_create_revision && kv.create_revision < q.min_create_revision) ||
		    (q.max_create_revision && kv.create_revision > q.max_create_revision))
			continue;
		want[n++] = kv;
	}
	enum mvcc_sort_order o = q.sort_order;
	if (o == MVCC_SORT_NONE && q.sort_target != MVCC_SORT_KEY)
		o = MVCC_SORT_ASCEND;
	for (size_t i = 1; o != MVCC_SORT_NONE && i < n; i++)
		for (size_t j = i; j > 0 && before(&want[j], &want[j - 1], o, q.sort_target); j--) {
			struct mvcc_kv t = want[j];
			want[j] = want[j - 1];
			want[j - 1] = t;
		}
	bool filtered = q.min_mod_revision || q.max_mod_revision || q.min_create_revision ||
			q.max_create_revision || q.sort_order || q.sort_target;
	size_t matched = filtered ? n : (size_t)count;
	CHECK(res.count == count);
	CHECK(res.revision == v);
	if (q.count_only) {
		CHECK(res.n == 0 && !res.more);
	} else {
		size_t lim = q.limit > 0 && (size_t)q.limit < n ? (size_t)q.limit : n;
		CHECK(res.more == (q.limit > 0 && matched > (size_t)q.limit));
		CHECK(res.n == lim);
		for (size_t i = 0; i < lim && i < res.n; i++) {
			const struct mvcc_kv *a = &res.kvs[i], *b = &want[i];
			CHECK(bcmp_(a->key.p, a->key.len, b->key.p, b->key.len) == 0);
			CHECK(a->mod_revision == b->mod_revision && a->version == b->version &&
			      a->create_revision == b->create_revision && a->lease == b->lease);
			if (q.keys_only)
				CHECK(a->value.len == 0);
			else
				CHECK(bcmp_(a->value.p, a->value.len, b->value.p, b->value.len) == 0);
		}
	}
	mvcc_range_res_free(s, &res);
}

static bool m_compare(const struct mvcc_compare *c, struct mspan sp, int64_t at)
{
	bool any = false;

	for (int k = 0; k < NKEYS; k++) {
		const struct mrev *r = m_live(k, at, nrevs);
		if (!m_in(sp, k) || !r)
			continue;
		any = true;
		int64_t x = c->target == MVCC_TARGET_VERSION ? r->version
			    : c->target == MVCC_TARGET_CREATE ? r->create
			    : c->target == MVCC_TARGET_MOD ? r->main : r->lease;
		int res = c->target == MVCC_TARGET_VALUE
			  ? bcmp_((const uint8_t *)r->val, r->vlen, c->value.p, c->value.len)
			  : (x < c->number ? -1 : x > c->number);
		bool ok = c->result == MVCC_CMP_EQUAL ? res == 0
			  : c->result == MVCC_CMP_GREATER ? res > 0
			  : c->result == MVCC_CMP_LESS ? res < 0 : res != 0;
		if (!ok)
			return false;
	}
	if (any)
		return true;
	if (c->target == MVCC_TARGET_VALUE)
		return false;
	int res = c->number > 0 ? -1 : c->number < 0;
	return c->result == MVCC_CMP_EQUAL ? res == 0
	       : c->result == MVCC_CMP_GREATER ? res > 0
	       : c->result == MVCC_CMP_LESS ? res < 0 : res != 0;
}

static void check_events(void)
{
	int from = ncommitted;	/* the just-committed revisions are revs[from, nrevs) */

	CHECK(nevents == nrevs - from);
	for (int i = 0; i < nevents && i < nrevs - from; i++) {
		const struct mrev *r = &revs[from + i], *e = &events[i];
		CHECK(e->key == r->key && e->main == r->main && e->tomb == r->tomb &&
		      e->version == r->version && e->create == r->create && e->lease == r->lease &&
		      e->vlen == r->vlen && memcmp(e->val, r->val, r->vlen) == 0);
		const struct mrev *p = m_at(r->key, r->main - 1, from);
		bool hp = p && !p->tomb && held(p);
		CHECK(ev_has_prev[i] == hp);
		if (hp && ev_has_prev[i])
			CHECK(ev_prev[i].main == p->main && ev_prev[i].vlen == p->vlen);
	}
	nevents = 0;
}

static void commit(void)
{
	if (nrevs > ncommitted)
		cur++;
	did.writes += nrevs - ncommitted;
	check_events();
	ncommitted = nrevs;
}

static void do_txn(void)
{
	struct mvcc_compare c[2];
	struct mspan csp[2];
	int nc = pick(3), nops = 1 + pick(4), rc = 0;

	if (pick(6) == 0)
		mvcct_fail(1 + pick(20), pick(2));
	CHECK(mvcc_txn_begin(s) == 0);
	for (int i = 0; i < nc; i++) {
		csp[i] = rnd_span();
		c[i] = (struct mvcc_compare){
			.result = (enum mvcc_cmp_result)pick(4),
			.target = (enum mvcc_cmp_target)pick(5),
			.key = kb(csp[i].key), .range_end = end_bytes(csp[i]),
			.number = pick(4) ? pick((int)cur + 1) : 0,
		};
		static char v[8];
		size_t vl;
		rnd_value(v, &vl);
		c[i].value = (struct mvcc_bytes){ (const uint8_t *)v, vl };
		bool got = mvcc_txn_compare(s, &c[i]), want = m_compare(&c[i], csp[i], view(true));
		CHECK(got == want);
	}
	for (int i = 0; i < nops && !rc; i++) {
		switch (pick(3)) {
		case 0: do_put(true, &rc); break;
		case 1: do_delete(true, &rc); break;
		default: do_range(true, &rc); break;
		}
	}
	mvcct_fail(0, false);
	if (rc) {
		mvcc_txn_abort(s);
		did.aborted++;
		nrevs = ncommitted;
		CHECK(nevents == 0);
		return;
	}
	CHECK(mvcc_txn_end(s) == view(true));
	commit();
}

static void do_one(bool put)
{
	int rc;

	if (pick(10) == 0)
		mvcct_fail(1 + pick(6), false);
	if (put)
		do_put(false, &rc);
	else
		do_delete(false, &rc);
	mvcct_fail(0, false);
	if (rc) {
		CHECK(nrevs == ncommitted);
		nrevs = ncommitted;
		CHECK(nevents == 0);
		return;
	}
	commit();
	CHECK(mvcc_rev(s) == cur);
}

static void do_compact(void)
{
	int64_t rev = compacted - 1 + pick((int)(cur - compacted + 3));
	int want = rev <= compacted ? MVCC_ECOMPACTED : rev > cur ? MVCC_EFUTURE : 0;

	if (pick(4) == 0)
		mvcct_fail(1, true);	/* shrinking may fail; compaction must not */
	CHECK(mvcc_compact(s, rev) == want);
	mvcct_fail(0, false);
	if (!want) {
		compacted = rev;
		did.compactions++;
	}
	CHECK(mvcc_compacted(s) == compacted);
}

struct hist {
	struct mrev ev[MAXREVS];
	bool last[MAXREVS], has_prev[MAXREVS];
	int n;
};
static struct hist got_h;

static int key_index(struct mvcc_bytes b)
{
	for (int k = 0; k < NKEYS; k++)
		if (bcmp_(keys[k].b, keys[k].len, b.p, b.len) == 0)
			return k;
	return -1;
}

static void to_mrev(const struct mvcc_event *ev, struct mrev *r)
{
	memset(r, 0, sizeof(*r));
	r->key = key_index(ev->kv.key);
	r->main = ev->kv.mod_revision;
	r->create = ev->kv.create_revision;
	r->version = ev->kv.version;
	r->lease = ev->kv.lease;
	r->tomb = ev->type == MVCC_EVENT_DELETE;
	r->vlen = ev->kv.value.len < 8 ? ev->kv.value.len : 8;
	if (r->vlen)
		memcpy(r->val, ev->kv.value.p, r->vlen);
}

static void hist_record(void *ctx, const struct mvcc_event *ev)
{
	struct hist *h = ctx;

	if (h->n >= MAXREVS)
		return;
	to_mrev(ev, &h->ev[h->n]);
	h->last[h->n] = ev->last;
	h->has_prev[h->n] = ev->has_prev;
	h->n++;
}

static void do_history(void)
{
	struct mspan sp = rnd_span();
	int64_t start = compacted - 1 + pick((int)(cur - compacted + 3)), next;
	size_t max = (size_t)(pick(2) ? 0 : 1 + pick(4));
	int64_t rc;

	if (start < 1)
		start = 1;
	got_h.n = 0;
	rc = mvcc_history(s, kb(sp.key), end_bytes(sp), start, max, hist_record, &got_h, &next);
	if (start < compacted) {
		CHECK(rc == MVCC_ECOMPACTED);
		return;
	}
	for (int guard = 0; rc >= 0 && next <= cur && guard < 100000; guard++) {
		CHECK(max && (size_t)rc >= max);	/* a chunk stops only past max */
		rc = mvcc_history(s, kb(sp.key), end_bytes(sp), next, max, hist_record, &got_h, &next);
	}
	CHECK(rc >= 0 && next == (start > cur ? start : cur + 1));
	int n = 0;
	for (int i = 0; i < ncommitted; i++) {
		const struct mrev *r = &revs[i];
		if (r->main < start || !m_in(sp, r->key) || !held(r))
			continue;
		bool last = true;
		for (int j = i + 1; j < ncommitted && revs[j].main == r->main; j++)
			if (m_in(sp, revs[j].key) && held(&revs[j]))
				last = false;
		const struct mrev *p = m_at(r->key, r->main - 1, ncommitted);
		bool hp = p && !p->tomb && held(p);
		CHECK(n < got_h.n);
		if (n < got_h.n) {
			const struct mrev *g = &got_h.ev[n];
			CHECK(g->key == r->key && g->main == r->main && g->tomb == r->tomb &&
			      g->version == r->version && g->create == r->create &&
			      g->vlen == r->vlen && g->lease == r->lease);
			CHECK(got_h.last[n] == last);
			CHECK(got_h.has_prev[n] == hp);
		}
		n++;
	}
	CHECK(n == got_h.n);
	did.hist_events += n;
}

static void check_stats(void)
{
	struct mvcc_stats st;
	size_t live = 0, index_keys = 0, held_revs = 0;

	mvcc_stats(s, &st);
	for (int k = 0; k < NKEYS; k++) {
		bool any = false;
		live += m_live(k, cur, ncommitted) != NULL;
		for (int i = 0; i < ncommitted; i++)
			if (revs[i].key == k && held(&revs[i])) {
				any = true;
				held_revs++;
			}
		index_keys += any;
	}
	CHECK(st.keys == live);
	CHECK(st.index_keys == index_keys);
	CHECK(st.revisions == held_revs);
}

static bool same_kv(const struct mvcc_kv *a, const struct mvcc_kv *b)
{
	return mvcct_cmp(a->key, b->key) == 0 && mvcct_cmp(a->value, b->value) == 0 &&
	       a->create_revision == b->create_revision && a->mod_revision == b->mod_revision &&
	       a->version == b->version && a->lease == b->lease;
}

/* The store dumped revision by revision (as a snapshot is) into a new one gives the same
 * reads at every revision held and the same HashKV: create revisions and versions follow
 * from the revisions a compaction left, including a life whose first put is gone. */
static void check_restore(void)
{
	struct mvcc *c = mvcct_new();
	struct mvcc_hash ha, hb;
	size_t n = mvcc_rec_count(s);

	for (size_t i = 0; i < n && !failed; i++) {
		struct mvcc_rec r;
		int rc;
		CHECK(mvcc_rec_at(s, i, &r) == 0);
		CHECK((rc = mvcc_restore_rec(c, &r)) == 0);
		if (rc)
			fprintf(stderr, "rec %zu of %zu: rc %d, rev %" PRId64 ".%u %s create %" PRId64
				" version %" PRId64 " compacted %" PRId64 "\n", i, n, rc,
				r.kv.mod_revision, r.sub, r.tomb ? "tomb" : "put",
				r.kv.create_revision, r.kv.version, compacted);
	}
	CHECK(mvcc_restore_revs(c, mvcc_rev(s), mvcc_compacted(s)) == 0);
	CHECK(mvcc_hash_kv(s, 0, &ha) == 0 && mvcc_hash_kv(c, 0, &hb) == 0);
	CHECK(ha.hash == hb.hash);
	for (int64_t v = compacted > 1 ? compacted : 1; v <= cur && !failed; v++) {
		static const uint8_t zero = 0;	/* every key: from "\0" with range end "\0" */
		struct mvcc_range_req q = { .key = { &zero, 1 }, .range_end = { &zero, 1 },
					    .revision = v };
		struct mvcc_range_res ra, rb;
		CHECK(mvcc_range(s, &q, &ra) == 0);
		CHECK(mvcc_range(c, &q, &rb) == 0);
		CHECK(ra.n == rb.n);
		for (size_t i = 0; i < ra.n && i < rb.n; i++)
			CHECK(same_kv(&ra.kvs[i], &rb.kvs[i]));
		mvcc_range_res_free(s, &ra);
		mvcc_range_res_free(c, &rb);
	}
	mvcc_free(c);
}

static void observe(void *ctx, const struct mvcc_event *ev)
{
	(void)ctx;
	if (nevents >= MAXREVS)
		return;
	to_mrev(ev, &events[nevents]);
	ev_has_prev[nevents] = ev->has_prev;
	if (ev->has_prev) {
		ev_prev[nevents].main = ev->prev.mod_revision;
		ev_prev[nevents].vlen = ev->prev.value.len;
	}
	nevents++;
}

static void run(uint64_t seed)
{
	rng = seed * 2654435761u + 1;
	nrevs = ncommitted = nevents = 0;
	cur = 1;
	compacted = 0;
	make_keys();
	mvcct_slab = seed % 2;	/* every other run with small blocks in chunks */
	s = mvcct_new();
	mvcc_set_observer(s, observe, NULL);
	for (opno = 0; opno < NOPS && !failed && nrevs < MAXREVS - 200; opno++) {
		int r = pick(100);
		if (r < 30)
			do_one(true);
		else if (r < 40)
			do_one(false);
		else if (r < 60)
			do_txn();
		else if (r < 85) {
			int rc;
			do_range(false, &rc);
		} else if (r < 88)
			do_compact();
		else
			do_history();
		CHECK(mvcc_rev(s) == cur);
		if (opno % 50 == 0)
			check_stats();
		if (opno % 200 == 199)
			check_restore();
	}
	check_stats();
	check_restore();
	mvcc_free(s);
	CHECK(mvcct_mem.outstanding == 0);
}

static void test_against_model(void)
{
	const char *env = getenv("MVCC_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL);

	printf("seed %" PRIu64 " (MVCC_SEED=%" PRIu64 " repeats it)\n", seed, seed);
	for (int i = 0; i < 3 && !failed; i++) {
		run(seed + (uint64_t)i);
		if (failed)
			printf("failed with MVCC_SEED=%" PRIu64 "\n", seed + (uint64_t)i);
	}
	printf("%ld key writes, %ld transactions rolled back, %ld ops out of memory, %ld ranges, "
	       "%ld compactions, %ld history events compared\n", did.writes, did.aborted,
	       did.nomem, did.ranges, did.compactions, did.hist_events);
	TU_CHECK(!failed);
}

int main(void)
{
	TU_RUN(test_against_model);
	return TU_EXIT();
}
