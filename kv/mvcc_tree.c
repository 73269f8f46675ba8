/* The MVCC store's ordered index: a B+-tree of pointers to struct mvcc_key, ordered by the
 * key bytes. An insert allocates every node it may need before changing anything, so it
 * fails cleanly; a removal never allocates, so undo and compaction cannot fail. */
#include <errno.h>
#include <string.h>

#include "mvcc_int.h"

/* The nodes from the root (level 0) to a leaf, and the entry taken at each. */
struct path {
	struct mvcc_node *node[BT_DEPTH_MAX];
	unsigned idx[BT_DEPTH_MAX];
};

static size_t node_size(bool leaf)
{
	return sizeof(struct mvcc_node) + (leaf ? 0 : BT_CAP * sizeof(struct mvcc_node *));
}

static struct mvcc_node *node_new(struct mvcc *s, bool leaf)
{
	struct mvcc_node *n = mvcc_mem_alloc(s, node_size(leaf));

	if (n) {
		n->n = 0;
		n->leaf = leaf;
		n->next = NULL;
	}
	return n;
}

static void node_free(struct mvcc *s, struct mvcc_node *n)
{
	mvcc_mem_free(s, n, node_size(n->leaf));
}

static int cmp(const struct mvcc_tree *t, const struct mvcc_key *k, const uint8_t *p, size_t len)
{
	return mvcc_key_cmp_to(t->s, k, p, len);
}

/* Inner node: the child whose subtree may hold the key (the last whose first key is <=
 * it, or the first). */
