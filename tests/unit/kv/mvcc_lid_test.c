/* The store's small representations on their own: the lease-ID table against a model
 * (random gets and puts, the probe map checked whole after each step, nothing left when the
 * last reference goes, failed allocations changing nothing), and what a key and a revision
 * cost in memory. */
#include <errno.h>
#include <stdlib.h>

#include "../testutil.h"
#include "../../../kv/mvcc_int.h"
#include "mvcctest.h"

#define NIDS 600

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint64_t next_rand(void)
{
	return mvcct_xorshift(&rng);
}

/* Every live entry is found by its ID, every map slot names a live entry, no ID twice. */
static bool table_ok(const struct mvcc *s)
{
	const struct mvcc_lids *l = &s->lids;
	uint32_t live = 0, mapped = 0;

	for (uint32_t i = 1; i < l->n; i++) {
		uint32_t mask = l->nslot - 1, h;
		if (!l->e[i].id)
			continue;
		live++;
		for (h = (uint32_t)(((uint64_t)l->e[i].id * 0x9e3779b97f4a7c15u) >> 32) & mask;
		     l->slot[h] && l->slot[h] != i; h = (h + 1) & mask) {
		}
		if (l->slot[h] != i)
			return false;
	}
	for (uint32_t h = 0; h < l->nslot; h++)
		if (l->slot[h]) {
			mapped++;
			if (!l->e[l->slot[h]].id)
				return false;
		}
	return live == mapped && live == l->live;
}

static void test_lids_against_model(void)
{
	struct mvcc *s = mvcct_new();
	int64_t ids[NIDS];
	uint32_t refs[NIDS] = { 0 }, idx[NIDS] = { 0 };
	bool ok = true;

	for (int i = 0; i < NIDS; i++)	/* spread, clustered and negative IDs */
		ids[i] = i % 3 == 0 ? (int64_t)next_rand() : i % 3 == 1 ? 1000 + i : -i;
	for (int step = 0; step < 40000 && ok; step++) {
		int i = (int)(next_rand() % NIDS);
		if (next_rand() % 2 || !refs[i]) {
			uint32_t got;
			if (mvcc_lid_get(s, ids[i], &got) != 0)
				ok = false;
			else if (refs[i] && got != idx[i])
				ok = false;	/* the same ID, the same index */
			idx[i] = got;
			refs[i]++;
		} else {
			mvcc_lid_put(s, idx[i]);
			refs[i]--;
		}
		for (int j = 0; j < NIDS && ok; j += 37)
			if (refs[j] && mvcc_lid_id(s, idx[j]) != ids[j])
				ok = false;
		if (step % 97 == 0)
			ok &= table_ok(s);
	}
	TU_CHECK(ok);
	TU_CHECK(table_ok(s));
	for (int i = 0; i < NIDS; i++)
		while (refs[i]--)
			mvcc_lid_put(s, idx[i]);
	TU_EQ_INT(s->lids.cap, 0);	/* no reference left: the table is gone */
	TU_EQ_INT(s->lids.nslot, 0);
	uint32_t none = 7;
	TU_EQ_INT(mvcc_lid_get(s, 0, &none), 0);	/* no lease: index 0, nothing held */
	TU_EQ_INT(none, 0);
	TU_EQ_INT(mvcc_lid_id(s, 0), 0);
	mvcc_free(s);
	TU_EQ_INT(mvcct_mem.outstanding, 0);
}

static void test_lid_failures(void)
{
	struct mvcc *s = mvcct_new();
	uint32_t got[40];
	long outstanding;
	int n = 0;

	for (int i = 0; i < 40; i++) {
		outstanding = mvcct_mem.outstanding;
		for (long nth = 1;; nth++) {
			mvcct_fail(nth, false);
			int rc = mvcc_lid_get(s, 5000 + i, &got[i]);
			mvcct_fail(0, false);
			if (rc == 0)
				break;
			n++;
			TU_EQ_INT(rc, -ENOMEM);
			TU_EQ_INT(mvcct_mem.outstanding, outstanding);
			TU_CHECK(table_ok(s));
		}
	}
	TU_CHECK(n > 0);	/* growing the entries and the map was tried and failed */
	for (int i = 0; i < 40; i++)
		TU_EQ_INT(mvcc_lid_id(s, got[i]), 5000 + i);
	for (int i = 0; i < 40; i++)
		mvcc_lid_put(s, got[i]);
	mvcc_free(s);
	TU_EQ_INT(mvcct_mem.outstanding, 0);
}

/* The sizes the memory budget was worked out with (see mvcc_int.h). */
static void test_sizes(void)
{
	TU_EQ_INT(sizeof(struct mvcc_rev), 32);
	TU_EQ_INT(sizeof(struct mvcc_key), 16);
	TU_EQ_INT(sizeof(struct mvcc_logent), 16);
}

int main(void)
{
	TU_RUN(test_lids_against_model);
	TU_RUN(test_lid_failures);
	TU_RUN(test_sizes);
	return TU_EXIT();
}
