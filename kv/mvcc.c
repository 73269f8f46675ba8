/* The MVCC store's frame: life cycle, memory accounting, the revision log, and
 * transactions (begin, commit with events, undo). The operations live in mvcc_read.c,
 * mvcc_write.c, mvcc_compact.c and mvcc_hist.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/asan.h"
#include "mvcc_int.h"

const char *mvcc_strerror(int code)
{
	switch (code) {
#define MVCC_ERR_CASE(name, value, text) \
	case name:                       \
		return text;
		MVCC_ERRORS(MVCC_ERR_CASE)
#undef MVCC_ERR_CASE
	case -ENOMEM:
		return "mvcc: out of memory";
	default:
		return "unknown error";
	}
}

/* ---- memory ---------------------------------------------------------------------------- */

void *mvcc_libc(void *ctx, void *p, size_t size)
{
	(void)ctx;
	if (!size) {
		free(p);
		return NULL;
	}
	return realloc(p, size);
}

/* Small blocks. A store holds one or two per key: with libc's malloc, each carries a
 * header and is rounded up past it (a 64-byte block takes 80), a fifth of the index. Here
 * a block takes its size rounded up to 16 bytes, and a freed block is the next one of its
 * class. Under AddressSanitizer, a freed block and the unused rest of a chunk are poisoned
 * (lib/asan.h). */

static bool slab_fits(const struct mvcc *s, size_t size)
{
	return s->a.slab && size && size <= MVCC_SLAB_MAX;
}

static size_t slab_class(size_t size)
{
	return (size - 1) / MVCC_SLAB_UNIT;
}

static void *slab_alloc(struct mvcc *s, size_t size)
{
	struct mvcc_slab *sl = &s->slab;
	size_t c = slab_class(size), n = (c + 1) * MVCC_SLAB_UNIT;
	void *p = sl->free[c];

	if (p) {
		UNPOISON(p, n);
		sl->free[c] = *(void **)p;
		return p;
	}
	if (sl->left < n) {
		/* the rest of the old chunk (less than a block of this class) is left unused */
		uint8_t *ch = s->a.fn(s->a.ctx, NULL, MVCC_SLAB_CHUNK);
		if (!ch)
			return NULL;
		*(void **)ch = sl->chunks;
		sl->chunks = ch;
		sl->next = ch + MVCC_SLAB_UNIT;
		sl->left = MVCC_SLAB_CHUNK - MVCC_SLAB_UNIT;
		POISON(sl->next, sl->left);
	}
	p = sl->next;
	sl->next += n;
	sl->left -= n;
	UNPOISON(p, n);
	return p;
}

static void slab_free(struct mvcc *s, void *p, size_t size)
{
	size_t c = slab_class(size);

	*(void **)p = s->slab.free[c];
	s->slab.free[c] = p;
	POISON((uint8_t *)p + sizeof(void *), (c + 1) * MVCC_SLAB_UNIT - sizeof(void *));
}

static void slab_destroy(struct mvcc *s)
{
	void *ch = s->slab.chunks, *next;

	for (; ch; ch = next) {
		next = *(void **)ch;
		UNPOISON(ch, MVCC_SLAB_CHUNK);
		s->a.fn(s->a.ctx, ch, 0);
	}
	memset(&s->slab, 0, sizeof(s->slab));
}

void *mvcc_mem_alloc(struct mvcc *s, size_t size)
{
	void *p = slab_fits(s, size) ? slab_alloc(s, size) : s->a.fn(s->a.ctx, NULL, size);

	if (p)
		s->bytes += size;
	return p;
}

void mvcc_mem_free(struct mvcc *s, void *p, size_t size)
{
	if (!p)
		return;
	if (slab_fits(s, size))
		slab_free(s, p, size);
	else
		s->a.fn(s->a.ctx, p, 0);
	s->bytes -= size;
}

int mvcc_mem_grow(struct mvcc *s, void **p, size_t old, size_t size)
{
	void *n;

	if (!*p || !(slab_fits(s, old) || slab_fits(s, size))) {
		n = *p ? s->a.fn(s->a.ctx, *p, size) : mvcc_mem_alloc(s, size);
		if (!n)
			return -ENOMEM;
		s->bytes = s->bytes - old + (*p ? size : 0);
		*p = n;
		return 0;
	}
	/* a small block at either end: moved unless it stays in its class */
	if (slab_fits(s, old) && slab_fits(s, size) && slab_class(old) == slab_class(size)) {
		s->bytes = s->bytes - old + size;
		return 0;
	}
	if (!(n = mvcc_mem_alloc(s, size)))
		return -ENOMEM;
	memcpy(n, *p, old < size ? old : size);
	mvcc_mem_free(s, *p, old);
	*p = n;
	return 0;
}

