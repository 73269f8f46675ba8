/* Tests the pure qcow2 layout core: known offsets for small cases, the refcount fixed point
 * at its boundary, rejection of bad input, and for many seeded random cluster sets a parse of
 * every generated table showing each host cluster referenced exactly once, refcount 1. */
#include <stdlib.h>
#include <string.h>

#include "../../../image/img_priv.h"
#include "../testutil.h"

#define CS IMG_QCOW2_CLUSTER

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)(be64(p) >> 32);
}

struct walk {
	const struct img_qcow2_layout *L;
	uint8_t *buf, *seen, *refs;
	int bad;
};

/* Records one reference to the cluster at host byte offset off. */
static void mark(struct walk *w, uint64_t off)
{
	if (off % CS || off / CS >= w->L->total_clusters || w->seen[off / CS]++)
		w->bad++;
}

static void walk_refcounts(struct walk *w)
{
	const struct img_qcow2_layout *L = w->L;

	for (uint64_t i = 0; i < L->rt_clusters; i++) {
		mark(w, L->rt_offset + i * CS);
		img_qcow2_rt(L, i, w->buf);
		for (uint64_t j = 0; j < CS / 8; j++) {
			uint64_t rb = be64(w->buf + j * 8), idx = i * (CS / 8) + j;

			if (!rb)
				continue;
			mark(w, rb);
			w->bad += idx >= L->rb_count;
			img_qcow2_rb(L, idx, w->buf + CS); /* second half of buf */
			for (uint64_t k = 0; k < IMG_QCOW2_RB_ENTRIES; k++) {
				uint64_t c = idx * IMG_QCOW2_RB_ENTRIES + k;
				unsigned rc = w->buf[CS + 2 * k] << 8 | w->buf[CS + 2 * k + 1];

				w->bad += rc != (c < L->total_clusters);
			}
		}
	}
}

/* Follows one L1 entry into its L2 table and checks every mapping against L->data. */
static void walk_l2(struct walk *w, uint64_t g, uint64_t l2, uint64_t *mapped)
{
	const struct img_qcow2_layout *L = w->L;
	uint64_t first = 0, slot = (l2 - L->l2_offset) / CS;

	mark(w, l2);
	for (uint64_t s = 0; s < slot && first < L->ndata; s++)
		first = img_qcow2_l2(L, first, w->buf + CS);
	img_qcow2_l2(L, first, w->buf + CS);
	for (uint64_t k = 0; k < IMG_QCOW2_L2_ENTRIES; k++) {
		uint64_t e = be64(w->buf + CS + k * 8), guest = g * IMG_QCOW2_L2_ENTRIES + k;

		if (!e)
			continue;
		w->bad += !(e >> 63) || first >= L->ndata || L->data[first] != guest;
		w->bad += (e & ~(1ull << 63)) != img_qcow2_data_host(L, first);
		mark(w, e & ~(1ull << 63));
		first++;
		(*mapped)++;
	}
}

static void walk_l1(struct walk *w)
{
	const struct img_qcow2_layout *L = w->L;
	uint64_t mapped = 0;

	for (uint64_t i = 0; i < L->l1_clusters; i++) {
		mark(w, L->l1_offset + i * CS);
		img_qcow2_l1(L, i, w->buf);
		for (uint64_t j = 0; j < CS / 8; j++) {
			uint64_t e = be64(w->buf + j * 8), g = i * (CS / 8) + j;

			if (!e)
				continue;
			w->bad += !(e >> 63) || g >= L->l1_entries;
			walk_l2(w, g, e & ~(1ull << 63), &mapped);
		}
	}
	w->bad += mapped != L->ndata;
}

/* Returns the number of inconsistencies found in the tables generated for L. */
static int verify(const struct img_qcow2_layout *L)
{
	struct walk w = {.L = L, .buf = malloc(2 * CS), .seen = calloc(L->total_clusters, 1)};

	img_qcow2_header(L, w.buf);
	w.bad += be32(w.buf) != 0x514649fb || be32(w.buf + 4) != 3 || be32(w.buf + 20) != 16;
	w.bad += be64(w.buf + 24) != L->virtual_size || be32(w.buf + 36) != L->l1_entries;
	w.bad += be64(w.buf + 40) != L->l1_offset || be64(w.buf + 48) != L->rt_offset;
	w.bad += be32(w.buf + 56) != L->rt_clusters || be32(w.buf + 96) != 4;
	w.bad += be32(w.buf + 100) != 104 || !img_is_zero(w.buf + 104, CS - 104);
	mark(&w, 0);
	walk_refcounts(&w);
	walk_l1(&w);
	for (uint64_t c = 0; c < L->total_clusters; c++)
		w.bad += w.seen[c] != 1;
	free(w.buf);
	free(w.seen);
	return w.bad;
}

