/* Dump and restore for snapshots and the write-ahead log: the store's key revisions one by
 * one in (revision, sub) order, and a store rebuilt from them at their own revisions. */
#include <errno.h>
#include <string.h>

#include "mvcc_int.h"

size_t mvcc_rec_count(const struct mvcc *s)
{
	return s->nlog;
}

int mvcc_rec_at(struct mvcc *s, size_t i, struct mvcc_rec *out)
{
	const struct mvcc_logent *e;
	const struct mvcc_rev *r;
	int rc;

	memset(out, 0, sizeof(*out));
	if (s->in_txn)
		return MVCC_ETXN;
	if (i >= s->nlog)
		return MVCC_EARG;
	e = &s->log[i];
	r = mvcc_log_rev(e);
	mvcc_rd_reset(s);
	rc = mvcc_key_kv(s, e->key, r, &out->kv);
	out->sub = r->sub;
	out->tomb = r->tomb != 0;
	return rc;
}

/* A revision may start a new revision above the current one, or continue the last one
 * with a higher sub; a put's metadata must be possible, and follow from the key's last
 * revision: the next version of the same life, or a new life (version 1, created here).
 * Only a key's first revision may be a put in the middle of a life. Sets *mid for that. */
static int rec_check(struct mvcc *s, const struct mvcc_rec *r, const struct mvcc_key *k,
		     bool *mid)
{
	const struct mvcc_kv *kv = &r->kv;
	const struct mvcc_logent *last = s->nlog ? &s->log[s->nlog - 1] : NULL;
	const struct mvcc_rev *prev = k && k->nrev ? &k->revs[k->nrev - 1] : NULL;
	int64_t main = kv->mod_revision;

	*mid = false;
	if (!kv->key.len || kv->key.len > MVCC_KEY_MAX || kv->value.len > INT32_MAX)
		return MVCC_EARG;
	if (main < 2 || main <= s->compacted)
		return MVCC_EARG;
	if (main <= s->rev && !(last && mvcc_log_rev(last)->main == main &&
				r->sub > mvcc_log_rev(last)->sub))
		return MVCC_EARG;
	if (r->tomb)
		return 0;
	if (kv->create_revision < 1 || kv->create_revision > main || kv->version < 1)
		return MVCC_EARG;
	if (prev && !prev->tomb) {
		struct mvcc_kv m;
		mvcc_rev_meta(s, k, prev, &m);
		return kv->create_revision == m.create_revision && kv->version == m.version + 1 ?
			       0 : MVCC_EARG;
	}
	if (kv->create_revision == main && kv->version == 1)
		return 0;	/* a new life */
	*mid = !prev;		/* a life whose start is not held (a compaction took it) */
	return prev ? MVCC_EARG : 0;
}

/* The key to append to, with room for one more revision: k, or new in the index. */
static int rec_key(struct mvcc *s, struct mvcc_bytes key, bool put, struct mvcc_key **k)
{
	if (*k)
		return mvcc_key_reserve(s, *k, put);
	*k = mvcc_key_new(s, key);
	if (!*k)
		return -ENOMEM;
	if (mvcc_bt_insert(s, &s->index, *k, key)) {
		mvcc_key_free(s, *k);
		*k = NULL;
		return -ENOMEM;
	}
	return 0;
}

int mvcc_restore_rec(struct mvcc *s, const struct mvcc_rec *r)
{
	struct mvcc_key *k;
	struct mvcc_rev nr = { 0 };
	bool mid, fresh;
	int rc;

	if (s->in_txn)
		return MVCC_ETXN;
	k = r->kv.key.len ? mvcc_bt_get(&s->index, r->kv.key.p, r->kv.key.len) : NULL;
	fresh = !k;
	rc = rec_check(s, r, k, &mid);
	if (rc)
		return rc;
	if (mvcc_log_reserve(s, 1))
		return -ENOMEM;
	if (!r->tomb && (rc = mvcc_val_restore(s, &nr, r->kv.value)))
		return rc;
	if (!r->tomb && mvcc_lid_get(s, r->kv.lease, &nr.lease)) {
		mvcc_val_drop(s, &nr);
		return -ENOMEM;
	}
	if (rec_key(s, r->kv.key, !r->tomb, &k) ||
	    (mid && mvcc_key_set_base(s, k, r->kv.create_revision, r->kv.version))) {
		if (k && fresh) {
			mvcc_bt_remove(s, &s->index, k);
			mvcc_key_free(s, k);
		}
		mvcc_rev_drop(s, &nr);
		return -ENOMEM;
	}
	nr.main = r->kv.mod_revision;
	nr.sub = r->sub;
	nr.tomb = r->tomb;
	mvcc_key_append(s, k, &nr);
	if (nr.main > s->rev)
		s->rev = nr.main;
	return 0;
}

