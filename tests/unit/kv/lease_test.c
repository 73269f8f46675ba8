/* The lease core: etcd 3.4's TTL rules (minimum, maximum, errors and their order), ids,
 * renewals, time-to-live truncation, listing and expiry order, attached keys, a seeded
 * simulation against a plain model, and every allocation failing in turn. */
#include <errno.h>

#include "../../../kv/lease.h"
#include "../testutil.h"

/* ---- a counting allocator that fails the Nth allocation (0: none) ---------------------- */

static struct {
	long calls, fail_at, outstanding;
} mem;

static void *test_fn(void *ctx, void *p, size_t n)
{
	(void)ctx;
	if (!n) {
		if (p)
			mem.outstanding--;
		free(p);
		return NULL;
	}
	if (++mem.calls == mem.fail_at)
		return NULL;
	void *q = realloc(p, n);
	if (q && !p)
		mem.outstanding++;
	return q;
}

static const struct lease_alloc test_alloc = { test_fn, NULL };

static struct lease_set *new_set(uint64_t seed)
{
	struct lease_set *ls = NULL;
	mem.fail_at = 0;
	TU_EQ_INT(lease_set_new(&test_alloc, seed, 2, &ls), 0);
	return ls;
}

static int attach(struct lease_set *ls, int64_t id, const char *k)
{
	return lease_attach(ls, id, (const uint8_t *)k, strlen(k));
}

static void detach(struct lease_set *ls, int64_t id, const char *k)
{
	lease_detach(ls, id, (const uint8_t *)k, strlen(k));
}

/* The keys of a lease joined by spaces, or "!" if the lease does not exist. */
struct joined {
	char s[512];
	size_t n;
};

static int join_key(void *ctx, const uint8_t *k, size_t len)
{
	struct joined *j = ctx;
	j->n += (size_t)snprintf(j->s + j->n, sizeof(j->s) - j->n, "%s%.*s", j->n ? " " : "",
				 (int)len, (const char *)k);
	return 0;
}