void *mvcc_res_alloc(struct mvcc *s, size_t size)
{
	return s->a.fn(s->a.ctx, NULL, size);
}

void mvcc_res_free(struct mvcc *s, void *p)
{
	if (p)
		s->a.fn(s->a.ctx, p, 0);
}

/* ---- life cycle ------------------------------------------------------------------------ */

int mvcc_new(const struct mvcc_alloc *a, struct mvcc **out)
{
	struct mvcc_alloc al = { mvcc_libc, NULL, true };
	struct mvcc *s;

	if (a)
		al = *a;
	s = al.fn(al.ctx, NULL, sizeof(*s));
	if (!s)
		return -ENOMEM;
	memset(s, 0, sizeof(*s));
	s->a = al;
	s->bytes = sizeof(*s);
	s->rev = 1;
	s->index.s = s;
	*out = s;
	return 0;
}

void mvcc_free(struct mvcc *s)
{
	struct mvcc_key *k;

	if (!s)
		return;
	for (struct mvcc_pos pos = mvcc_bt_first(&s->index); (k = mvcc_bt_at(pos));
	     mvcc_bt_next(&pos))
		mvcc_key_free(s, k);
	mvcc_bt_destroy(s, &s->index);
	mvcc_mem_free(s, s->log, s->logcap * sizeof(s->log[0]));
	mvcc_lid_free(s);
	mvcc_rd_release(s, (struct mvcc_rdmark){ NULL, 0 });
	mvcc_res_free(s, s->kbuf[0]);
	mvcc_res_free(s, s->kbuf[1]);
	slab_destroy(s);
	s->a.fn(s->a.ctx, s, 0);
}

int64_t mvcc_rev(const struct mvcc *s)
{
	return s->rev;
}

int64_t mvcc_compacted(const struct mvcc *s)
{
	return s->compacted;
}

void mvcc_stats(const struct mvcc *s, struct mvcc_stats *out)
{
	out->keys = s->live;
	out->index_keys = s->index.count;
	out->revisions = s->nrevs;
	out->bytes = s->bytes + s->file_bytes;
}

void mvcc_observer_pause(struct mvcc *s, bool paused)
{
	s->observer_paused = paused;
}

void mvcc_set_observer(struct mvcc *s, mvcc_event_fn *fn, void *ctx)
{
	s->observer = fn;
	s->observer_ctx = ctx;
}

/* ---- the revision log ------------------------------------------------------------------ */

int mvcc_log_reserve(struct mvcc *s, size_t n)
{
	size_t cap = s->logcap ? s->logcap : 64;

	if (s->logcap - s->nlog >= n)
		return 0;
	while (cap - s->nlog < n) {
		if (cap > SIZE_MAX / 2 / sizeof(s->log[0]))
			return -ENOMEM;
		cap *= 2;
	}
	if (mvcc_mem_grow(s, (void **)&s->log, s->logcap * sizeof(s->log[0]),
			  cap * sizeof(s->log[0])))
		return -ENOMEM;
	s->logcap = cap;
	return 0;
}

int mvcc_log_event(struct mvcc *s, const struct mvcc_logent *e, bool with_prev,
		   struct mvcc_event *ev)
{
	const struct mvcc_key *k = e->key;
	long j = (long)e->i, p = j - 1;
	const struct mvcc_rev *r = &k->revs[j];
	int rc;

	memset(ev, 0, sizeof(*ev));
	ev->type = r->tomb ? MVCC_EVENT_DELETE : MVCC_EVENT_PUT;
	ev->sweep = e->sweep != 0;
	rc = mvcc_key_kv(s, k, r, &ev->kv);
	/* prev is the state at revision - 1, not an earlier write of the same transaction */
	while (p >= 0 && k->revs[p].main == k->revs[j].main)
		p--;
	if (!rc && with_prev && p >= 0 && !k->revs[p].tomb) {
		ev->has_prev = true;
		rc = mvcc_key_kv(s, k, &k->revs[p], &ev->prev);
	}
	return rc;
}

const struct mvcc_logent *mvcc_log_find(const struct mvcc *s, int64_t main, uint32_t sub)
{
	size_t lo = 0, hi = s->nlog;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct mvcc_rev *r = mvcc_log_rev(&s->log[mid]);
		if (r->main < main || (r->main == main && r->sub < sub))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < s->nlog && mvcc_log_rev(&s->log[lo])->main == main &&
	    mvcc_log_rev(&s->log[lo])->sub == sub)
		return &s->log[lo];
	return NULL;
}

