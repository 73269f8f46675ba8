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
	r = &e->key->revs[mvcc_key_find(e->key, e->main, e->sub)];
	mvcc_rd_reset(s);
	rc = mvcc_key_kv(s, e->key, r, &out->kv);
	out->sub = r->sub;
	out->tomb = r->tomb != 0;
	return rc;
}

/* A revision may start a new revision above the current one, or continue the last one
 * with a higher sub; a put's metadata must be possible. */
static int rec_check(const struct mvcc *s, const struct mvcc_rec *r)
{
	const struct mvcc_kv *kv = &r->kv;
	const struct mvcc_logent *last = s->nlog ? &s->log[s->nlog - 1] : NULL;
	int64_t main = kv->mod_revision;

	if (!kv->key.len || kv->key.len > UINT32_MAX || kv->value.len > UINT32_MAX)
		return MVCC_EARG;
	if (main < 2 || main <= s->compacted)
		return MVCC_EARG;
	if (main <= s->rev && !(last && last->main == main && r->sub > last->sub))
		return MVCC_EARG;
	if (!r->tomb && (kv->create_revision < 1 || kv->create_revision > main ||
			 kv->version < 1))
		return MVCC_EARG;
	return 0;
}

/* The key to append to, with room for one more revision: found, or new in the index. */
static int rec_key(struct mvcc *s, struct mvcc_bytes key, struct mvcc_key **out)
{
	struct mvcc_key *k = mvcc_bt_get(&s->index, key.p, key.len);

	if (k) {
		*out = k;
		return mvcc_key_reserve(s, k);
	}
	k = mvcc_key_new(s, key);
	if (!k)
		return -ENOMEM;
	if (mvcc_bt_insert(s, &s->index, k, key)) {
		mvcc_key_free(s, k);
		return -ENOMEM;
	}
	*out = k;
	return 0;
}

int mvcc_restore_rec(struct mvcc *s, const struct mvcc_rec *r)
{
	struct mvcc_rev nr = { 0 };
	struct mvcc_key *k;
	int rc;

	if (s->in_txn)
		return MVCC_ETXN;
	rc = rec_check(s, r);
	if (rc)
		return rc;
	if (mvcc_log_reserve(s, 1))
		return -ENOMEM;
	if (!r->tomb && (rc = mvcc_val_restore(s, &nr, r->kv.value)))
		return rc;
	if (rec_key(s, r->kv.key, &k)) {
		mvcc_val_drop(s, &nr);
		return -ENOMEM;
	}
	nr.main = r->kv.mod_revision;
	nr.sub = r->sub;
	nr.tomb = r->tomb;
	if (!r->tomb) {
		nr.create = r->kv.create_revision;
		nr.version = r->kv.version;
		nr.lease = r->kv.lease;
	}
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
