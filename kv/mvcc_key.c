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

/* Bytes held in the key itself: all of a short key, a long key's prefix. */
static size_t inline_len(size_t len)
{
	return len > MVCC_KEY_INLINE ? MVCC_KEY_PREFIX : len;
}

static bool full_in_file(const struct mvcc_key *k)
{
	return k->full & 1;
}

struct mvcc_key *mvcc_key_new(struct mvcc *s, struct mvcc_bytes key)
{
	size_t in = inline_len(key.len);
	struct mvcc_key *k = mvcc_mem_alloc(s, sizeof(*k) + in);
	uint8_t *full = NULL;
	uint64_t loc = 0;

	if (!k)
		return NULL;
	k->revs = mvcc_mem_alloc(s, sizeof(k->revs[0]));
	if (key.len > MVCC_KEY_INLINE && k->revs && !(loc = mvcc_inplace_loc(s, key.p, key.len)))
		full = mvcc_mem_alloc(s, key.len);
	if (!k->revs || (key.len > MVCC_KEY_INLINE && !loc && !full)) {
		mvcc_mem_free(s, k->revs, sizeof(k->revs[0]));
		mvcc_mem_free(s, k, sizeof(*k) + in);
		return NULL;
	}
	k->nrev = 0;
	k->cap = 1;
	k->len = (uint32_t)key.len;
	k->full = 0;
	memcpy(k->bytes, key.p, in);
	if (full) {
		memcpy(full, key.p, key.len);
		k->full = (uint64_t)(uintptr_t)full;
	} else if (key.len > MVCC_KEY_INLINE) {
		k->full = loc << 1 | 1;	/* restored in place */
		s->file_bytes += key.len;
	}
	return k;
}

void mvcc_key_free(struct mvcc *s, struct mvcc_key *k)
{
	for (uint32_t i = 0; i < k->nrev; i++)
		mvcc_val_drop(s, &k->revs[i]);
	s->nrevs -= k->nrev;
	mvcc_mem_free(s, k->revs, k->cap * sizeof(k->revs[0]));
	if (mvcc_key_long(k) && full_in_file(k))
		s->file_bytes -= k->len;
	else if (mvcc_key_long(k))
		mvcc_mem_free(s, (void *)(uintptr_t)k->full, k->len);
	mvcc_mem_free(s, k, sizeof(*k) + inline_len(k->len));
}

void mvcc_key_settle(struct mvcc *s, struct mvcc_key *k, uint64_t loc)
{
	if (!mvcc_key_long(k))
		return;
	if (full_in_file(k))
		s->file_bytes -= k->len;
	else
		mvcc_mem_free(s, (void *)(uintptr_t)k->full, k->len);
	k->full = loc << 1 | 1;
	s->file_bytes += k->len;
}

int mvcc_key_full(struct mvcc *s, const struct mvcc_key *k, int buf, struct mvcc_bytes *out)
{
	int rc;

	out->len = k->len;
	if (!mvcc_key_long(k)) {
		out->p = k->bytes;
		return 0;
	}
	if (!full_in_file(k)) {
		out->p = (const uint8_t *)(uintptr_t)k->full;
		return 0;
	}
	out->p = NULL;
	if (!s || !s->reader)
		return -EIO;
	if (s->kcap[buf] < k->len) {
		uint8_t *b = mvcc_res_alloc(s, k->len);
		if (!b)
			return -ENOMEM;
		mvcc_res_free(s, s->kbuf[buf]);
		s->kbuf[buf] = b;
		s->kcap[buf] = k->len;
	}
	rc = s->reader(s->reader_ctx, k->full >> 1, s->kbuf[buf], k->len);
	if (rc)
		return rc < 0 ? rc : -EIO;
	out->p = s->kbuf[buf];
	return 0;
}

int mvcc_key_cmp_to(struct mvcc *s, const struct mvcc_key *k, const uint8_t *p, size_t len)
{
	struct mvcc_bytes b;
	int c;

	if (!mvcc_key_long(k))
		return mvcc_key_cmp(k->bytes, k->len, p, len);
	c = len ? memcmp(k->bytes, p, len < MVCC_KEY_PREFIX ? len : MVCC_KEY_PREFIX) : 0;
	if (c)
		return c;
	if (len <= MVCC_KEY_PREFIX)
		return 1;	/* p is a prefix of k, which is longer */
	if (mvcc_key_full(s, k, 1, &b)) {
		if (s)
			s->read_errors++;
		return 1;
	}
	return mvcc_key_cmp(b.p, b.len, p, len);
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

int mvcc_key_meta(struct mvcc *s, const struct mvcc_key *k, const struct mvcc_rev *r,
		  struct mvcc_kv *out)
{
	memset(out, 0, sizeof(*out));
	out->mod_revision = r->main;
	if (!r->tomb) {
		out->create_revision = r->create;
		out->version = r->version;
		out->lease = r->lease;
	}
	out->key.len = k->len;
	if (!mvcc_key_long(k))
		out->key.p = k->bytes;
	else if (!full_in_file(k))
		out->key.p = (const uint8_t *)(uintptr_t)k->full;
	else
		return mvcc_rd_read(s, k->full >> 1, k->len, &out->key);
	return 0;
}

int mvcc_key_kv(struct mvcc *s, const struct mvcc_key *k, const struct mvcc_rev *r,
		struct mvcc_kv *out)
{
	int rc = mvcc_key_meta(s, k, r, out);

	return rc || r->tomb ? rc : mvcc_val_get(s, r, &out->value);
}

/* ---- ranges ---------------------------------------------------------------------------- */

void mvcc_span_init(struct mvcc *s, struct mvcc_span *sp, struct mvcc_bytes key,
		    struct mvcc_bytes range_end)
{
	sp->s = s;
	sp->key = key.p;
	sp->key_len = key.len;
	sp->end = range_end.p;
	sp->end_len = range_end.len;
	sp->single = range_end.len == 0;
	sp->unbounded = range_end.len == 1 && range_end.p[0] == 0;
}

bool mvcc_span_has(const struct mvcc_span *sp, const struct mvcc_key *k)
{
	int c = mvcc_key_cmp_to(sp->s, k, sp->key, sp->key_len);

	if (sp->single)
		return c == 0;
	if (c < 0)
		return false;
	return sp->unbounded || mvcc_key_cmp_to(sp->s, k, sp->end, sp->end_len) < 0;
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
		return mvcc_key_cmp_to(sp->s, k, sp->key, sp->key_len) == 0 ? k : NULL;
	if (!sp->unbounded && mvcc_key_cmp_to(sp->s, k, sp->end, sp->end_len) >= 0)
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
