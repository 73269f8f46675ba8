/* The MVCC store's writes inside the open transaction: Put and DeleteRange with etcd 3.4's
 * rules. Each reserves what it needs before writing and undoes its own partial work on
 * failure, so a failed op leaves the transaction exactly as it was. */
#include <errno.h>
#include <string.h>

#include "mvcc_int.h"

/* The sub-revision of the transaction's next write. */
static uint32_t next_sub(const struct mvcc *s)
{
	return (uint32_t)(s->nlog - s->txn_start);
}

static int put_check(const struct mvcc_put_req *req, const struct mvcc_rev *cur)
{
	bool live = cur && !cur->tomb;

	if (!req->key.len)
		return MVCC_ENOKEY;
	if (req->key.len > MVCC_KEY_MAX || req->value.len > INT32_MAX)
		return MVCC_EARG;
	if (req->ignore_value && req->value.len)
		return MVCC_EVALUE;
	if (req->ignore_lease && req->lease)
		return MVCC_ELEASE;
	if ((req->ignore_value || req->ignore_lease) && !live)
		return MVCC_ENOTFOUND;
	return 0;
}

/* The key to write to: k itself (with room for a revision), or a new one in the index. */
static int put_target(struct mvcc *s, const struct mvcc_put_req *req, struct mvcc_key **k)
{
	if (*k)
		return mvcc_key_reserve(s, *k, true);
	*k = mvcc_key_new(s, req->key);
	if (!*k)
		return -ENOMEM;
	if (mvcc_bt_insert(s, &s->index, *k, req->key)) {
		mvcc_key_free(s, *k);
		*k = NULL;
		return -ENOMEM;
	}
	return 0;
}

int mvcc_put_in(struct mvcc *s, const struct mvcc_put_req *req, struct mvcc_put_res *res)
{
	struct mvcc_key *k = mvcc_bt_get(&s->index, req->key.p, req->key.len);
	struct mvcc_rev old = { 0 }, r = { 0 };
	struct mvcc_bytes val = req->value;
	bool live = false;
	int rc;

	memset(res, 0, sizeof(*res));
	if (k) {
		old = k->revs[k->nrev - 1];	/* a copy: reserving may move the array */
		live = !old.tomb;
	}
	rc = put_check(req, k ? &old : NULL);
	if (rc)
		return rc;
	if (req->ignore_value && (rc = mvcc_val_get(s, &old, &val)))
		return rc;
	if (req->prev_kv && live &&
	    (rc = mvcc_key_kv(s, k, &k->revs[k->nrev - 1], &res->prev))) {
		memset(&res->prev, 0, sizeof(res->prev));
		return rc;
	}
	if (mvcc_log_reserve(s, 1) || mvcc_val_make(s, &r, val.p, val.len))
		return -ENOMEM;
	if (req->ignore_lease)
		mvcc_lid_ref(s, r.lease = old.lease);
	else if (mvcc_lid_get(s, req->lease, &r.lease)) {
		mvcc_val_drop(s, &r);
		return -ENOMEM;
	}
	if (put_target(s, req, &k)) {
		mvcc_rev_drop(s, &r);
		return -ENOMEM;
	}
	r.main = s->rev + 1;
	r.sub = next_sub(s);
	res->has_prev = req->prev_kv && live;
	mvcc_key_append(s, k, &r);
	res->revision = r.main;
	return 0;
}

/* Counts the keys of the span that exist now. */
static size_t count_live(struct mvcc *s, const struct mvcc_span *sp)
{
	struct mvcc_key *k;
	size_t n = 0;

	for (struct mvcc_pos pos = mvcc_span_begin(s, sp); (k = mvcc_span_key(sp, pos));
	     mvcc_bt_next(&pos))
		n += !k->revs[k->nrev - 1].tomb;
	return n;
}

int mvcc_delete_in(struct mvcc *s, const struct mvcc_delete_req *req,
		   struct mvcc_delete_res *res)
{
	struct mvcc_span sp;
	struct mvcc_kv *prev = NULL;
	struct mvcc_key *k;
	size_t n, i = 0, mark = s->nlog;
	int rc;

	memset(res, 0, sizeof(*res));
	if (!req->key.len)
		return MVCC_ENOKEY;
	mvcc_span_init(s, &sp, req->key, req->range_end);
	res->revision = mvcc_view_rev(s);
	n = count_live(s, &sp);
	if (!n)
		return 0;
	if (req->prev_kv && !(prev = mvcc_res_alloc(s, n * sizeof(*prev))))
		return -ENOMEM;
	if (mvcc_log_reserve(s, n)) {
		mvcc_res_free(s, prev);
		return -ENOMEM;
	}
	/* appending revisions leaves the index alone, so the walk stays valid */
	for (struct mvcc_pos pos = mvcc_span_begin(s, &sp); (k = mvcc_span_key(&sp, pos));
	     mvcc_bt_next(&pos)) {
		struct mvcc_rev r = { 0 };
		if (k->revs[k->nrev - 1].tomb)
			continue;
		rc = mvcc_key_reserve(s, k, false);
		if (!rc && prev)
			rc = mvcc_key_kv(s, k, &k->revs[k->nrev - 1], &prev[i]);
		if (rc) {
			mvcc_undo(s, mark);
			mvcc_res_free(s, prev);
			return rc;
		}
		r.main = s->rev + 1;
		r.sub = next_sub(s);
		r.tomb = 1;
		mvcc_key_append(s, k, &r);
		s->log[s->nlog - 1].sweep = i > 0;	/* one sweep: the log may say so */
		i++;
	}
	res->deleted = (int64_t)n;
	res->prev_kvs = prev;
	res->n_prev = prev ? n : 0;
	res->revision = s->rev + 1;
	return 0;
}

void mvcc_delete_res_free(struct mvcc *s, struct mvcc_delete_res *res)
{
	mvcc_res_free(s, res->prev_kvs);
	memset(res, 0, sizeof(*res));
}
