/* From the store to records: the committed revisions not yet logged become REV records
 * (read back through mvcc_history, so nothing depends on who else observes the store), and
 * a snapshot is written out piece by piece from the store's key revisions and the lease
 * table. Pure. */
#include <errno.h>
#include <string.h>

#include "wal.h"

struct pull {
	struct wal_buf *b;
	int64_t *logged;
	size_t mark;
	bool open;
	int err;
	/* the deletes held back: one, or a run of one DeleteRange (a sweep) */
	uint32_t run;
	struct mvcc_bytes first, last;	/* their keys, copied into: */
	uint8_t *buf[2];
	size_t cap[2];
};

/* Copies key k into held buffer i. Returns 0 or -ENOMEM. */
static int hold_key(struct pull *p, int i, struct mvcc_bytes k, struct mvcc_bytes *out)
{
	if (p->cap[i] < k.len) {
		uint8_t *n = p->b->a.fn(p->b->a.ctx, p->buf[i], k.len);
		if (!n)
			return -ENOMEM;
		p->buf[i] = n;
		p->cap[i] = k.len;
	}
	if (k.len)
		memcpy(p->buf[i], k.p, k.len);
	*out = (struct mvcc_bytes){ p->buf[i], k.len };
	return 0;
}

/* Adds the deletes held back: a delete, or a sweep for a run. */
static int add_held(struct pull *p)
{
	struct wal_change c = { .del = true, .key = p->first };

	if (!p->run)
		return 0;
	if (p->run > 1) {
		c.sweep = p->run;
		c.last = p->last;
	}
	p->run = 0;
	return wal_rev_add(p->b, p->mark, &c);
}

/* One event into the open REV record. A delete is held back until the next event shows
 * whether it begins a sweep: then the whole run is one change, its first and last keys. */
static int pull_one(struct pull *p, const struct mvcc_event *ev)
{
	struct wal_change c = {
		.del = ev->type == MVCC_EVENT_DELETE, .key = ev->kv.key, .value = ev->kv.value,
		.create = ev->kv.create_revision, .version = ev->kv.version, .lease = ev->kv.lease,
	};
	int rc;

	if (c.del && ev->sweep && p->run && p->run < UINT32_MAX) {
		p->run++;
		return hold_key(p, 1, c.key, &p->last);
	}
	if ((rc = add_held(p)))
		return rc;
	if (!c.del)
		return wal_rev_add(p->b, p->mark, &c);
	p->run = 1;
	return hold_key(p, 0, c.key, &p->first);
}

static void pull_event(void *ctx, const struct mvcc_event *ev)
{
	struct pull *p = ctx;
	int64_t rev = ev->kv.mod_revision;
	int rc;

	if (p->err)
		return;
	if (!p->open) {
		if (rev != *p->logged + 1) {
			p->err = WAL_EGAP;
			return;
		}
		if (wal_rev_begin(p->b, rev, &p->mark)) {
			p->err = -ENOMEM;
			return;
		}
		p->open = true;
		p->run = 0;
	}
	rc = pull_one(p, ev);
	if (!rc && ev->last)
		rc = add_held(p);
	if (rc) {
		wal_rev_cancel(p->b, p->mark);
		p->open = false;
		p->err = rc == -EINVAL ? WAL_EGAP : rc;	/* too big for a record: snapshot it */
		return;
	}
	if (ev->last) {
		wal_rev_end(p->b, p->mark);
		p->open = false;
		*p->logged = rev;
	}
}