/* ---- transactions ---------------------------------------------------------------------- */

int mvcc_txn_begin(struct mvcc *s)
{
	if (s->in_txn)
		return MVCC_ETXN;
	mvcc_rd_reset(s);
	s->in_txn = true;
	s->txn_start = s->nlog;
	return 0;
}

/* Pops the log back to mark, and with each entry the key revision it added; a key left
 * without revisions was created by the transaction and goes. */
void mvcc_undo(struct mvcc *s, size_t mark)
{
	while (s->nlog > mark) {
		struct mvcc_key *k = s->log[--s->nlog].key;
		struct mvcc_rev *r = &k->revs[k->nrev - 1];
		bool was_live = !r->tomb, now_live;

		mvcc_rev_drop(s, r);
		k->nrev--;
		s->nrevs--;
		now_live = k->nrev && !k->revs[k->nrev - 1].tomb;
		if (was_live && !now_live)
			s->live--;
		else if (!was_live && now_live)
			s->live++;
		if (!k->nrev) {
			mvcc_bt_remove(s, &s->index, k);
			mvcc_key_free(s, k);
		}
	}
}

void mvcc_txn_abort(struct mvcc *s)
{
	if (!s->in_txn)
		return;
	mvcc_undo(s, s->txn_start);
	s->in_txn = false;
}

int64_t mvcc_txn_end(struct mvcc *s)
{
	size_t from = s->txn_start;

	if (!s->in_txn)
		return MVCC_ETXN;
	s->in_txn = false;
	if (s->nlog == from)
		return s->rev;
	s->rev++;
	for (size_t i = from; s->observer && !s->observer_paused && i < s->nlog; i++) {
		struct mvcc_rdmark m = mvcc_rd_mark(s);
		struct mvcc_event ev;
		if (mvcc_log_event(s, &s->log[i], true, &ev)) {
			/* a value that cannot be read back: the event goes without it */
			s->read_errors++;
			ev.has_prev = false;
			memset(&ev.prev, 0, sizeof(ev.prev));
		}
		ev.last = i + 1 == s->nlog;
		s->observer(s->observer_ctx, &ev);
		mvcc_rd_release(s, m);
	}
	return s->rev;
}

int mvcc_txn_range(struct mvcc *s, const struct mvcc_range_req *req, struct mvcc_range_res *res)
{
	if (!s->in_txn) {
		memset(res, 0, sizeof(*res));
		return MVCC_ETXN;
	}
	return mvcc_range_in(s, req, res);
}

int mvcc_txn_put(struct mvcc *s, const struct mvcc_put_req *req, struct mvcc_put_res *res)
{
	if (!s->in_txn) {
		memset(res, 0, sizeof(*res));
		return MVCC_ETXN;
	}
	return mvcc_put_in(s, req, res);
}

int mvcc_txn_delete(struct mvcc *s, const struct mvcc_delete_req *req,
		    struct mvcc_delete_res *res)
{
	if (!s->in_txn) {
		memset(res, 0, sizeof(*res));
		return MVCC_ETXN;
	}
	return mvcc_delete_in(s, req, res);
}

/* ---- one-op transactions --------------------------------------------------------------- */

int mvcc_range(struct mvcc *s, const struct mvcc_range_req *req, struct mvcc_range_res *res)
{
	if (s->in_txn) {
		memset(res, 0, sizeof(*res));
		return MVCC_ETXN;
	}
	mvcc_rd_reset(s);
	return mvcc_range_in(s, req, res);
}

int mvcc_put(struct mvcc *s, const struct mvcc_put_req *req, struct mvcc_put_res *res)
{
	int rc = mvcc_txn_begin(s);

	if (rc) {
		memset(res, 0, sizeof(*res));
		return rc;
	}
	rc = mvcc_put_in(s, req, res);
	if (rc) {
		mvcc_txn_abort(s);
		return rc;
	}
	mvcc_txn_end(s);
	return 0;
}

int mvcc_delete(struct mvcc *s, const struct mvcc_delete_req *req, struct mvcc_delete_res *res)
{
	int rc = mvcc_txn_begin(s);

	if (rc) {
		memset(res, 0, sizeof(*res));
		return rc;
	}
	rc = mvcc_delete_in(s, req, res);
	if (rc) {
		mvcc_txn_abort(s);
		return rc;
	}
	res->revision = mvcc_txn_end(s);
	return 0;
}
