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

/* Bytes held in the key itself: all of a short key, a long key's prefix and reference. */
static size_t inline_len(size_t len)
{
	return len > MVCC_KEY_INLINE ? MVCC_KEY_PREFIX + sizeof(uint64_t) : len;
}

/* A long key's reference: a heap copy's address, or loc << 1 | 1. */
static uint64_t full_ref(const struct mvcc_key *k)
{
	uint64_t v;
	memcpy(&v, k->bytes + MVCC_KEY_PREFIX, sizeof(v));
	return v;
}

static void set_full(struct mvcc_key *k, uint64_t v)
{
	memcpy(k->bytes + MVCC_KEY_PREFIX, &v, sizeof(v));
}

static bool full_in_file(const struct mvcc_key *k)
{
	return full_ref(k) & 1;
}

/* The revision array's allocation: the base (if any) and then room for 1 << capl, at
 * least two: a put and the delete or put after it take no move (the DeleteRange of many
 * keys would leave as many freed one-revision blocks behind). A key with one revision
 * pays for it: 64 bytes from the slab, where malloc took 48 for one. */
#define CAPL_MIN 1u
static struct mvcc_rev *revs_block(const struct mvcc_key *k)
{
	return k->revs - k->based;
}

static size_t revs_size(const struct mvcc_key *k)
{
	return (((size_t)1 << k->capl) + k->based) * sizeof(struct mvcc_rev);
}

/* The base lives in the spare element: its main is the create revision, its value
 * reference the version. */
static void base_get(const struct mvcc_key *k, int64_t *create, int64_t *version)
{
	*create = k->revs[-1].main;
	*version = (int64_t)k->revs[-1].val.v;
}

static void base_set(struct mvcc_key *k, int64_t create, int64_t version)
{
	memset(&k->revs[-1], 0, sizeof(k->revs[-1]));
	k->revs[-1].main = create;
	k->revs[-1].val.v = (uint64_t)version;
}

struct mvcc_key *mvcc_key_new(struct mvcc *s, struct mvcc_bytes key)
{
	size_t in = inline_len(key.len);
	struct mvcc_key *k;
	uint8_t *full = NULL;
	uint64_t loc = 0;

	if (key.len > MVCC_KEY_MAX)
		return NULL;
	k = mvcc_mem_alloc(s, sizeof(*k) + in);
	if (!k)
		return NULL;
	k->revs = mvcc_mem_alloc(s, sizeof(k->revs[0]) << CAPL_MIN);
	if (key.len > MVCC_KEY_INLINE && k->revs && !(loc = mvcc_inplace_loc(s, key.p, key.len)))
		full = mvcc_mem_alloc(s, key.len);
	if (!k->revs || (key.len > MVCC_KEY_INLINE && !loc && !full)) {
		mvcc_mem_free(s, k->revs, sizeof(k->revs[0]) << CAPL_MIN);
		mvcc_mem_free(s, k, sizeof(*k) + in);
		return NULL;
	}
	k->nrev = 0;
	k->capl = CAPL_MIN;
	k->based = 0;
	k->len = (uint32_t)key.len;
	if (key.len <= MVCC_KEY_INLINE) {
		memcpy(k->bytes, key.p, key.len);
	} else if (full) {
		memcpy(k->bytes, key.p, MVCC_KEY_PREFIX);
		memcpy(full, key.p, key.len);
		set_full(k, (uint64_t)(uintptr_t)full);
	} else {
		memcpy(k->bytes, key.p, MVCC_KEY_PREFIX);
		set_full(k, loc << 1 | 1);	/* restored in place */
		s->file_bytes += key.len;
	}
	return k;
}

void mvcc_key_free(struct mvcc *s, struct mvcc_key *k)
{
	for (uint32_t i = 0; i < k->nrev; i++)
		mvcc_rev_drop(s, &k->revs[i]);
	s->nrevs -= k->nrev;
	mvcc_mem_free(s, revs_block(k), revs_size(k));
	if (mvcc_key_long(k) && full_in_file(k))
		s->file_bytes -= k->len;
	else if (mvcc_key_long(k))
		mvcc_mem_free(s, (void *)(uintptr_t)full_ref(k), k->len);
	mvcc_mem_free(s, k, sizeof(*k) + inline_len(k->len));
}

