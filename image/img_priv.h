/* Internals shared by the image writers: error reporting, whole-buffer I/O, byte order, and
 * the pure cores (qcow2 layout, FAT BPB and date conversion) that unit tests drive directly.
 * Nothing outside image/ and its tests includes this. */
#ifndef CABIN_IMG_PRIV_H
#define CABIN_IMG_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "img.h"

/* ---- err.c / io.c ---- */

/* Formats a reason into err (if non-NULL) and returns code, so callers can
 * `return img_fail(err, IMG_ERANGE, "...", ...)`. */
int img_fail(struct img_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Write or read exactly len bytes, retrying on EINTR and short transfers.
 * Return 0, -errno, or IMG_EIO when a read hits end of file first. */
int img_write_all(int fd, const void *buf, size_t len);
int img_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);
int img_pread_all(int fd, void *buf, size_t len, uint64_t off);

/* True when all len bytes at buf are zero. */
bool img_is_zero(const void *buf, size_t len);

static inline void img_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static inline void img_be32(uint8_t *p, uint32_t v)
{
	img_be16(p, v >> 16);
	img_be16(p + 2, v);
}

static inline void img_be64(uint8_t *p, uint64_t v)
{
	img_be32(p, v >> 32);
	img_be32(p + 4, v);
}

static inline void img_le16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static inline void img_le32(uint8_t *p, uint32_t v)
{
	img_le16(p, v);
	img_le16(p + 2, v >> 16);
}

static inline uint16_t img_get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t img_get_le32(const uint8_t *p)
{
	return img_get_le16(p) | (uint32_t)img_get_le16(p + 2) << 16;
}

/* ---- qcow2_layout.c: pure layout core ----
 * Host file order: header cluster, refcount table, refcount blocks, L1 table, L2 tables,
 * data clusters in guest order. Every allocated cluster has refcount 1. */
#define IMG_QCOW2_CLUSTER_BITS 16
#define IMG_QCOW2_CLUSTER ((uint64_t)1 << IMG_QCOW2_CLUSTER_BITS)
#define IMG_QCOW2_L2_ENTRIES (IMG_QCOW2_CLUSTER / 8)
#define IMG_QCOW2_RB_ENTRIES (IMG_QCOW2_CLUSTER / 2) /* refcount_order 4 */
#define IMG_QCOW2_HEADER_LEN 104

struct img_qcow2_layout {
	uint64_t virtual_size;
	const uint64_t *data; /* sorted guest cluster indices, borrowed from the caller */
	uint64_t ndata;
	uint64_t l1_entries;
	uint64_t l1_clusters, l2_count, rt_clusters, rb_count;
	/* host offsets in bytes; l1_offset is 0 when l1_entries is 0 */
	uint64_t rt_offset, rb_offset, l1_offset, l2_offset, data_offset;
	uint64_t total_clusters; /* file size / cluster size */
};

/* Plans the layout for virtual_size bytes whose allocated guest clusters are data[0..n),
 * strictly increasing and each below the virtual cluster count (data is borrowed and must
 * outlive L). Returns 0, IMG_ESIZE or IMG_ERANGE. */
int img_qcow2_plan(struct img_qcow2_layout *L, uint64_t virtual_size, const uint64_t *data,
		   uint64_t n, struct img_err *err);
/* Each builder fills exactly one cluster at out (IMG_QCOW2_CLUSTER bytes, caller-owned). */
void img_qcow2_header(const struct img_qcow2_layout *L, uint8_t *out);
/* Refcount table cluster i (0 <= i < rt_clusters). */
void img_qcow2_rt(const struct img_qcow2_layout *L, uint64_t i, uint8_t *out);
/* Refcount block i (0 <= i < rb_count). */
void img_qcow2_rb(const struct img_qcow2_layout *L, uint64_t i, uint8_t *out);
/* L1 table cluster i (0 <= i < l1_clusters). */
void img_qcow2_l1(const struct img_qcow2_layout *L, uint64_t i, uint8_t *out);
/* L2 table holding data[first], which must be the first data cluster of its L1 group.
 * Returns the index of the first data cluster of the next group (ndata at the end). */
uint64_t img_qcow2_l2(const struct img_qcow2_layout *L, uint64_t first, uint8_t *out);
/* Host byte offset of data cluster data[i]. */
uint64_t img_qcow2_data_host(const struct img_qcow2_layout *L, uint64_t i);

/* ---- fat_bpb.c: pure FAT cores ---- */
enum img_fat_type { IMG_FAT12 = 12, IMG_FAT16 = 16, IMG_FAT32 = 32 };

struct img_fat_geom {
	enum img_fat_type type;
	uint32_t bytes_per_sector, sectors_per_cluster, cluster_bytes;
	uint64_t fat_offset;   /* byte offset of the first FAT, relative to the filesystem */
	uint32_t fat_bytes;    /* size of one FAT */
	uint64_t root_offset;  /* FAT12/16 fixed root directory */
	uint32_t root_bytes;   /* FAT12/16; 0 on FAT32 */
	uint32_t root_cluster; /* FAT32 */
	uint64_t data_offset;  /* byte offset of cluster 2 */
	uint32_t clusters;     /* data clusters: valid numbers are 2 .. clusters + 1 */
	uint64_t fs_bytes;     /* total size of the filesystem */
};

/* Parses and validates the 512-byte boot sector bs. Returns 0 or IMG_EBADFS. */
int img_fat_parse_bpb(const uint8_t bs[512], struct img_fat_geom *g, struct img_err *err);
/* Next cluster after c in the chain, read from the FAT copy fat (g->fat_bytes long).
 * Returns 0 at end of chain or for any entry that is not a valid cluster number. */
uint32_t img_fat_next(const struct img_fat_geom *g, const uint8_t *fat, uint32_t c);
/* FAT date and time (2-second units) and creation tenths (0 or 100) for epoch, as UTC,
 * clamped to the representable 1980-01-01 00:00:00 .. 2107-12-31 23:59:59. */
void img_fat_datetime(int64_t epoch, uint16_t *date, uint16_t *time, uint8_t *tenths);

#endif