static const char *keys_of(const struct lease_set *ls, int64_t id)
{
	static struct joined j;
	j.n = 0;
	j.s[0] = 0;
	if (lease_keys(ls, id, join_key, &j) == LEASE_ENOTFOUND)
		return "!";
	return j.s;
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_min_ttl(void)
{
	TU_EQ_INT(lease_min_ttl(100, 1000), 2);	/* etcd's defaults: 1.5 s rounded up */
	TU_EQ_INT(lease_min_ttl(100, 500), 1);	/* 7 ticks of 100 ms */
	TU_EQ_INT(lease_min_ttl(100, 3000), 5);
	TU_EQ_INT(lease_min_ttl(300, 1000), 2);	/* 3 ticks -> 4 -> 1.2 s */
	TU_EQ_INT(lease_min_ttl(0, 0), 1);
	TU_EQ_INT(lease_min_ttl(1000, 500), 1);	/* no whole tick */
}

static void test_grant_rules(void)
{
	struct lease_set *ls = new_set(1);
	struct lease_info li;

	TU_EQ_INT(lease_grant(ls, 10, 1, 0, &li), 0);
	TU_EQ_INT(li.id, 10);
	TU_EQ_INT(li.ttl, 2);		/* raised to the minimum */
	TU_EQ_INT(lease_grant(ls, 11, 0, 0, &li), 0);
	TU_EQ_INT(li.ttl, 2);
	TU_EQ_INT(lease_grant(ls, 12, -5, 0, &li), 0);
	TU_EQ_INT(li.ttl, 2);
	TU_EQ_INT(lease_grant(ls, -3, 10, 0, &li), 0);	/* a client may pick a negative id */
	TU_EQ_INT(li.ttl, 10);
	TU_EQ_INT(lease_grant(ls, 13, LEASE_TTL_MAX, 0, &li), 0);
	TU_EQ_INT(li.ttl, LEASE_TTL_MAX);
	TU_EQ_INT(li.expiry_ms, (uint64_t)LEASE_TTL_MAX * 1000);
	TU_EQ_INT(lease_grant(ls, 14, LEASE_TTL_MAX + 1, 0, &li), LEASE_ETOOLARGE);
	/* etcd checks the TTL before the id */
	TU_EQ_INT(lease_grant(ls, 10, LEASE_TTL_MAX + 1, 0, &li), LEASE_ETOOLARGE);
	TU_EQ_INT(lease_grant(ls, 10, 5, 0, &li), LEASE_EEXIST);
	TU_EQ_INT(lease_count(ls), 5);
	TU_EQ_STR(lease_strerror(LEASE_EEXIST), "etcdserver: lease already exists");
	TU_EQ_STR(lease_strerror(LEASE_ETOOLARGE), "etcdserver: too large lease TTL");
	TU_EQ_STR(lease_strerror(LEASE_ENOTFOUND), "etcdserver: requested lease not found");
	lease_set_free(ls);
	TU_EQ_INT(mem.outstanding, 0);
}

static void test_chosen_ids(void)
{
	struct lease_set *a = new_set(42), *b = new_set(42), *c = new_set(43);
	struct lease_info x, y, z;
	for (int i = 0; i < 200; i++) {
		TU_EQ_INT(lease_grant(a, 0, 60, 0, &x), 0);
		TU_EQ_INT(lease_grant(b, 0, 60, 0, &y), 0);
		TU_EQ_INT(lease_grant(c, 0, 60, 0, &z), 0);
		TU_CHECK(x.id > 0);
		TU_EQ_INT(x.id, y.id);	/* the seed decides */
		TU_CHECK(x.id != z.id);
	}
	TU_EQ_INT(lease_count(a), 200);	/* all distinct */
	lease_set_free(a);
	lease_set_free(b);
	lease_set_free(c);
	TU_EQ_INT(mem.outstanding, 0);
}

static void test_ttl_and_renew(void)
{
	struct lease_set *ls = new_set(1);
	struct lease_info li;
	int64_t ttl = -1;

	TU_EQ_INT(lease_grant(ls, 7, 100, 5000, NULL), 0);
	TU_EQ_INT(lease_get(ls, 7, 5001, &li), 0);
	TU_EQ_INT(li.remaining, 99);	/* truncated, as etcd shows it just after a grant */
	TU_EQ_INT(li.ttl, 100);
	TU_EQ_INT(lease_get(ls, 7, 5000, &li), 0);
	TU_EQ_INT(li.remaining, 100);
	TU_EQ_INT(lease_get(ls, 7, 104999, &li), 0);
	TU_EQ_INT(li.remaining, 0);
	TU_EQ_INT(lease_get(ls, 7, 106500, &li), 0);
	TU_EQ_INT(li.remaining, -1);	/* past expiry, toward zero */
	TU_EQ_INT(lease_renew(ls, 7, 50000, &ttl), 0);
	TU_EQ_INT(ttl, 100);		/* renewing answers the granted TTL */
	TU_EQ_INT(lease_get(ls, 7, 50000, &li), 0);
	TU_EQ_INT(li.expiry_ms, 150000);
	TU_EQ_INT(lease_renew(ls, 8, 0, &ttl), LEASE_ENOTFOUND);
	TU_EQ_INT(lease_get(ls, 8, 0, &li), LEASE_ENOTFOUND);
	TU_CHECK(lease_exists(ls, 7));
	TU_CHECK(!lease_exists(ls, 8));
	TU_EQ_INT(lease_remove(ls, 7), 0);
	TU_EQ_INT(lease_remove(ls, 7), LEASE_ENOTFOUND);
	TU_CHECK(!lease_exists(ls, 7));
	lease_set_free(ls);
}

static void test_list_and_expiry(void)
{
	struct lease_set *ls = new_set(1);
	struct lease_info li[8];
	int64_t ids[8];

	TU_EQ_INT(lease_next_expiry(ls), UINT64_MAX);
	TU_EQ_INT(lease_expired(ls, UINT64_MAX - 1, ids, 8), 0);
	TU_EQ_INT(lease_list(ls, 0, li), 0);
	lease_grant(ls, 1, 600, 0, NULL);
	lease_grant(ls, 2, 300, 0, NULL);
	lease_grant(ls, 30, 2, 0, NULL);
	lease_grant(ls, 4, 2, 0, NULL);	/* same millisecond as 30: granted later, listed later */
	lease_grant(ls, 5, 10, 0, NULL);
	TU_EQ_INT(lease_list(ls, 0, li), 5);
	TU_EQ_INT(li[0].id, 30);
	TU_EQ_INT(li[1].id, 4);
	TU_EQ_INT(li[2].id, 5);
	TU_EQ_INT(li[3].id, 2);
	TU_EQ_INT(li[4].id, 1);
	TU_EQ_INT(lease_next_expiry(ls), 2000);
	TU_EQ_INT(lease_expired(ls, 1999, ids, 8), 0);
	TU_EQ_INT(lease_expired(ls, 2000, ids, 8), 2);
	TU_EQ_INT(ids[0], 30);
	TU_EQ_INT(ids[1], 4);
	TU_EQ_INT(lease_expired(ls, 2000, ids, 1), 1);
	TU_EQ_INT(lease_expired(ls, 400000, ids, 8), 4);
	TU_EQ_INT(ids[3], 2);
	/* a renewal moves a lease back in the order */
	lease_renew(ls, 30, 1000, NULL);
	TU_EQ_INT(lease_next_expiry(ls), 2000);
	TU_EQ_INT(lease_list(ls, 0, li), 5);
	TU_EQ_INT(li[0].id, 4);
	TU_EQ_INT(li[1].id, 30);
	lease_remove(ls, 4);
	TU_EQ_INT(lease_next_expiry(ls), 3000);
	lease_remove(ls, 30);
	lease_remove(ls, 5);
	TU_EQ_INT(lease_next_expiry(ls), 300000);
	lease_set_free(ls);
}

static void test_keys(void)
{
	struct lease_set *ls = new_set(1);

	lease_grant(ls, 1, 60, 0, NULL);
	lease_grant(ls, 2, 60, 0, NULL);
	TU_EQ_INT(attach(ls, 3, "x"), LEASE_ENOTFOUND);
	TU_EQ_INT(attach(ls, 1, "b"), 0);
	TU_EQ_INT(attach(ls, 1, "a"), 0);
	TU_EQ_INT(attach(ls, 1, "ab"), 0);
	TU_EQ_INT(attach(ls, 1, "c"), 0);
	TU_EQ_INT(attach(ls, 1, "a"), 0);	/* twice is once */
	TU_EQ_INT(attach(ls, 1, "Z"), 0);
	TU_EQ_STR(keys_of(ls, 1), "Z a ab b c");	/* byte order, a prefix first */
	struct lease_info li;
	lease_get(ls, 1, 0, &li);
	TU_EQ_INT(li.keys, 5);
	detach(ls, 1, "Z");
	detach(ls, 1, "ab");
	detach(ls, 1, "nope");
	detach(ls, 9, "a");
	TU_EQ_STR(keys_of(ls, 1), "a b c");
	TU_EQ_STR(keys_of(ls, 2), "");
	TU_EQ_STR(keys_of(ls, 9), "!");
	/* many keys: the array grows, and shrinks back as they go */
	char k[16];
	for (int i = 0; i < 1000; i++) {
		snprintf(k, sizeof(k), "k%04d", (i * 7919) % 1000);
		TU_EQ_INT(attach(ls, 2, k), 0);
	}
	lease_get(ls, 2, 0, &li);
	TU_EQ_INT(li.keys, 1000);
	for (int i = 0; i < 998; i++) {
		snprintf(k, sizeof(k), "k%04d", i);
		detach(ls, 2, k);
	}
	TU_EQ_STR(keys_of(ls, 2), "k0998 k0999");
	/* lease_remove frees the keys (ASan would see a leak) */
	TU_EQ_INT(lease_remove(ls, 1), 0);
	TU_EQ_STR(keys_of(ls, 1), "!");
	lease_set_free(ls);
	TU_EQ_INT(mem.outstanding, 0);
}

static int stop_at_b(void *ctx, const uint8_t *k, size_t len)
{
	(*(int *)ctx)++;
	return len == 1 && k[0] == 'b' ? 7 : 0;
}

static void test_keys_walk_stops(void)
{
	struct lease_set *ls = new_set(1);
	int seen = 0;
	lease_grant(ls, 1, 60, 0, NULL);
	attach(ls, 1, "a");
	attach(ls, 1, "b");
	attach(ls, 1, "c");
	TU_EQ_INT(lease_keys(ls, 1, stop_at_b, &seen), 7);
	TU_EQ_INT(seen, 2);
	lease_set_free(ls);
}

/* A seeded simulation against a plain array: grants (chosen and given ids), renewals,
 * removals and lookups; after each step the set agrees with the model. */
#define SIM_MAX 600
static struct {
	int64_t id;
	uint64_t expiry;
} model[SIM_MAX];
static int nmodel;

static uint64_t rnd_state;
static uint64_t rnd(void)
{
	rnd_state = rnd_state * 6364136223846793005ull + 1442695040888963407ull;
	return rnd_state >> 33;
}

static void test_simulation(void)
{
	for (uint64_t seed = 1; seed <= 20; seed++) {
		struct lease_set *ls = new_set(seed);
		rnd_state = seed;
		nmodel = 0;
		uint64_t now = 0;
		int bad = 0;
		for (int step = 0; step < 3000 && !bad; step++) {
			now += rnd() % 50;
			unsigned op = rnd() % 10;
			if (op < 4 && nmodel < SIM_MAX) {
				int64_t id = rnd() % 2 ? 0 : (int64_t)(rnd() % 2000) - 1000;
				int64_t ttl = (int64_t)(rnd() % 30);
				struct lease_info li;
				bool had = false;
				for (int i = 0; i < nmodel; i++)
					had |= id && model[i].id == id;
				int rc = lease_grant(ls, id, ttl, now, &li);
				if (had) {
					bad |= rc != LEASE_EEXIST;
				} else {
					bad |= rc != 0 || (id && li.id != id) ||
					       li.ttl != (ttl < 2 ? 2 : ttl);
					model[nmodel].id = li.id;
					model[nmodel++].expiry = li.expiry_ms;
				}
			} else if (op < 6 && nmodel) {
				int i = (int)(rnd() % (unsigned)nmodel);
				bad |= lease_remove(ls, model[i].id) != 0;
				model[i] = model[--nmodel];
			} else if (op < 8 && nmodel) {
				int i = (int)(rnd() % (unsigned)nmodel);
				int64_t ttl;
				bad |= lease_renew(ls, model[i].id, now, &ttl) != 0;
				model[i].expiry = now + (uint64_t)ttl * 1000;
			} else {
				/* expiry agrees with the model */
				uint64_t min = UINT64_MAX;
				int due = 0;
				for (int i = 0; i < nmodel; i++) {
					min = model[i].expiry < min ? model[i].expiry : min;
					due += model[i].expiry <= now;
				}
				int64_t ids[SIM_MAX];
				bad |= lease_next_expiry(ls) != min;
				bad |= lease_expired(ls, now, ids, SIM_MAX) != (size_t)due;
			}
			bad |= lease_count(ls) != (size_t)nmodel;
			for (int i = 0; i < nmodel && !bad; i++)
				bad |= !lease_exists(ls, model[i].id);
		}
		if (bad)
			fprintf(stderr, "simulation seed %llu disagrees with the model\n",
				(unsigned long long)seed);
		TU_CHECK(!bad);
		/* the listing is in expiry order */
		struct lease_info li[SIM_MAX];
		size_t n = lease_list(ls, now, li);
		for (size_t i = 1; i < n; i++)
			TU_CHECK(li[i - 1].expiry_ms <= li[i].expiry_ms);
		lease_set_free(ls);
		TU_EQ_INT(mem.outstanding, 0);
	}
}

/* ---- allocation failure ----------------------------------------------------------------
 * Each op runs with allocation N failing for N = 1, 2, ... until it succeeds; every failure
 * must be -ENOMEM and leave the set as it was: same leases (in order) and same keys. */

static void describe(const struct lease_set *ls, char *out, size_t n)
{
	struct lease_info li[64];
	size_t k = lease_list(ls, 0, li), off = 0;
	for (size_t i = 0; i < k && off < n; i++)
		off += (size_t)snprintf(out + off, n - off, "%lld:%lld[%s] ",
					(long long)li[i].id, (long long)li[i].ttl,
					keys_of(ls, li[i].id));
	if (!k)
		out[0] = 0;
}

typedef int op_fn(struct lease_set *ls, int i);

static int op_grant(struct lease_set *ls, int i)
{
	return lease_grant(ls, 1000 + i, 60 + i, 0, NULL);
}

static int op_grant_chosen(struct lease_set *ls, int i)
{
	(void)i;
	return lease_grant(ls, 0, 60, 0, NULL);
}

static int op_attach(struct lease_set *ls, int i)
{
	char k[32];
	snprintf(k, sizeof(k), "key-%03d", (i * 37) % 101);
	return attach(ls, 1000, k);
}

static int fail_loop(struct lease_set *ls, op_fn *op, int i)
{
	static char before[8192], after[8192];
	int failures = 0;
	for (long nth = 1; nth < 100; nth++) {
		describe(ls, before, sizeof(before));
		mem.calls = 0;
		mem.fail_at = nth;
		int rc = op(ls, i);
		mem.fail_at = 0;
		if (rc >= 0)
			return failures;
		failures++;
		describe(ls, after, sizeof(after));
		if (rc != -ENOMEM || strcmp(before, after) != 0) {
			fprintf(stderr, "allocation %ld: rc %d\n  before %s\n  after  %s\n", nth, rc,
				before, after);
			TU_CHECK(!"failure changed the set");
			return failures;
		}
	}
	TU_CHECK(!"never succeeded");
	return failures;
}

static void test_alloc_failures(void)
{
	struct lease_set *ls = NULL;
	mem.calls = 0;
	mem.fail_at = 1;
	TU_EQ_INT(lease_set_new(&test_alloc, 1, 2, &ls), -ENOMEM);
	mem.fail_at = 0;
	ls = new_set(9);
	int failures = 0;
	for (int i = 0; i < 40; i++)		/* table and heap growth on the way */
		failures += fail_loop(ls, op_grant, i);
	for (int i = 0; i < 20; i++)
		failures += fail_loop(ls, op_grant_chosen, i);
	for (int i = 0; i < 60; i++)		/* key array growth and key copies */
		failures += fail_loop(ls, op_attach, i);
	TU_CHECK(failures > 100);
	TU_EQ_INT(lease_count(ls), 60);
	struct lease_info li;
	TU_EQ_INT(lease_get(ls, 1000, 0, &li), 0);
	TU_CHECK(li.keys > 40);
	/* removal and detach never allocate */
	mem.calls = 0;
	mem.fail_at = 1;
	detach(ls, 1000, "key-000");
	TU_EQ_INT(lease_remove(ls, 1001), 0);
	mem.fail_at = 0;
	TU_EQ_INT(lease_count(ls), 59);
	lease_set_free(ls);
	TU_EQ_INT(mem.outstanding, 0);
}

int main(void)
{
	TU_RUN(test_min_ttl);
	TU_RUN(test_grant_rules);
	TU_RUN(test_chosen_ids);
	TU_RUN(test_ttl_and_renew);
	TU_RUN(test_list_and_expiry);
	TU_RUN(test_keys);
	TU_RUN(test_keys_walk_stops);
	TU_RUN(test_simulation);
	TU_RUN(test_alloc_failures);
	return tu_failures ? 1 : 0;
}
