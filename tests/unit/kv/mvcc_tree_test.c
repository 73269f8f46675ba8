/* The MVCC store's B+-tree index on its own: after every step of random, ascending and
 * descending inserts and removals, the structure is checked whole (fill bounds, each
 * inner entry naming its child's first key, one leaf depth, the leaf chain, order, count),
 * and a failed insert must leave it untouched. */
#include <errno.h>
#include <stdlib.h>

#include "../testutil.h"
#include "../../../kv/mvcc_int.h"
#include "mvcctest.h"

#define NKEYS 3000

static struct mvcc *s;
static struct mvcc_tree t;
static struct mvcc_key *pool[NKEYS];
static bool in[NKEYS];
static size_t n_in;

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
	return mvcct_xorshift(&rng);
}

static int kcmp(const struct mvcc_key *a, const struct mvcc_key *b)
{
	return mvcc_key_cmp(a->bytes, a->len, b->bytes, b->len);
}

struct walk {
	int leaf_depth;
	size_t count;
	const struct mvcc_key *last;
	const struct mvcc_node *prev_leaf;
	bool ok;
};

static const struct mvcc_key *check_node(const struct mvcc_node *n, int depth, bool root,
					 struct walk *w)
{
	const struct mvcc_key *first = NULL;

	if (n->n > BT_CAP || (!root && n->n < BT_MIN) || n->n == 0 || (root && !n->leaf && n->n < 2))
		w->ok = false;
	if (n->leaf) {
		if (w->leaf_depth < 0)
			w->leaf_depth = depth;
		if (w->leaf_depth != depth)
			w->ok = false;
		if (w->prev_leaf && w->prev_leaf->next != n)
			w->ok = false;
		w->prev_leaf = n;
		for (unsigned i = 0; i < n->n; i++) {
			if (w->last && kcmp(w->last, n->key[i]) >= 0)
				w->ok = false;
			w->last = n->key[i];
			w->count++;
		}
		return n->n ? n->key[0] : NULL;
	}
	for (unsigned i = 0; i < n->n; i++) {
		const struct mvcc_key *f = check_node(n->kid[i], depth + 1, false, w);
		if (f != n->key[i])
			w->ok = false;
		if (!i)
			first = f;
	}
	return first;
}

static bool tree_ok(void)
{
	struct walk w = { -1, 0, NULL, NULL, true };

	if (!t.root)
		return t.count == 0 && n_in == 0;
	check_node(t.root, 1, true, &w);
	if (w.prev_leaf->next != NULL || w.leaf_depth != t.height)
		w.ok = false;
	return w.ok && w.count == t.count && t.count == n_in;
}

static void put(int i)
{
	if (in[i])
		return;
	TU_EQ_INT(mvcc_bt_insert(s, &t, pool[i], (struct mvcc_bytes){ pool[i]->bytes, pool[i]->len }), 0);
	in[i] = true;
	n_in++;
}

static void del(int i)
{
	if (!in[i])
		return;
	mvcc_bt_remove(s, &t, pool[i]);
	in[i] = false;
	n_in--;
}

static void setup(void)
{
	char buf[32];

	s = mvcct_new();
	for (int i = 0; i < NKEYS; i++) {
		/* lengths vary so that byte order and length order both matter */
		int len = snprintf(buf, sizeof(buf), "%0*d", 1 + i % 7, i);
		pool[i] = mvcc_key_new(s, (struct mvcc_bytes){ (const uint8_t *)buf, (size_t)len });
	}
}

static void teardown(void)
{
	for (int i = 0; i < NKEYS; i++) {
		del(i);
		mvcc_key_free(s, pool[i]);
	}
	mvcc_bt_destroy(s, &t);
	mvcc_free(s);
}

static void test_random(void)
{
	bool ok = true;

	for (int step = 0; step < 40000 && ok; step++) {
		int i = (int)(next_rand() % NKEYS);
		if (next_rand() % 100 < (step < 20000 ? 60 : 40))
			put(i);
		else
			del(i);
		if (step % 97 == 0 || step > 39000)
			ok = tree_ok();
	}
	TU_CHECK(ok);
	/* every key present is found, every other is not, and a seek lands right */
	for (int i = 0; i < NKEYS; i++) {
		struct mvcc_key *k = mvcc_bt_get(&t, pool[i]->bytes, pool[i]->len);
		ok &= in[i] ? k == pool[i] : k == NULL;
		struct mvcc_key *at = mvcc_bt_at(mvcc_bt_seek(&t, pool[i]->bytes, pool[i]->len));
		ok &= !at || kcmp(at, pool[i]) >= 0;
	}
	TU_CHECK(ok);
	for (int i = 0; i < NKEYS; i++)
		del(i);
	TU_CHECK(tree_ok());
	TU_CHECK(t.root == NULL);
}

static void test_ordered(void)
{
	bool ok = true;
	int order[NKEYS];

	/* insert in key order (the dense split), remove in reverse, and the other way */
	for (int i = 0; i < NKEYS; i++)
		order[i] = i;
	for (int i = 1; i < NKEYS; i++)
		for (int j = i; j > 0 && kcmp(pool[order[j - 1]], pool[order[j]]) > 0; j--) {
			int x = order[j];
			order[j] = order[j - 1];
			order[j - 1] = x;
		}
	for (int i = 0; i < NKEYS; i++) {
		put(order[i]);
		if (i % 50 == 0)
			ok &= tree_ok();
	}
	ok &= tree_ok();
	TU_CHECK(t.height <= 4);
	for (int i = NKEYS; i-- > 0;) {
		del(order[i]);
		if (i % 50 == 0)
			ok &= tree_ok();
	}
	for (int i = NKEYS; i-- > 0;)
		put(order[i]);
	ok &= tree_ok();
	for (int i = 0; i < NKEYS; i++) {
		del(order[i]);
		if (i % 50 == 0)
			ok &= tree_ok();
	}
	ok &= tree_ok();
	TU_CHECK(ok);
}

static void test_insert_failure(void)
{
	bool ok = true;

	for (int i = 0; i < NKEYS; i += 2)
		put(i);
	/* fail each insert's first, second, ... allocation: no change, then retry */
	for (int i = 1; i < NKEYS && ok; i += 2) {
		for (long nth = 1;; nth++) {
			size_t before = t.count;
			int height = t.height;
			mvcct_fail(nth, false);
			int rc = mvcc_bt_insert(s, &t, pool[i], (struct mvcc_bytes){ pool[i]->bytes, pool[i]->len });
			mvcct_fail(0, false);
			if (rc == 0) {
				in[i] = true;
				n_in++;
				break;
			}
			ok &= rc == -ENOMEM && t.count == before && t.height == height && tree_ok();
		}
	}
	TU_CHECK(ok);
	TU_CHECK(tree_ok());
}

int main(void)
{
	setup();
	TU_RUN(test_random);
	TU_RUN(test_ordered);
	TU_RUN(test_insert_failure);
	teardown();
	TU_EQ_INT(mvcct_mem.outstanding, 0);
	return TU_EXIT();
}