static void test_small(void)
{
	struct img_qcow2_layout L;
	static const uint64_t one[] = {0};

	TU_EQ_INT(img_qcow2_plan(&L, 0, NULL, 0, NULL), 0);
	TU_EQ_INT(L.l1_entries, 0);
	TU_EQ_INT(L.l1_offset, 0);
	TU_EQ_INT(L.total_clusters, 3); /* header, refcount table, refcount block */
	TU_EQ_INT(verify(&L), 0);
	TU_EQ_INT(img_qcow2_plan(&L, 512, NULL, 0, NULL), 0);
	TU_EQ_INT(L.l1_entries, 1);
	TU_EQ_INT(L.total_clusters, 4);
	TU_EQ_INT(verify(&L), 0);
	TU_EQ_INT(img_qcow2_plan(&L, 1 << 20, one, 1, NULL), 0);
	TU_EQ_INT(L.rt_offset, 0x10000);
	TU_EQ_INT(L.rb_offset, 0x20000);
	TU_EQ_INT(L.l1_offset, 0x30000);
	TU_EQ_INT(L.l2_offset, 0x40000);
	TU_EQ_INT(img_qcow2_data_host(&L, 0), 0x50000);
	TU_EQ_INT(L.total_clusters, 6);
	TU_EQ_INT(verify(&L), 0);
}

static void test_scattered(void)
{
	struct img_qcow2_layout L;
	static const uint64_t d[] = {0, 1, 8191, 8192, 20000, 32767};

	TU_EQ_INT(img_qcow2_plan(&L, 2ull << 30, d, 6, NULL), 0);
	TU_EQ_INT(L.l1_entries, 4);
	TU_EQ_INT(L.l2_count, 4);
	TU_EQ_INT(verify(&L), 0);
}

/* 2 + ceil(n / 8192) + n fixed clusters plus table and block: 32768 fit one block. */
static void test_refcount_boundary(void)
{
	uint64_t *d = malloc(40000 * sizeof(*d));
	struct img_qcow2_layout L;

	for (uint64_t i = 0; i < 40000; i++)
		d[i] = i;
	TU_EQ_INT(img_qcow2_plan(&L, 4ull << 30, d, 32760, NULL), 0);
	TU_EQ_INT(L.rb_count, 1);
	TU_EQ_INT(L.total_clusters, 32768);
	TU_EQ_INT(verify(&L), 0);
	TU_EQ_INT(img_qcow2_plan(&L, 4ull << 30, d, 32761, NULL), 0);
	TU_EQ_INT(L.rb_count, 2);
	TU_EQ_INT(L.total_clusters, 32770);
	TU_EQ_INT(verify(&L), 0);
	TU_EQ_INT(img_qcow2_plan(&L, 4ull << 30, d, 40000, NULL), 0);
	TU_EQ_INT(verify(&L), 0);
	free(d);
}

static void test_bad_input(void)
{
	struct img_qcow2_layout L;
	struct img_err err = {""};
	static const uint64_t unsorted[] = {3, 2}, dup[] = {2, 2}, beyond[] = {16};

	TU_EQ_INT(img_qcow2_plan(&L, 1000, NULL, 0, &err), IMG_ESIZE);
	TU_CHECK(strstr(err.msg, "1000") != NULL);
	TU_EQ_INT(img_qcow2_plan(&L, 1 << 20, unsorted, 2, &err), IMG_ERANGE);
	TU_EQ_INT(img_qcow2_plan(&L, 1 << 20, dup, 2, &err), IMG_ERANGE);
	TU_EQ_INT(img_qcow2_plan(&L, 1 << 20, beyond, 1, &err), IMG_ERANGE);
	TU_EQ_INT(img_qcow2_plan(&L, 1ull << 62, NULL, 0, &err), IMG_ERANGE);
}

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void test_random(void)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull, *d = malloc(5000 * sizeof(*d));
	struct img_qcow2_layout L;

	for (int round = 0; round < 50; round++) {
		uint64_t vclusters = 1 + rng(&seed) % 100000, n = 0;
		uint64_t density = 1 + rng(&seed) % 1000;

		for (uint64_t c = 0; c < vclusters && n < 5000; c++)
			if (rng(&seed) % 1000 < density)
				d[n++] = c;
		TU_EQ_INT(img_qcow2_plan(&L, vclusters * CS - 512 * (round % 2), d, n, NULL), 0);
		if (verify(&L) != 0) {
			fprintf(stderr, "round %d: seed state %llx, %llu clusters, %llu data\n", round,
				(unsigned long long)seed, (unsigned long long)vclusters,
				(unsigned long long)n);
			TU_CHECK(!"layout inconsistent");
		}
	}
	free(d);
}

int main(void)
{
	TU_RUN(test_small);
	TU_RUN(test_scattered);
	TU_RUN(test_refcount_boundary);
	TU_RUN(test_bad_input);
	TU_RUN(test_random);
	return TU_EXIT();
}
