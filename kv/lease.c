/* The lease core: leases found by id in an open-addressing table, ordered by expiry in a
 * binary min-heap (each lease knows its heap slot, so a renew moves it in O(log n)), each
 * with a sorted array of its keys' copies. No clock, no I/O: see lease.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lease.h"

/* A key attached to a lease: its bytes, copied once. */
struct lease_key {
	uint32_t len;
	uint8_t bytes[];
};

struct lease {
	int64_t id;
	int64_t ttl;			/* granted, seconds */
	uint64_t expiry;		/* ms */
	uint32_t heap;			/* slot in ls->heap */
	uint32_t touch;			/* ls->touches when granted or renewed last */
	uint32_t nkeys, capkeys;
	struct lease_key **keys;	/* sorted by key */
};

struct lease_set {
	struct lease_alloc a;
	uint64_t rng;			/* id picker state */
	uint64_t hseed;			/* table hash key: client ids cannot aim at a slot */
	int64_t min_ttl;
	uint32_t touches;		/* grants and renewals so far (wrapping) */
	struct lease **slot;		/* nslot (a power of 2, or 0) entries, NULL = free */
	size_t nslot, count;
	struct lease **heap;		/* count entries, earliest expiry at 0 */
	size_t heapcap;
};

#define LEASE_ERR_TEXT(name, value, text) case name: return text;
const char *lease_strerror(int code)
{
	switch (code) {
	LEASE_ERRORS(LEASE_ERR_TEXT)
	case -ENOMEM: return "out of memory";
	case -EINVAL: return "invalid argument";
	default: return "unknown error";
	}
}
#undef LEASE_ERR_TEXT

int64_t lease_min_ttl(unsigned heartbeat_ms, unsigned election_ms)
{
	/* etcd counts the election timeout in heartbeat ticks, takes 3/2 of them (integer
	 * division), and rounds that duration up to whole seconds */
	uint64_t hb = heartbeat_ms ? heartbeat_ms : 1;
	uint64_t ticks = election_ms / hb;
	uint64_t ms = (3 * ticks / 2) * hb;
	int64_t s = (int64_t)((ms + 999) / 1000);
	return s > 0 ? s : 1;
}

/* ---- memory ---------------------------------------------------------------------------- */

static void *libc_fn(void *ctx, void *p, size_t n)
{
	(void)ctx;
	if (!n) {
		free(p);
		return NULL;
	}
	return realloc(p, n);
}

static void *mem_alloc(struct lease_set *ls, size_t n)
{
	return ls->a.fn(ls->a.ctx, NULL, n);
}

static void mem_free(struct lease_set *ls, void *p)
{
	if (p)
		ls->a.fn(ls->a.ctx, p, 0);
}

/* Resizes *p to n elements of size sz; keeps *p on failure. Returns 0 or -ENOMEM. */
static int mem_grow(struct lease_set *ls, void **p, size_t n, size_t sz)
{
	if (n > SIZE_MAX / sz)
		return -ENOMEM;
	void *q = ls->a.fn(ls->a.ctx, *p, n * sz);
	if (!q)
		return -ENOMEM;
	*p = q;
	return 0;
}

/* ---- ids and the table ------------------------------------------------------------------ */

static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t next_random(struct lease_set *ls)
{
	ls->rng += 0x9e3779b97f4a7c15ull;
	return mix(ls->rng);
}

static size_t home(const struct lease_set *ls, int64_t id)
{
	return (size_t)mix((uint64_t)id ^ ls->hseed) & (ls->nslot - 1);
}

/* The slot holding id, or the free slot where it would go; nslot must be > 0. */
static size_t probe(const struct lease_set *ls, int64_t id)
{
	size_t i = home(ls, id);
	while (ls->slot[i] && ls->slot[i]->id != id)
		i = (i + 1) & (ls->nslot - 1);
	return i;
}

static struct lease *find(const struct lease_set *ls, int64_t id)
{
	return ls->nslot ? ls->slot[probe(ls, id)] : NULL;
}