int mvcc_restore_revs(struct mvcc *s, int64_t rev, int64_t compacted)
{
	if (s->in_txn)
		return MVCC_ETXN;
	if (rev < s->rev || compacted < s->compacted || compacted > rev)
		return MVCC_EARG;
	s->rev = rev;
	s->compacted = compacted;
	return 0;
}

/* Calls fn for each key of [first, last] that exists now, in order, until it fails. */
static int each_live(struct mvcc *s, struct mvcc_bytes first, struct mvcc_bytes last,
		     int (*fn)(struct mvcc *s, struct mvcc_key *k, void *ctx), void *ctx)
{
	struct mvcc_key *k;
	int rc;

	for (struct mvcc_pos pos = mvcc_bt_seek(&s->index, first.p, first.len);
	     (k = mvcc_bt_at(pos)) && mvcc_key_cmp_to(s, k, last.p, last.len) <= 0;
	     mvcc_bt_next(&pos))
		if (!k->revs[k->nrev - 1].tomb && (rc = fn(s, k, ctx)))
			return rc;
	return 0;
}

struct sweep {
	struct mvcc_bytes first;
	uint32_t n;		/* keys seen so far */
	struct mvcc_key *last;	/* the last one */
	struct mvcc_rev r;	/* the next tombstone */
};

static int sweep_count(struct mvcc *s, struct mvcc_key *k, void *ctx)
{
	struct sweep *w = ctx;

	if (!w->n && mvcc_key_cmp_to(s, k, w->first.p, w->first.len) != 0)
		return MVCC_EARG;	/* the first key is gone, or another comes before it */
	w->n++;
	w->last = k;
	return 0;
}

static int sweep_reserve(struct mvcc *s, struct mvcc_key *k, void *ctx)
{
	(void)ctx;
	return mvcc_key_reserve(s, k, false);
}

static int sweep_apply(struct mvcc *s, struct mvcc_key *k, void *ctx)
{
	struct sweep *w = ctx;

	mvcc_key_append(s, k, &w->r);
	s->log[s->nlog - 1].sweep = w->n++ > 0;
	w->r.sub++;
	return 0;
}

int mvcc_restore_sweep(struct mvcc *s, int64_t rev, uint32_t sub, struct mvcc_bytes first,
		       struct mvcc_bytes last, uint32_t n)
{
	const struct mvcc_logent *tail = s->nlog ? &s->log[s->nlog - 1] : NULL;
	struct sweep w = { .first = first };
	int rc;

	if (s->in_txn)
		return MVCC_ETXN;
	if (n < 2 || !first.len || !last.len || sub > UINT32_MAX - n || rev < 2 ||
	    rev <= s->compacted ||
	    (rev <= s->rev && !(tail && mvcc_log_rev(tail)->main == rev &&
				sub > mvcc_log_rev(tail)->sub)))
		return MVCC_EARG;
	if ((rc = each_live(s, first, last, sweep_count, &w)))
		return rc;
	if (w.n != n || mvcc_key_cmp_to(s, w.last, last.p, last.len) != 0)
		return MVCC_EARG;
	/* room first (a failure leaves only spare capacity behind), then the tombstones */
	if (mvcc_log_reserve(s, n) || each_live(s, first, last, sweep_reserve, NULL))
		return -ENOMEM;
	w.n = 0;
	w.r = (struct mvcc_rev){ .main = rev, .sub = sub, .tomb = 1 };
	each_live(s, first, last, sweep_apply, &w);
	if (rev > s->rev)
		s->rev = rev;
	return 0;
}
