/* The MVCC store's small pieces: key ordering and per-key history lookups, key ranges as
 * etcd spells them, read-revision checks, and value references. */
#include <errno.h>
#include <string.h>

#include "mvcc_int.h"

/* ---- keys ------------------------------------------------------------------------------ */

int mvcc_key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

struct mvcc_key *mvcc_key_new(struct mvcc *s, struct mvcc_bytes key)
{
	struct mvcc_key *k = mvcc_mem_alloc(s, sizeof(*k) + key.len);

	if (!k)
		return NULL;
	k->revs = mvcc_mem_alloc(s, sizeof(k->revs[0]));
	if (!k->revs) {
		mvcc_mem_free(s, k, sizeof(*k) + key.len);
		return NULL;
	}
	k->nrev = 0;
	k->cap = 1;
	k->len = (uint32_t)key.len;
	memcpy(k->bytes, key.p, key.len);
	return k;
}

void mvcc_key_free(struct mvcc *s, struct mvcc_key *k)
{
	for (uint32_t i = 0; i < k->nrev; i++)
		mvcc_val_drop(s, &k->revs[i]);
	s->nrevs -= k->nrev;
	mvcc_mem_free(s, k->revs, k->cap * sizeof(k->revs[0]));
	mvcc_mem_free(s, k, sizeof(*k) + k->len);
}

int mvcc_key_reserve(struct mvcc *s, struct mvcc_key *k)
{
	uint32_t cap = k->cap ? k->cap * 2 : 1;

	if (k->nrev < k->cap)
		return 0;
	if (k->cap >= UINT32_MAX / 2 ||
	    mvcc_mem_grow(s, (void **)&k->revs, k->cap * sizeof(k->revs[0]),
			  (size_t)cap * sizeof(k->revs[0])))
		return -ENOMEM;
	k->cap = cap;
	return 0;
}

void mvcc_key_append(struct mvcc *s, struct mvcc_key *k, const struct mvcc_rev *r)
{
	struct mvcc_logent *e = &s->log[s->nlog++];
	bool was_live = k->nrev && !k->revs[k->nrev - 1].tomb;

	k->revs[k->nrev++] = *r;
	s->nrevs++;
	if (r->tomb && was_live)
		s->live--;
	else if (!r->tomb && !was_live)
		s->live++;
	e->key = k;
	e->main = r->main;
	e->sub = r->sub;
}

const struct mvcc_rev *mvcc_key_at(const struct mvcc_key *k, int64_t at)
{
	size_t lo = 0, hi = k->nrev;

	while (lo < hi) {	/* the first revision with main > at */
		size_t mid = lo + (hi - lo) / 2;
		if (k->revs[mid].main <= at)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &k->revs[lo - 1] : NULL;
}

long mvcc_key_find(const struct mvcc_key *k, int64_t main, uint32_t sub)
{
	size_t lo = 0, hi = k->nrev;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct mvcc_rev *r = &k->revs[mid];
		if (r->main == main && r->sub == sub)
			return (long)mid;
		if (r->main < main || (r->main == main && r->sub < sub))
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

void mvcc_key_meta(const struct mvcc_key *k, const struct mvcc_rev *r, struct mvcc_kv *out)
{
	memset(out, 0, sizeof(*out));
	out->key.p = k->bytes;
	out->key.len = k->len;
	out->mod_revision = r->main;
	if (r->tomb)
		return;
	out->create_revision = r->create;
	out->version = r->version;
	out->lease = r->lease;
}

int mvcc_key_kv(struct mvcc *s, const struct mvcc_key *k, const struct mvcc_rev *r,
		struct mvcc_kv *out)
{
	mvcc_key_meta(k, r, out);
	return r->tomb ? 0 : mvcc_val_get(s, r, &out->value);
}

/* ---- ranges ---------------------------------------------------------------------------- */

void mvcc_span_init(struct mvcc_span *sp, struct mvcc_bytes key, struct mvcc_bytes range_end)
{
	sp->key = key.p;
	sp->key_len = key.len;
	sp->end = range_end.p;
	sp->end_len = range_end.len;
	sp->single = range_end.len == 0;
	sp->unbounded = range_end.len == 1 && range_end.p[0] == 0;
}

bool mvcc_span_has(const struct mvcc_span *sp, const uint8_t *p, size_t len)
{
	int c = mvcc_key_cmp(p, len, sp->key, sp->key_len);

	if (sp->single)
		return c == 0;
	if (c < 0)
		return false;
	return sp->unbounded || mvcc_key_cmp(p, len, sp->end, sp->end_len) < 0;
}

struct mvcc_pos mvcc_span_begin(const struct mvcc *s, const struct mvcc_span *sp)
{
	return mvcc_bt_seek(&s->index, sp->key, sp->key_len);
}

struct mvcc_key *mvcc_span_key(const struct mvcc_span *sp, struct mvcc_pos pos)
{
	struct mvcc_key *k = mvcc_bt_at(pos);

	if (!k)
		return NULL;
	/* pos came from seeking the span's key, so only the upper end needs a look */
	if (sp->single)
		return mvcc_key_cmp(k->bytes, k->len, sp->key, sp->key_len) == 0 ? k : NULL;
	if (!sp->unbounded && mvcc_key_cmp(k->bytes, k->len, sp->end, sp->end_len) >= 0)
		return NULL;
	return k;
}

/* etcd's order of checks: future before compacted, and "0 or less" means the view. */
int mvcc_read_rev(const struct mvcc *s, int64_t want, int64_t view, int64_t *at)
{
	if (want > view)
		return MVCC_EFUTURE;
	if (want <= 0)
		want = view;
	if (want < s->compacted)
		return MVCC_ECOMPACTED;
	*at = want;
	return 0;
}