/* Makes room for one more lease at a load of at most 1/2. Returns 0 or -ENOMEM. */
static int table_reserve(struct lease_set *ls)
{
	if ((ls->count + 1) * 2 <= ls->nslot)
		return 0;
	size_t n = ls->nslot ? ls->nslot * 2 : 16;
	if (n > SIZE_MAX / sizeof(struct lease *))
		return -ENOMEM;
	struct lease **old = ls->slot;
	size_t oldn = ls->nslot;
	ls->slot = mem_alloc(ls, n * sizeof(*ls->slot));
	if (!ls->slot) {
		ls->slot = old;
		return -ENOMEM;
	}
	memset(ls->slot, 0, n * sizeof(*ls->slot));
	ls->nslot = n;
	for (size_t i = 0; i < oldn; i++)
		if (old[i])
			ls->slot[probe(ls, old[i]->id)] = old[i];
	mem_free(ls, old);
	return 0;
}

/* Removes the entry at slot i, shifting later entries of its probe run back so lookups
 * never need tombstones. */
static void table_remove(struct lease_set *ls, size_t i)
{
	size_t mask = ls->nslot - 1, j = i;
	ls->slot[i] = NULL;
	for (;;) {
		j = (j + 1) & mask;
		if (!ls->slot[j])
			return;
		size_t h = home(ls, ls->slot[j]->id);
		/* the entry at j may move to the hole at i unless its home lies in (i, j] */
		if (i <= j ? (i < h && h <= j) : (i < h || h <= j))
			continue;
		ls->slot[i] = ls->slot[j];
		ls->slot[j] = NULL;
		i = j;
	}
}

/* ---- the heap --------------------------------------------------------------------------- */

/* Expiry order; within one millisecond, the lease touched first (etcd orders by the
 * nanosecond, which is the same thing). */
static bool order_before(uint64_t ea, uint32_t ta, uint64_t eb, uint32_t tb)
{
	return ea < eb || (ea == eb && (int32_t)(ta - tb) < 0);
}

static bool earlier(const struct lease *a, const struct lease *b)
{
	return order_before(a->expiry, a->touch, b->expiry, b->touch);
}

static void heap_set(struct lease_set *ls, size_t i, struct lease *l)
{
	ls->heap[i] = l;
	l->heap = (uint32_t)i;
}

