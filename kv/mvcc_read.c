/* The MVCC store's reads: Range as etcd 3.4's applier does it (count, filters, sort, then
 * limit) and Txn compares. */
#include <errno.h>
#include <string.h>

#include "mvcc_int.h"

static int cmp64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

static int cmp_bytes(struct mvcc_bytes a, struct mvcc_bytes b)
{
	return mvcc_key_cmp(a.p, a.len, b.p, b.len);
}

/* ---- sorting: a heapsort (no memory; the order is total, so stability is moot) --------- */

struct order {
	enum mvcc_sort_order dir;
	enum mvcc_sort_target target;
};

/* Ties on the target fall back to ascending key order in both directions, which is what
 * etcd's sort gives for the small results it sorts by insertion. */
static int kv_order(const struct order *o, const struct mvcc_kv *a, const struct mvcc_kv *b)
{
	int c;

	switch (o->target) {
	case MVCC_SORT_VERSION:
		c = cmp64(a->version, b->version);
		break;
	case MVCC_SORT_CREATE:
		c = cmp64(a->create_revision, b->create_revision);
		break;
	case MVCC_SORT_MOD:
		c = cmp64(a->mod_revision, b->mod_revision);
		break;
	case MVCC_SORT_VALUE:
		c = cmp_bytes(a->value, b->value);
		break;
	default:
		c = cmp_bytes(a->key, b->key);
		break;
	}
	if (o->dir == MVCC_SORT_DESCEND)
		c = -c;
	return c ? c : cmp_bytes(a->key, b->key);
}

static void sift(const struct order *o, struct mvcc_kv *v, size_t i, size_t n)
{
	for (;;) {
		size_t c = 2 * i + 1;
		struct mvcc_kv t;
		if (c >= n)
			return;
		if (c + 1 < n && kv_order(o, &v[c + 1], &v[c]) > 0)
			c++;
		if (kv_order(o, &v[c], &v[i]) <= 0)
			return;
		t = v[i];
		v[i] = v[c];
		v[c] = t;
		i = c;
	}
}

static void kv_sort(const struct order *o, struct mvcc_kv *v, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift(o, v, i, n);
	for (size_t end = n; end-- > 1;) {
		struct mvcc_kv t = v[0];
		v[0] = v[end];
		v[end] = t;
		sift(o, v, 0, end);
	}
}

/* ---- Range ----------------------------------------------------------------------------- */

static bool filtered_out(const struct mvcc_range_req *q, const struct mvcc_kv *kv)
{
	return (q->max_mod_revision && kv->mod_revision > q->max_mod_revision) ||
	       (q->min_mod_revision && kv->mod_revision < q->min_mod_revision) ||
	       (q->max_create_revision && kv->create_revision > q->max_create_revision) ||
	       (q->min_create_revision && kv->create_revision < q->min_create_revision);
}

/* etcd fetches everything when it must sort or filter, else only up to the limit. */
static bool needs_all(const struct mvcc_range_req *q)
{
	return q->sort_order != MVCC_SORT_NONE || q->sort_target != MVCC_SORT_KEY ||
	       q->min_mod_revision || q->max_mod_revision || q->min_create_revision ||
	       q->max_create_revision;
}

/* Fills up to cap kvs of the span at revision at, filtered as q says when all is set;
 * their values only when a sort needs them. Returns how many, or an error. */
static long collect(struct mvcc *s, const struct mvcc_span *sp, int64_t at,
		    const struct mvcc_range_req *q, bool all, struct mvcc_kv *kvs, size_t cap)
{
	bool values = q->sort_target == MVCC_SORT_VALUE;
	const struct mvcc_rev *r;
	struct mvcc_key *k;
	size_t n = 0;
	int rc;

	for (struct mvcc_pos pos = mvcc_span_begin(s, sp); n < cap && (k = mvcc_span_key(sp, pos));
	     mvcc_bt_next(&pos)) {
		if (!(r = mvcc_key_live(k, at)))
			continue;
		if ((rc = mvcc_key_meta(s, k, r, &kvs[n])))
			return rc;
		if (all && filtered_out(q, &kvs[n]))
			continue;
		if (values && (rc = mvcc_val_get(s, r, &kvs[n].value)))
			return rc;
		n++;
	}
	return (long)n;
}

/* The values of the kvs chosen, read after sorting and the limit so that no more are
 * read than are returned. */
static int fill_values(struct mvcc *s, int64_t at, struct mvcc_kv *kvs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct mvcc_key *k = mvcc_bt_get(&s->index, kvs[i].key.p, kvs[i].key.len);
		const struct mvcc_rev *r = k ? mvcc_key_live(k, at) : NULL;
		int rc = r ? mvcc_val_get(s, r, &kvs[i].value) : -EIO;
		if (rc)
			return rc;
	}
	return 0;
}