int wal_pull(struct mvcc *s, int64_t *logged, struct wal_buf *b)
{
	static const uint8_t zero;
	struct mvcc_bytes none = { NULL, 0 }, all = { &zero, 1 };
	struct pull p = { .b = b, .logged = logged };
	int64_t next, n;

	if (*logged >= mvcc_rev(s))
		return 0;
	n = mvcc_history_ex(s, none, all, *logged + 1, 0, false, pull_event, &p, &next);
	if (p.open)
		wal_rev_cancel(b, p.mark);
	for (int i = 0; i < 2; i++)
		if (p.buf[i])
			b->a.fn(b->a.ctx, p.buf[i], 0);
	if (n == MVCC_ECOMPACTED)
		return WAL_EGAP;
	if (n < 0)
		return (int)n;
	if (p.err)
		return p.err;
	return *logged == mvcc_rev(s) ? 0 : WAL_EGAP;
}

/* ---- snapshots ---------------------------------------------------------------------------- */

enum { SNAP_HEAD, SNAP_KVS, SNAP_LEASES, SNAP_TAIL, SNAP_PAD, SNAP_DONE };

void wal_snap_start(struct wal_snap_writer *w, struct mvcc *s, const struct wal_leases *l,
		    uint64_t next_seq, uint64_t applied)
{
	memset(w, 0, sizeof(*w));
	w->applied = applied;
	w->s = s;
	w->l = l;
	w->next_seq = next_seq;
	w->rev = mvcc_rev(s);
	w->compacted = mvcc_compacted(s);
	w->limit = mvcc_rec_count(s);
}

/* Appends the next record (or stage change); 0 or -ENOMEM with b as it was. */
static int snap_step(struct wal_snap_writer *w, struct wal_buf *b)
{
	size_t mark = b->len;
	const struct wal_lease *ls;
	struct mvcc_rec r;
	int rc = 0;

	switch (w->stage) {
	case SNAP_HEAD:
		if (wal_put_header(b, WAL_MAGIC_SNAPSHOT) ||
		    wal_put_snap_meta(b, w->rev, w->compacted, w->next_seq, w->limit, w->l->n) ||
		    wal_put_applied(b, w->applied)) {
			b->len = mark;
			return -ENOMEM;
		}
		w->stage = SNAP_KVS;
		return 0;
	case SNAP_KVS:
		if (w->i == w->limit) {
			w->stage = SNAP_LEASES;
			w->i = 0;
			return 0;
		}
		rc = mvcc_rec_at(w->s, w->i, &r);
		if (!rc) {
			struct wal_change c = {
				.del = r.tomb, .key = r.kv.key, .value = r.kv.value,
				.create = r.kv.create_revision, .version = r.kv.version,
				.lease = r.kv.lease,
			};
			rc = wal_put_snap_kv(b, r.kv.mod_revision, r.sub, &c);
		}
		if (rc)
			return rc;
		w->i++;
		w->nkv++;
		return 0;
	case SNAP_LEASES:
		if (w->i == w->l->cap) {
			w->stage = SNAP_TAIL;
			return 0;
		}
		ls = wal_leases_slot(w->l, w->i);
		if (ls && wal_put_lease_grant(b, ls->id, ls->ttl))
			return -ENOMEM;
		w->i++;
		w->nlease += ls != NULL;
		return 0;
	case SNAP_TAIL:
		if (wal_put_snap_end(b, w->nkv, w->nlease))
			return -ENOMEM;
		w->stage = SNAP_PAD;
		return 0;
	case SNAP_PAD: {
		size_t pad = (size_t)((WAL_SNAP_ALIGN - w->bytes % WAL_SNAP_ALIGN) % WAL_SNAP_ALIGN);
		if (wal_buf_zeros(b, pad))
			return -ENOMEM;
		w->pad = pad;
		w->stage = SNAP_DONE;
		return 0;
	}
	default:
		return 0;
	}
}

int wal_snap_fill(struct wal_snap_writer *w, struct wal_buf *b, size_t chunk)
{
	while (w->stage != SNAP_DONE && b->len < chunk) {
		size_t before = b->len;
		int rc = snap_step(w, b);
		if (rc)
			return rc;
		w->bytes += b->len - before;
	}
	return w->stage != SNAP_DONE;
}
