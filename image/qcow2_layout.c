/* Pure layout core of the qcow2 writer: from the virtual size and the sorted list of
 * allocated guest clusters it derives every table of a qcow2 v3 file and where each cluster
 * lives in the host file. No I/O, so the layout is deterministic and testable in memory. */
#include <string.h>

#include "img_priv.h"

#define CS IMG_QCOW2_CLUSTER
#define QCOW2_MAGIC 0x514649fbu
#define QCOW2_COPIED (1ull << 63) /* refcount is exactly 1: writable in place */
#define QCOW2_MAX_L1 (0x2000000 / 8)   /* qemu's QCOW_MAX_L1_SIZE, in entries */
#define QCOW2_MAX_RT (0x800000 / CS)   /* qemu's QCOW_MAX_REFTABLE_SIZE, in clusters */

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

static int check_data(uint64_t vclusters, const uint64_t *data, uint64_t n,
		      struct img_err *err)
{
	for (uint64_t i = 0; i < n; i++) {
		if (data[i] >= vclusters || (i > 0 && data[i] <= data[i - 1]))
			return img_fail(err, IMG_ERANGE,
					"qcow2: data cluster %llu (entry %llu) is out of order or "
					"beyond the %llu virtual clusters",
					(unsigned long long)data[i], (unsigned long long)i,
					(unsigned long long)vclusters);
	}
	return 0;
}

static uint64_t count_groups(const uint64_t *data, uint64_t n)
{
	uint64_t groups = 0;

	for (uint64_t i = 0; i < n; i++)
		groups += i == 0 || data[i] / IMG_QCOW2_L2_ENTRIES != data[i - 1] /
			  IMG_QCOW2_L2_ENTRIES;
	return groups;
}

/* Refcount blocks count themselves and the refcount table, so iterate to the fixed point;
 * both counts only grow, so this ends after a few rounds. */
static void size_refcounts(struct img_qcow2_layout *L, uint64_t fixed)
{
	uint64_t rt, rb;

	L->rt_clusters = 0;
	L->rb_count = 0;
	do {
		rt = L->rt_clusters;
		rb = L->rb_count;
		L->rb_count = div_up(fixed + rt + rb, IMG_QCOW2_RB_ENTRIES);
		L->rt_clusters = div_up(L->rb_count * 8, CS);
	} while (rt != L->rt_clusters || rb != L->rb_count);
	L->total_clusters = fixed + L->rt_clusters + L->rb_count;
}

int img_qcow2_plan(struct img_qcow2_layout *L, uint64_t virtual_size, const uint64_t *data,
		   uint64_t n, struct img_err *err)
{
	uint64_t vclusters = div_up(virtual_size, CS);
	int rc;

	memset(L, 0, sizeof(*L));
	if (virtual_size % 512)
		return img_fail(err, IMG_ESIZE, "qcow2: virtual size %llu is not a multiple of 512",
				(unsigned long long)virtual_size);
	if (div_up(vclusters, IMG_QCOW2_L2_ENTRIES) > QCOW2_MAX_L1)
		return img_fail(err, IMG_ERANGE, "qcow2: virtual size %llu is too large",
				(unsigned long long)virtual_size);
	if ((rc = check_data(vclusters, data, n, err)) < 0)
		return rc;
	L->virtual_size = virtual_size;
	L->data = data;
	L->ndata = n;
	L->l1_entries = div_up(vclusters, IMG_QCOW2_L2_ENTRIES);
	L->l1_clusters = div_up(L->l1_entries * 8, CS);
	L->l2_count = count_groups(data, n);
	size_refcounts(L, 1 + L->l1_clusters + L->l2_count + n);
	if (L->rt_clusters > QCOW2_MAX_RT)
		return img_fail(err, IMG_ERANGE, "qcow2: refcount table too large");
	L->rt_offset = CS;
	L->rb_offset = L->rt_offset + L->rt_clusters * CS;
	L->l2_offset = L->rb_offset + L->rb_count * CS + L->l1_clusters * CS;
	L->l1_offset = L->l1_entries ? L->rb_offset + L->rb_count * CS : 0;
	L->data_offset = L->l2_offset + L->l2_count * CS;
	return 0;
}

void img_qcow2_header(const struct img_qcow2_layout *L, uint8_t *out)
{
	memset(out, 0, CS);
	img_be32(out + 0, QCOW2_MAGIC);
	img_be32(out + 4, 3);                      /* version */
	img_be32(out + 20, IMG_QCOW2_CLUSTER_BITS);
	img_be64(out + 24, L->virtual_size);
	img_be32(out + 36, (uint32_t)L->l1_entries);
	img_be64(out + 40, L->l1_offset);
	img_be64(out + 48, L->rt_offset);
	img_be32(out + 56, (uint32_t)L->rt_clusters);
	img_be32(out + 96, 4);                     /* refcount_order: 16-bit */
	img_be32(out + 100, IMG_QCOW2_HEADER_LEN);
	/* bytes 104..111 stay zero: the end-of-header-extensions marker */
}

void img_qcow2_rt(const struct img_qcow2_layout *L, uint64_t i, uint8_t *out)
{
	uint64_t per = CS / 8;

	memset(out, 0, CS);
	for (uint64_t j = i * per; j < (i + 1) * per && j < L->rb_count; j++)
		img_be64(out + (j - i * per) * 8, L->rb_offset + j * CS);
}

void img_qcow2_rb(const struct img_qcow2_layout *L, uint64_t i, uint8_t *out)
{
	uint64_t first = i * IMG_QCOW2_RB_ENTRIES;

	memset(out, 0, CS);
	for (uint64_t k = first; k < first + IMG_QCOW2_RB_ENTRIES && k < L->total_clusters; k++)
		img_be16(out + (k - first) * 2, 1);
}

void img_qcow2_l1(const struct img_qcow2_layout *L, uint64_t i, uint8_t *out)
{
	uint64_t per = CS / 8, slot = 0;

	memset(out, 0, CS);
	for (uint64_t j = 0; j < L->ndata; slot++) {
		uint64_t g = L->data[j] / IMG_QCOW2_L2_ENTRIES;

		if (g >= i * per && g < (i + 1) * per)
			img_be64(out + (g - i * per) * 8, (L->l2_offset + slot * CS) | QCOW2_COPIED);
		while (j < L->ndata && L->data[j] / IMG_QCOW2_L2_ENTRIES == g)
			j++;
	}
}

uint64_t img_qcow2_l2(const struct img_qcow2_layout *L, uint64_t first, uint8_t *out)
{
	uint64_t g = L->data[first] / IMG_QCOW2_L2_ENTRIES, j = first;

	memset(out, 0, CS);
	for (; j < L->ndata && L->data[j] / IMG_QCOW2_L2_ENTRIES == g; j++)
		img_be64(out + (L->data[j] % IMG_QCOW2_L2_ENTRIES) * 8,
			 img_qcow2_data_host(L, j) | QCOW2_COPIED);
	return j;
}

uint64_t img_qcow2_data_host(const struct img_qcow2_layout *L, uint64_t i)
{
	return L->data_offset + i * CS;
}