static unsigned inner_pick(const struct mvcc_tree *t, const struct mvcc_node *n,
			   const uint8_t *p, size_t len)
{
	unsigned lo = 1, hi = n->n;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (cmp(t, n->key[mid], p, len) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo - 1;
}

/* Leaf: the first entry >= the key. */
static unsigned leaf_lower(const struct mvcc_tree *t, const struct mvcc_node *n,
			   const uint8_t *p, size_t len)
{
	unsigned lo = 0, hi = n->n;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (cmp(t, n->key[mid], p, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct mvcc_node *descend(const struct mvcc_tree *t, const uint8_t *p, size_t len,
				 struct path *pa)
{
	struct mvcc_node *n = t->root;

	for (int l = 0;; l++) {
		pa->node[l] = n;
		if (n->leaf) {
			pa->idx[l] = leaf_lower(t, n, p, len);
			return n;
		}
		pa->idx[l] = inner_pick(t, n, p, len);
		n = n->kid[pa->idx[l]];
	}
}

struct mvcc_pos mvcc_bt_seek(const struct mvcc_tree *t, const uint8_t *p, size_t len)
{
	struct mvcc_pos pos = { NULL, 0 };
	struct path pa;

	if (!t->root)
		return pos;
	pos.leaf = descend(t, p, len, &pa);
	pos.i = pa.idx[t->height - 1];
	if (pos.i >= pos.leaf->n) {
		pos.leaf = pos.leaf->next;
		pos.i = 0;
	}
	return pos;
}

struct mvcc_pos mvcc_bt_first(const struct mvcc_tree *t)
{
	struct mvcc_pos pos = { t->root, 0 };

	while (pos.leaf && !pos.leaf->leaf)
		pos.leaf = pos.leaf->kid[0];
	return pos;
}

void mvcc_bt_next(struct mvcc_pos *pos)
{
	if (!pos->leaf)
		return;
	if (++pos->i >= pos->leaf->n) {
		pos->leaf = pos->leaf->next;
		pos->i = 0;
	}
}

struct mvcc_key *mvcc_bt_get(const struct mvcc_tree *t, const uint8_t *p, size_t len)
{
	struct mvcc_key *k = mvcc_bt_at(mvcc_bt_seek(t, p, len));

	return k && cmp(t, k, p, len) == 0 ? k : NULL;
}

/* ---- insert ---------------------------------------------------------------------------- */

static void node_put(struct mvcc_node *n, unsigned pos, struct mvcc_key *k,
		     struct mvcc_node *kid)
{
	memmove(&n->key[pos + 1], &n->key[pos], (n->n - pos) * sizeof(n->key[0]));
	n->key[pos] = k;
	if (!n->leaf) {
		memmove(&n->kid[pos + 1], &n->kid[pos], (n->n - pos) * sizeof(n->kid[0]));
		n->kid[pos] = kid;
	}
	n->n++;
}

/* Puts the entry into the full node n and moves the upper part into the empty node r.
 * Appending at the end leaves n nearly full, so keys written in order pack densely. */
static void node_split_put(struct mvcc_node *n, struct mvcc_node *r, unsigned pos,
			   struct mvcc_key *k, struct mvcc_node *kid)
{
	struct mvcc_key *keys[BT_CAP + 1];
	struct mvcc_node *kids[BT_CAP + 1];
	unsigned total = BT_CAP + 1;
	unsigned m = pos == BT_CAP ? total - BT_MIN : total / 2;

	memcpy(keys, n->key, pos * sizeof(keys[0]));
	keys[pos] = k;
	memcpy(&keys[pos + 1], &n->key[pos], (BT_CAP - pos) * sizeof(keys[0]));
	memcpy(n->key, keys, m * sizeof(keys[0]));
	memcpy(r->key, &keys[m], (total - m) * sizeof(keys[0]));
	if (!n->leaf) {
		memcpy(kids, n->kid, pos * sizeof(kids[0]));
		kids[pos] = kid;
		memcpy(&kids[pos + 1], &n->kid[pos], (BT_CAP - pos) * sizeof(kids[0]));
		memcpy(n->kid, kids, m * sizeof(kids[0]));
		memcpy(r->kid, &kids[m], (total - m) * sizeof(kids[0]));
	} else {
		r->next = n->next;
		n->next = r;
	}
	n->n = (uint16_t)m;
	r->n = (uint16_t)(total - m);
}

static int insert_first(struct mvcc *s, struct mvcc_tree *t, struct mvcc_key *k)
{
	struct mvcc_node *leaf = node_new(s, true);

	if (!leaf)
		return -ENOMEM;
	leaf->key[0] = k;
	leaf->n = 1;
	t->root = leaf;
	t->height = 1;
	t->count = 1;
	return 0;
}

int mvcc_bt_insert(struct mvcc *s, struct mvcc_tree *t, struct mvcc_key *k,
		   struct mvcc_bytes kb)
{
	struct mvcc_node *spare[BT_DEPTH_MAX + 1];
	struct path pa;
	int top, l, need = 0, used = 0;

	if (!t->root)
		return insert_first(s, t, k);
	descend(t, kb.p, kb.len, &pa);
	top = t->height - 1;
	/* a split climbs through the full nodes above the leaf; past the root it adds one */
	for (l = top; l >= 0 && pa.node[l]->n == BT_CAP; l--)
		need++;
	if (l < 0 && t->height >= BT_DEPTH_MAX)
		return -ENOMEM;	/* unreachable: 8^23 keys */
	for (int i = 0; i < need + (l < 0); i++) {
		spare[i] = node_new(s, i == 0 && pa.node[top]->n == BT_CAP);
		if (!spare[i]) {
			while (i-- > 0)
				node_free(s, spare[i]);
			return -ENOMEM;
		}
	}

	struct mvcc_key *ik = k;		/* the entry still to insert at level l */
	struct mvcc_node *ikid = NULL;
	unsigned pos = pa.idx[top];
	for (l = top; l >= 0; l--) {
		struct mvcc_node *n = pa.node[l];
		if (ik && n->n < BT_CAP) {
			node_put(n, pos, ik, ikid);
			ik = NULL;
		} else if (ik) {
			struct mvcc_node *r = spare[used++];
			node_split_put(n, r, pos, ik, ikid);
			ik = r->key[0];
			ikid = r;
		}
		if (l > 0) {	/* the node's first key may have changed */
			pa.node[l - 1]->key[pa.idx[l - 1]] = n->key[0];
			pos = pa.idx[l - 1] + 1;
		}
	}
	if (ik) {		/* the root split: grow a level */
		struct mvcc_node *root = spare[used++];
		root->key[0] = t->root->key[0];
		root->kid[0] = t->root;
		root->key[1] = ik;
		root->kid[1] = ikid;
		root->n = 2;
		t->root = root;
		t->height++;
	}
	t->count++;
	return 0;
}

/* ---- remove ---------------------------------------------------------------------------- */

static void node_del(struct mvcc_node *n, unsigned pos)
{
	memmove(&n->key[pos], &n->key[pos + 1], (n->n - pos - 1) * sizeof(n->key[0]));
	if (!n->leaf)
		memmove(&n->kid[pos], &n->kid[pos + 1], (n->n - pos - 1) * sizeof(n->kid[0]));
	n->n--;
}

/* Moves cnt entries from the front of r to the end of l, or (cnt < 0) -cnt from the end
 * of l to the front of r. */
static void shift(struct mvcc_node *l, struct mvcc_node *r, int cnt)
{
	size_t ks = sizeof(l->key[0]), cs = sizeof(l->kid[0]);

	if (cnt > 0) {
		unsigned c = (unsigned)cnt;
		memcpy(&l->key[l->n], r->key, c * ks);
		memmove(r->key, &r->key[c], (r->n - c) * ks);
		if (!l->leaf) {
			memcpy(&l->kid[l->n], r->kid, c * cs);
			memmove(r->kid, &r->kid[c], (r->n - c) * cs);
		}
		l->n += c;
		r->n -= c;
	} else if (cnt < 0) {
		unsigned c = (unsigned)-cnt;
		memmove(&r->key[c], r->key, r->n * ks);
		memcpy(r->key, &l->key[l->n - c], c * ks);
		if (!l->leaf) {
			memmove(&r->kid[c], r->kid, r->n * cs);
			memcpy(r->kid, &l->kid[l->n - c], c * cs);
		}
		l->n -= c;
		r->n += c;
	}
}

/* The child at pi has too few entries: merge it with a neighbour or even them out. */
static void rebalance(struct mvcc *s, struct mvcc_node *par, unsigned pi)
{
	unsigned li = pi > 0 ? pi - 1 : pi;
	struct mvcc_node *l = par->kid[li], *r = par->kid[li + 1];

	if (l->n + r->n <= BT_CAP) {
		shift(l, r, r->n);
		if (l->leaf)
			l->next = r->next;
		node_free(s, r);
		node_del(par, li + 1);
	} else {
		shift(l, r, (l->n + r->n) / 2 - l->n);
		par->key[li + 1] = r->key[0];
	}
	par->key[li] = l->key[0];
}

/* The path to k found by its pointer among all the keys: slow, for a key whose bytes
 * cannot be read back. Returns whether it is there. */
static bool walk(const struct mvcc_node *n, int l, const struct mvcc_key *k, struct path *pa)
{
	pa->node[l] = (struct mvcc_node *)n;
	for (unsigned i = 0; i < n->n; i++) {
		pa->idx[l] = i;
		if (n->leaf ? n->key[i] == k : walk(n->kid[i], l + 1, k, pa))
			return true;
	}
	return false;
}

static struct mvcc_node *find_by_walk(const struct mvcc_tree *t, const struct mvcc_key *k,
				      struct path *pa)
{
	walk(t->root, 0, k, pa);
	return pa->node[t->height - 1];
}

void mvcc_bt_remove(struct mvcc *s, struct mvcc_tree *t, const struct mvcc_key *k)
{
	struct path pa;
	int top = t->height - 1;
	struct mvcc_node *leaf;
	struct mvcc_bytes kb;

	if (mvcc_key_full(t->s, k, 0, &kb)) {
		/* an unreadable key: find it by its place among the leaves */
		s->read_errors++;
		leaf = find_by_walk(t, k, &pa);
	} else {
		leaf = descend(t, kb.p, kb.len, &pa);
	}

	node_del(leaf, pa.idx[top]);
	t->count--;
	for (int l = top; l > 0; l--) {
		struct mvcc_node *n = pa.node[l], *par = pa.node[l - 1];
		if (n->n >= BT_MIN)
			par->key[pa.idx[l - 1]] = n->key[0];
		else
			rebalance(s, par, pa.idx[l - 1]);
	}
	while (!t->root->leaf && t->root->n == 1) {
		struct mvcc_node *old = t->root;
		t->root = old->kid[0];
		t->height--;
		node_free(s, old);
	}
	if (t->root->leaf && t->root->n == 0) {
		node_free(s, t->root);
		t->root = NULL;
		t->height = 0;
	}
}

static void destroy(struct mvcc *s, struct mvcc_node *n)
{
	if (!n->leaf)
		for (unsigned i = 0; i < n->n; i++)
			destroy(s, n->kid[i]);
	node_free(s, n);
}

void mvcc_bt_destroy(struct mvcc *s, struct mvcc_tree *t)
{
	if (t->root)
		destroy(s, t->root);
	memset(t, 0, sizeof(*t));
}