static void heap_up(struct lease_set *ls, size_t i)
{
	struct lease *l = ls->heap[i];
	while (i > 0 && earlier(l, ls->heap[(i - 1) / 2])) {
		heap_set(ls, i, ls->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(ls, i, l);
}

static void heap_down(struct lease_set *ls, size_t i)
{
	struct lease *l = ls->heap[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= ls->count)
			break;
		if (c + 1 < ls->count && earlier(ls->heap[c + 1], ls->heap[c]))
			c++;
		if (!earlier(ls->heap[c], l))
			break;
		heap_set(ls, i, ls->heap[c]);
		i = c;
	}
	heap_set(ls, i, l);
}

/* Restores the order around slot i after its lease's expiry changed either way. */
static void heap_fix(struct lease_set *ls, size_t i)
{
	struct lease *l = ls->heap[i];
	heap_up(ls, i);
	if (l->heap == i)
		heap_down(ls, i);
}

static int heap_reserve(struct lease_set *ls)
{
	if (ls->count < ls->heapcap)
		return 0;
	size_t n = ls->heapcap ? ls->heapcap * 2 : 8;
	if (n > UINT32_MAX || mem_grow(ls, (void **)&ls->heap, n, sizeof(*ls->heap)) < 0)
		return -ENOMEM;
	ls->heapcap = n;
	return 0;
}

/* ---- life cycle -------------------------------------------------------------------------- */

int lease_set_new(const struct lease_alloc *a, uint64_t seed, int64_t min_ttl,
		  struct lease_set **out)
{
	struct lease_alloc al = a ? *a : (struct lease_alloc){ libc_fn, NULL };
	struct lease_set *ls = al.fn(al.ctx, NULL, sizeof(*ls));
	if (!ls)
		return -ENOMEM;
	memset(ls, 0, sizeof(*ls));
	ls->a = al;
	ls->rng = seed;
	ls->hseed = mix(seed ^ 0x6c65617365ull);
	ls->min_ttl = min_ttl > 0 ? min_ttl : 1;
	*out = ls;
	return 0;
}

static void lease_destroy(struct lease_set *ls, struct lease *l)
{
	for (uint32_t i = 0; i < l->nkeys; i++)
		mem_free(ls, l->keys[i]);
	mem_free(ls, l->keys);
	mem_free(ls, l);
}

void lease_set_free(struct lease_set *ls)
{
	if (!ls)
		return;
	for (size_t i = 0; i < ls->count; i++)
		lease_destroy(ls, ls->heap[i]);
	mem_free(ls, ls->heap);
	mem_free(ls, ls->slot);
	mem_free(ls, ls);
}

/* ---- leases ------------------------------------------------------------------------------ */

static uint64_t expiry_of(uint64_t now_ms, int64_t ttl)
{
	uint64_t ms = (uint64_t)ttl * 1000;	/* ttl <= LEASE_TTL_MAX: no overflow */
	return now_ms > UINT64_MAX - 1 - ms ? UINT64_MAX - 1 : now_ms + ms;
}

static void info_of(const struct lease *l, uint64_t now_ms, struct lease_info *out)
{
	/* signed, truncated toward zero, like Go's int64(time.Duration.Seconds()) */
	int64_t left = l->expiry >= now_ms ? (int64_t)((l->expiry - now_ms) / 1000) :
					     -(int64_t)((now_ms - l->expiry) / 1000);
	*out = (struct lease_info){ .id = l->id, .ttl = l->ttl, .remaining = left,
				    .expiry_ms = l->expiry, .touch = l->touch, .keys = l->nkeys };
}

int lease_grant(struct lease_set *ls, int64_t id, int64_t ttl, uint64_t now_ms,
		struct lease_info *out)
{
	if (ttl > LEASE_TTL_MAX)
		return LEASE_ETOOLARGE;
	if (id != 0 && find(ls, id))
		return LEASE_EEXIST;
	while (id == 0 || find(ls, id))
		id = (int64_t)(next_random(ls) & INT64_MAX);
	if (table_reserve(ls) < 0 || heap_reserve(ls) < 0)
		return -ENOMEM;
	struct lease *l = mem_alloc(ls, sizeof(*l));
	if (!l)
		return -ENOMEM;
	*l = (struct lease){ .id = id, .ttl = ttl < ls->min_ttl ? ls->min_ttl : ttl,
			     .touch = ls->touches++ };
	l->expiry = expiry_of(now_ms, l->ttl);
	ls->slot[probe(ls, id)] = l;
	heap_set(ls, ls->count++, l);
	heap_up(ls, l->heap);
	if (out)
		info_of(l, now_ms, out);
	return 0;
}

int lease_renew(struct lease_set *ls, int64_t id, uint64_t now_ms, int64_t *ttl)
{
	struct lease *l = find(ls, id);
	if (!l)
		return LEASE_ENOTFOUND;
	l->expiry = expiry_of(now_ms, l->ttl);
	l->touch = ls->touches++;
	heap_fix(ls, l->heap);
	if (ttl)
		*ttl = l->ttl;
	return 0;
}

int lease_get(const struct lease_set *ls, int64_t id, uint64_t now_ms, struct lease_info *out)
{
	const struct lease *l = find(ls, id);
	if (!l)
		return LEASE_ENOTFOUND;
	info_of(l, now_ms, out);
	return 0;
}

bool lease_exists(const struct lease_set *ls, int64_t id)
{
	return find(ls, id) != NULL;
}

int lease_remove(struct lease_set *ls, int64_t id)
{
	if (!ls->nslot)
		return LEASE_ENOTFOUND;
	size_t i = probe(ls, id);
	struct lease *l = ls->slot[i];
	if (!l)
		return LEASE_ENOTFOUND;
	table_remove(ls, i);
	size_t h = l->heap;
	struct lease *last = ls->heap[--ls->count];
	if (h < ls->count) {
		heap_set(ls, h, last);
		heap_fix(ls, h);
	}
	lease_destroy(ls, l);
	return 0;
}

size_t lease_count(const struct lease_set *ls)
{
	return ls->count;
}

uint64_t lease_next_expiry(const struct lease_set *ls)
{
	return ls->count ? ls->heap[0]->expiry : UINT64_MAX;
}

static int cmp_info(const void *a, const void *b)
{
	const struct lease_info *x = a, *y = b;
	if (order_before(x->expiry_ms, x->touch, y->expiry_ms, y->touch))
		return -1;
	return order_before(y->expiry_ms, y->touch, x->expiry_ms, x->touch);
}

size_t lease_list(const struct lease_set *ls, uint64_t now_ms, struct lease_info *out)
{
	for (size_t i = 0; i < ls->count; i++)
		info_of(ls->heap[i], now_ms, &out[i]);
	if (ls->count > 1)
		qsort(out, ls->count, sizeof(*out), cmp_info);
	return ls->count;
}

size_t lease_expired(const struct lease_set *ls, uint64_t now_ms, int64_t *ids, size_t max)
{
	size_t n = 0;
	/* a walk of the heap's top: a node not yet due has no due descendant */
	size_t stack[64 + 1];
	size_t sp = 0;
	if (ls->count && ls->heap[0]->expiry <= now_ms)
		stack[sp++] = 0;
	while (sp && n < max) {
		size_t i = stack[--sp];
		ids[n++] = ls->heap[i]->id;
		for (size_t c = 2 * i + 1; c <= 2 * i + 2 && c < ls->count; c++)
			if (ls->heap[c]->expiry <= now_ms && sp < sizeof(stack) / sizeof(*stack))
				stack[sp++] = c;
	}
	/* earliest first: an insertion sort, looking each id up (max is small) */
	for (size_t i = 1; i < n; i++) {
		int64_t id = ids[i];
		const struct lease *l = find(ls, id);
		size_t j = i;
		while (j > 0 && earlier(l, find(ls, ids[j - 1]))) {
			ids[j] = ids[j - 1];
			j--;
		}
		ids[j] = id;
	}
	return n;
}

/* ---- keys -------------------------------------------------------------------------------- */

static int key_cmp(const struct lease_key *k, const uint8_t *p, size_t len)
{
	size_t n = k->len < len ? k->len : len;
	int c = n ? memcmp(k->bytes, p, n) : 0;
	if (c)
		return c;
	return k->len < len ? -1 : k->len > len;
}

/* The index of key in l->keys, or where it would go (with *found false). */
static uint32_t key_search(const struct lease *l, const uint8_t *p, size_t len, bool *found)
{
	uint32_t lo = 0, hi = l->nkeys;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = key_cmp(l->keys[mid], p, len);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

int lease_attach(struct lease_set *ls, int64_t id, const uint8_t *key, size_t len)
{
	struct lease *l = find(ls, id);
	if (!l)
		return LEASE_ENOTFOUND;
	if (len >= UINT32_MAX)
		return -EINVAL;
	bool found;
	uint32_t at = key_search(l, key, len, &found);
	if (found)
		return 0;
	if (l->nkeys == UINT32_MAX)
		return -ENOMEM;
	if (l->nkeys == l->capkeys) {
		uint32_t cap = l->capkeys ? (l->capkeys > UINT32_MAX / 2 ? UINT32_MAX :
					     l->capkeys * 2) : 1;
		if (mem_grow(ls, (void **)&l->keys, cap, sizeof(*l->keys)) < 0)
			return -ENOMEM;
		l->capkeys = cap;
	}
	struct lease_key *k = mem_alloc(ls, sizeof(*k) + len);
	if (!k)
		return -ENOMEM;
	k->len = (uint32_t)len;
	if (len)
		memcpy(k->bytes, key, len);
	memmove(&l->keys[at + 1], &l->keys[at], (l->nkeys - at) * sizeof(*l->keys));
	l->keys[at] = k;
	l->nkeys++;
	return 0;
}

void lease_detach(struct lease_set *ls, int64_t id, const uint8_t *key, size_t len)
{
	struct lease *l = find(ls, id);
	bool found;
	if (!l)
		return;
	uint32_t at = key_search(l, key, len, &found);
	if (!found)
		return;
	mem_free(ls, l->keys[at]);
	memmove(&l->keys[at], &l->keys[at + 1], (l->nkeys - at - 1) * sizeof(*l->keys));
	l->nkeys--;
	/* a lease that lost most of its keys gives the array back (a failed shrink keeps it) */
	if (l->capkeys > 8 && l->nkeys < l->capkeys / 4 &&
	    mem_grow(ls, (void **)&l->keys, l->capkeys / 2, sizeof(*l->keys)) == 0)
		l->capkeys /= 2;
}

int lease_keys(const struct lease_set *ls, int64_t id, lease_key_fn *fn, void *ctx)
{
	const struct lease *l = find(ls, id);
	if (!l)
		return LEASE_ENOTFOUND;
	for (uint32_t i = 0; i < l->nkeys; i++) {
		int rc = fn(ctx, l->keys[i]->bytes, l->keys[i]->len);
		if (rc)
			return rc;
	}
	return 0;
}
