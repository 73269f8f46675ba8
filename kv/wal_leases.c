/* The leases the log knows of, (id, TTL) each, in an open-addressing hash table with linear
 * probing: lease grants and revokes update it as they are logged, replay rebuilds it, and
 * a snapshot writes it out. Pure; memory only through the allocator given. */
#include <errno.h>
#include <string.h>

#include "wal.h"

void wal_leases_init(struct wal_leases *l, const struct mvcc_alloc *a)
{
	memset(l, 0, sizeof(*l));
	l->a.fn = a ? a->fn : mvcc_libc;
	l->a.ctx = a ? a->ctx : NULL;
}

void wal_leases_free(struct wal_leases *l)
{
	if (l->slot)
		l->a.fn(l->a.ctx, l->slot, 0);
	l->slot = NULL;
	l->cap = l->n = 0;
}

static size_t home(int64_t id, size_t cap)
{
	uint64_t x = (uint64_t)id * 0x9e3779b97f4a7c15ull;
	return (size_t)(x ^ (x >> 29)) & (cap - 1);
}

/* The slot holding id, or the free slot where it would go. */
static size_t find(const struct wal_leases *l, int64_t id)
{
	size_t i = home(id, l->cap);

	while (l->slot[i].id && l->slot[i].id != id)
		i = (i + 1) & (l->cap - 1);
	return i;
}

static int grow(struct wal_leases *l)
{
	size_t cap = l->cap ? l->cap * 2 : 16;
	struct wal_leases n = { .cap = cap, .a = l->a };

	if (cap > SIZE_MAX / 2 / sizeof(*n.slot))
		return -ENOMEM;
	n.slot = l->a.fn(l->a.ctx, NULL, cap * sizeof(*n.slot));
	if (!n.slot)
		return -ENOMEM;
	memset(n.slot, 0, cap * sizeof(*n.slot));
	for (size_t i = 0; i < l->cap; i++)
		if (l->slot[i].id)
			n.slot[find(&n, l->slot[i].id)] = l->slot[i];
	n.n = l->n;
	wal_leases_free(l);
	*l = n;
	return 0;
}

int wal_leases_put(struct wal_leases *l, int64_t id, int64_t ttl)
{
	size_t i;

	if (!id)
		return -EINVAL;
	if ((l->n + 1) * 4 > l->cap * 3 && grow(l))
		return -ENOMEM;
	i = find(l, id);
	if (!l->slot[i].id)
		l->n++;
	l->slot[i] = (struct wal_lease){ id, ttl };
	return 0;
}

void wal_leases_del(struct wal_leases *l, int64_t id)
{
	size_t mask = l->cap - 1, i, j;

	if (!id || !l->cap || !l->slot[i = find(l, id)].id)
		return;
	/* backward shift: move up every later entry of the run that may live at i */
	for (j = i;;) {
		j = (j + 1) & mask;
		if (!l->slot[j].id)
			break;
		size_t k = home(l->slot[j].id, l->cap);
		if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
			l->slot[i] = l->slot[j];
			i = j;
		}
	}
	l->slot[i] = (struct wal_lease){ 0, 0 };
	l->n--;
}

int wal_leases_copy(struct wal_leases *dst, const struct wal_leases *src)
{
	int rc = 0;

	wal_leases_init(dst, &src->a);
	for (size_t i = 0; i < src->cap && !rc; i++) {
		const struct wal_lease *ls = wal_leases_slot(src, i);
		if (ls)
			rc = wal_leases_put(dst, ls->id, ls->ttl);
	}
	if (rc)
		wal_leases_free(dst);
	return rc;
}

const struct wal_lease *wal_leases_slot(const struct wal_leases *l, size_t i)
{
	return i < l->cap && l->slot[i].id ? &l->slot[i] : NULL;
}