int mvcc_range_in(struct mvcc *s, const struct mvcc_range_req *q, struct mvcc_range_res *res)
{
	int64_t view = mvcc_view_rev(s), at;
	size_t count = 0, limit, cap, n;
	long got;
	struct mvcc_span sp;
	struct mvcc_key *k;
	bool all = needs_all(q);
	int rc;

	memset(res, 0, sizeof(*res));
	if (!q->key.len)
		return MVCC_ENOKEY;
	if ((unsigned)q->sort_order > MVCC_SORT_DESCEND || (unsigned)q->sort_target > MVCC_SORT_VALUE)
		return MVCC_ESORT;
	if ((rc = mvcc_read_rev(s, q->revision, view, &at)))
		return rc;
	mvcc_span_init(s, &sp, q->key, q->range_end);
	for (struct mvcc_pos pos = mvcc_span_begin(s, &sp); (k = mvcc_span_key(&sp, pos));
	     mvcc_bt_next(&pos))
		count += mvcc_key_live(k, at) != NULL;
	res->revision = view;
	res->count = (int64_t)count;
	if (q->count_only || !count)
		return 0;

	limit = q->limit > 0 && (uint64_t)q->limit < SIZE_MAX ? (size_t)q->limit : SIZE_MAX;
	cap = all || limit > count ? count : limit;
	if (!(res->kvs = mvcc_res_alloc(s, cap * sizeof(res->kvs[0]))))
		return -ENOMEM;
	got = collect(s, &sp, at, q, all, res->kvs, cap);
	if (got < 0) {
		mvcc_range_res_free(s, res);
		return (int)got;
	}
	n = (size_t)got;
	if (all) {
		struct order o = { q->sort_order, q->sort_target };
		if (o.dir == MVCC_SORT_NONE && o.target != MVCC_SORT_KEY)
			o.dir = MVCC_SORT_ASCEND;
		if (o.dir != MVCC_SORT_NONE)
			kv_sort(&o, res->kvs, n);
	}
	res->more = (all ? n : count) > limit;
	res->n = n < limit ? n : limit;
	if (q->keys_only) {
		for (size_t i = 0; i < res->n; i++)
			res->kvs[i].value = (struct mvcc_bytes){ NULL, 0 };
	} else if (q->sort_target != MVCC_SORT_VALUE && (rc = fill_values(s, at, res->kvs, res->n))) {
		mvcc_range_res_free(s, res);
		return rc;
	}
	return 0;
}

void mvcc_range_res_free(struct mvcc *s, struct mvcc_range_res *res)
{
	mvcc_res_free(s, res->kvs);
	memset(res, 0, sizeof(*res));
}

/* ---- Compare --------------------------------------------------------------------------- */

static bool compare_one(const struct mvcc_compare *c, const struct mvcc_kv *kv)
{
	int r = 0;

	switch (c->target) {
	case MVCC_TARGET_VERSION:
		r = cmp64(kv->version, c->number);
		break;
	case MVCC_TARGET_CREATE:
		r = cmp64(kv->create_revision, c->number);
		break;
	case MVCC_TARGET_MOD:
		r = cmp64(kv->mod_revision, c->number);
		break;
	case MVCC_TARGET_LEASE:
		r = cmp64(kv->lease, c->number);
		break;
	case MVCC_TARGET_VALUE:
		r = cmp_bytes(kv->value, c->value);
		break;
	}
	switch (c->result) {
	case MVCC_CMP_EQUAL:
		return r == 0;
	case MVCC_CMP_GREATER:
		return r > 0;
	case MVCC_CMP_LESS:
		return r < 0;
	case MVCC_CMP_NOT_EQUAL:
		return r != 0;
	}
	return true;
}

bool mvcc_txn_compare(struct mvcc *s, const struct mvcc_compare *c)
{
	int64_t at = mvcc_view_rev(s);
	const struct mvcc_rev *r;
	struct mvcc_span sp;
	struct mvcc_key *k;
	struct mvcc_kv kv;
	bool any = false;

	mvcc_span_init(s, &sp, c->key, c->range_end);
	for (struct mvcc_pos pos = mvcc_span_begin(s, &sp); (k = mvcc_span_key(&sp, pos));
	     mvcc_bt_next(&pos)) {
		if (!(r = mvcc_key_live(k, at)))
			continue;
		any = true;
		memset(&kv, 0, sizeof(kv));	/* a compare needs no key */
		kv.mod_revision = r->main;
		mvcc_rev_meta(s, k, r, &kv);
		if (c->target == MVCC_TARGET_VALUE) {
			struct mvcc_rdmark m = mvcc_rd_mark(s);
			bool ok = !mvcc_val_get(s, r, &kv.value) && compare_one(c, &kv);
			/* a value that cannot be read fails the compare (and is counted) */
			s->read_errors += kv.value.len != r->vlen;
			mvcc_rd_release(s, m);
			if (!ok)
				return false;
		} else if (!compare_one(c, &kv)) {
			return false;
		}
	}
	if (any)
		return true;
	/* a missing key: zero numbers, and no value to compare at all */
	if (c->target == MVCC_TARGET_VALUE)
		return false;
	memset(&kv, 0, sizeof(kv));
	return compare_one(c, &kv);
}
