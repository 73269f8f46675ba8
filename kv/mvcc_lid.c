/* The store's lease IDs: a revision holds a 32-bit index instead of the 64-bit ID. Entries
 * are counted by the revisions holding them and reused once free; the ID -> index map is
 * open addressing with linear probes, deleted from by shifting the probe run back. */
#include <errno.h>
#include <string.h>

#include "mvcc_int.h"

static uint32_t hash(int64_t id, uint32_t mask)
{
	uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15u;
	return (uint32_t)(h >> 32) & mask;
}

/* The probe slot holding id, or the empty slot where it would go. */
static uint32_t find(const struct mvcc_lids *l, int64_t id)
{
	uint32_t mask = l->nslot - 1, h = hash(id, mask);

	while (l->slot[h] && l->e[l->slot[h]].id != id)
		h = (h + 1) & mask;
	return h;
}

/* Room for one more entry and a map at most half full. Returns 0, or -ENOMEM with nothing
 * changed (no block more or less than before). */
static int reserve(struct mvcc *s)
{
	struct mvcc_lids *l = &s->lids;
	bool grow = !l->free && l->n == l->cap;
	uint32_t cap = l->cap ? l->cap * 2 : 8, n = l->nslot;
	uint32_t *slot = NULL;

	if (grow && l->cap >= UINT32_MAX / 4)
		return -ENOMEM;
	if ((uint64_t)(l->n + 2) * 2 > n) {	/* index 0 and the new entry */
		n = n ? n * 2 : 16;
		if (!(slot = mvcc_mem_alloc(s, n * sizeof(*slot))))
			return -ENOMEM;
	}
	if (grow && mvcc_mem_grow(s, (void **)&l->e, l->cap * sizeof(l->e[0]),
				  cap * sizeof(l->e[0]))) {
		mvcc_mem_free(s, slot, n * sizeof(*slot));
		return -ENOMEM;
	}
	if (grow) {
		if (!l->cap)
			l->e[l->n++] = (struct mvcc_lid){ 0, 0 };	/* index 0: no lease */
		l->cap = cap;
	}
	if (!slot)
		return 0;
	memset(slot, 0, n * sizeof(*slot));
	for (uint32_t i = 0; i < l->nslot; i++) {
		uint32_t h;
		if (!l->slot[i])
			continue;
		for (h = hash(l->e[l->slot[i]].id, n - 1); slot[h]; h = (h + 1) & (n - 1)) {
		}
		slot[h] = l->slot[i];
	}
	mvcc_mem_free(s, l->slot, l->nslot * sizeof(*l->slot));
	l->slot = slot;
	l->nslot = n;
	return 0;
}

int mvcc_lid_get(struct mvcc *s, int64_t id, uint32_t *out)
{
	struct mvcc_lids *l = &s->lids;
	uint32_t h, i;

	*out = 0;
	if (!id)
		return 0;
	if (l->nslot && l->slot[h = find(l, id)]) {
		*out = l->slot[h];
		l->e[*out].refs++;
		return 0;
	}
	if (reserve(s))
		return -ENOMEM;
	h = find(l, id);
	if (l->free) {
		i = l->free;
		l->free = l->e[i].refs;
	} else {
		i = l->n++;
	}
	l->e[i] = (struct mvcc_lid){ id, 1 };
	l->slot[h] = i;
	l->live++;
	*out = i;
	return 0;
}

void mvcc_lid_ref(struct mvcc *s, uint32_t i)
{
	if (i)
		s->lids.e[i].refs++;
}

void mvcc_lid_put(struct mvcc *s, uint32_t i)
{
	struct mvcc_lids *l = &s->lids;
	uint32_t mask = l->nslot - 1, h, j;

	if (!i || --l->e[i].refs)
		return;
	h = find(l, l->e[i].id);
	l->slot[h] = 0;
	/* shift back the entries of the probe run that would no longer be found */
	for (j = (h + 1) & mask; l->slot[j]; j = (j + 1) & mask) {
		uint32_t home = hash(l->e[l->slot[j]].id, mask);
		if (((j - home) & mask) >= ((j - h) & mask)) {
			l->slot[h] = l->slot[j];
			l->slot[j] = 0;
			h = j;
		}
	}
	l->e[i] = (struct mvcc_lid){ 0, l->free };
	l->free = i;
	if (!--l->live)
		mvcc_lid_free(s);
}

void mvcc_lid_free(struct mvcc *s)
{
	struct mvcc_lids *l = &s->lids;

	mvcc_mem_free(s, l->e, l->cap * sizeof(l->e[0]));
	mvcc_mem_free(s, l->slot, l->nslot * sizeof(*l->slot));
	memset(l, 0, sizeof(*l));
}