void mvcc_key_settle(struct mvcc *s, struct mvcc_key *k, uint64_t loc)
{
	if (!mvcc_key_long(k))
		return;
	if (full_in_file(k))
		s->file_bytes -= k->len;
	else
		mvcc_mem_free(s, (void *)(uintptr_t)full_ref(k), k->len);
	set_full(k, loc << 1 | 1);
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
		out->p = (const uint8_t *)(uintptr_t)full_ref(k);
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
	rc = s->reader(s->reader_ctx, full_ref(k) >> 1, s->kbuf[buf], k->len);
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

/* Moves k's revision array to a block with room for 1 << capl revisions and the base
 * if based (the base's value given, or kept). Returns 0 or -ENOMEM (k as it was). */
static int revs_move(struct mvcc *s, struct mvcc_key *k, unsigned capl, bool based)
{
	size_t old = revs_size(k), size = (((size_t)1 << capl) + based) * sizeof(k->revs[0]);
	struct mvcc_rev *b = revs_block(k);

	if (based == k->based) {
		if (size != old && mvcc_mem_grow(s, (void **)&b, old, size))
			return -ENOMEM;
	} else {
		struct mvcc_rev *nb = mvcc_mem_alloc(s, size);
		if (!nb)
			return -ENOMEM;
		memcpy(nb + based, k->revs, k->nrev * sizeof(k->revs[0]));
		mvcc_mem_free(s, b, old);
		b = nb;
	}
	k->revs = b + based;
	k->capl = capl & 31;
	k->based = based;
	return 0;
}

int mvcc_key_reserve(struct mvcc *s, struct mvcc_key *k, bool put)
{
	bool based = k->based || (put && k->nrev && !k->revs[k->nrev - 1].tomb);

	if (k->nrev < (1u << k->capl) && based == k->based)
		return 0;
	if (k->capl >= 30)
		return -ENOMEM;
	return revs_move(s, k, k->nrev < (1u << k->capl) ? k->capl : k->capl + 1u, based);
}

int mvcc_key_set_base(struct mvcc *s, struct mvcc_key *k, int64_t create, int64_t version)
{
	if (!k->based && revs_move(s, k, k->capl, true))
		return -ENOMEM;
	base_set(k, create, version);
	return 0;
}

/* The smallest capl with room for n revisions. */
static unsigned capl_for(size_t n)
{
	unsigned c = CAPL_MIN;
	while (((size_t)1 << c) < n)
		c++;
	return c;
}

void mvcc_key_trim(struct mvcc *s, struct mvcc_key *k, size_t drop)
{
	struct mvcc_rev *first = &k->revs[drop], *b = revs_block(k);
	size_t n = k->nrev - drop;
	/* its life began before it: the base slot is there (mvcc_key_reserve saw to it) */
	bool need = !first->tomb && first->life && k->based;
	unsigned capl = capl_for(n);
	struct mvcc_kv m;

	mvcc_rev_meta(s, k, first, &m);
	for (size_t i = 0; i < drop; i++)
		mvcc_rev_drop(s, &k->revs[i]);
	memmove(k->revs, first, n * sizeof(*b));
	if (need)
		base_set(k, m.create_revision, m.version);
	k->nrev = (uint32_t)n;
	s->nrevs -= drop;
	/* a failed shrink keeps the bigger block */
	if (capl < k->capl &&
	    !mvcc_mem_grow(s, (void **)&b, revs_size(k),
			   (((size_t)1 << capl) + k->based) * sizeof(*b))) {
		k->revs = b + k->based;
		k->capl = capl & 31;
	}
}

void mvcc_rev_meta(const struct mvcc *s, const struct mvcc_key *k, const struct mvcc_rev *r,
		   struct mvcc_kv *out)
{
	size_t i = (size_t)(r - k->revs);

	out->create_revision = out->version = out->lease = 0;
	if (r->tomb)
		return;
	out->lease = mvcc_lid_id(s, r->lease);
	if (r->life <= i) {
		out->create_revision = k->revs[i - r->life].main;
		out->version = (int64_t)r->life + 1;
	} else {
		base_get(k, &out->create_revision, &out->version);
		out->version += (int64_t)i;
	}
}

void mvcc_rev_drop(struct mvcc *s, struct mvcc_rev *r)
{
	mvcc_val_drop(s, r);
	mvcc_lid_put(s, r->lease);
	r->lease = 0;
}

void mvcc_key_append(struct mvcc *s, struct mvcc_key *k, const struct mvcc_rev *r)
{
	struct mvcc_logent *e = &s->log[s->nlog++];
	const struct mvcc_rev *last = k->nrev ? &k->revs[k->nrev - 1] : NULL;
	bool was_live = last && !last->tomb;
	struct mvcc_rev *n = &k->revs[k->nrev++];

	*n = *r;
	n->life = 0;
	if (!r->tomb && was_live)
		n->life = last->life == UINT32_MAX ? UINT32_MAX : last->life + 1;
	else if (!r->tomb && !last && k->based)
		n->life = UINT32_MAX;	/* restored in the middle of a life */
	s->nrevs++;
	if (r->tomb && was_live)
		s->live--;
	else if (!r->tomb && !was_live)
		s->live++;
	e->key = k;
	e->i = k->nrev - 1;
	e->sweep = 0;
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
	mvcc_rev_meta(s, k, r, out);
	out->key.len = k->len;
	if (!mvcc_key_long(k))
		out->key.p = k->bytes;
	else if (!full_in_file(k))
		out->key.p = (const uint8_t *)(uintptr_t)full_ref(k);
	else
		return mvcc_rd_read(s, full_ref(k) >> 1, k->len, &out->key);
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
