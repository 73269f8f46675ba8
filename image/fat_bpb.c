/* Pure FAT cores for the timestamp normaliser: BPB parsing with explicit bounds, FAT chain
 * lookup and epoch-to-FAT date conversion. Nothing here does I/O; the walker in fatstamp.c
 * feeds these sectors it has read. */
#include <string.h>

#include "img_priv.h"

#define FAT_EPOCH_MIN 315532800ll  /* 1980-01-01 00:00:00 UTC */
#define FAT_EPOCH_MAX 4354819199ll /* 2107-12-31 23:59:59 UTC */

static bool pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

/* Fields common to all FAT types; geometry that depends on the type comes after. */
struct bpb {
	uint32_t bps, spc, reserved, nfats, root_entries, ext_flags;
	uint64_t total, fatsz;
};

static int read_bpb(const uint8_t *bs, struct bpb *b, struct img_err *err)
{
	b->bps = img_get_le16(bs + 11);
	b->spc = bs[13];
	b->reserved = img_get_le16(bs + 14);
	b->nfats = bs[16];
	b->root_entries = img_get_le16(bs + 17);
	b->total = img_get_le16(bs + 19) ? img_get_le16(bs + 19) : img_get_le32(bs + 32);
	b->fatsz = img_get_le16(bs + 22) ? img_get_le16(bs + 22) : img_get_le32(bs + 36);
	b->ext_flags = img_get_le16(bs + 22) ? 0 : img_get_le16(bs + 40);
	if (bs[510] != 0x55 || bs[511] != 0xAA)
		return img_fail(err, IMG_EBADFS, "fat: boot sector lacks the 0x55AA signature");
	if (!pow2(b->bps) || b->bps < 512 || b->bps > 4096)
		return img_fail(err, IMG_EBADFS, "fat: bytes per sector %u not 512..4096", b->bps);
	if (!pow2(b->spc) || b->bps * b->spc > 65536)
		return img_fail(err, IMG_EBADFS, "fat: sectors per cluster %u invalid", b->spc);
	if (b->reserved == 0 || b->nfats == 0 || b->nfats > 4)
		return img_fail(err, IMG_EBADFS, "fat: %u reserved sectors, %u FATs", b->reserved,
				b->nfats);
	if (b->total == 0 || b->fatsz == 0)
		return img_fail(err, IMG_EBADFS, "fat: zero total sectors or FAT size");
	return 0;
}

static enum img_fat_type type_of(uint32_t clusters)
{
	if (clusters < 4085)
		return IMG_FAT12;
	return clusters < 65525 ? IMG_FAT16 : IMG_FAT32;
}

/* Type-specific checks: root directory shape and which FAT copy is live. */
static int check_type(const uint8_t *bs, const struct bpb *b, struct img_fat_geom *g,
		      struct img_err *err)
{
	uint32_t active = 0;

	if (g->type != IMG_FAT32) {
		if (b->root_entries == 0)
			return img_fail(err, IMG_EBADFS, "fat: FAT%d without root directory",
					g->type);
	} else {
		g->root_cluster = img_get_le32(bs + 44);
		if (b->root_entries != 0 || img_get_le16(bs + 22) != 0)
			return img_fail(err, IMG_EBADFS, "fat: FAT32 with FAT16 root or FAT size");
		if (g->root_cluster < 2 || g->root_cluster > g->clusters + 1)
			return img_fail(err, IMG_EBADFS, "fat: root cluster %u outside 2..%u",
					g->root_cluster, g->clusters + 1);
		if (b->ext_flags & 0x80) /* mirroring off: only the active FAT is valid */
			active = b->ext_flags & 0x0F;
		if (active >= b->nfats)
			return img_fail(err, IMG_EBADFS, "fat: active FAT %u of %u", active,
					b->nfats);
	}
	g->fat_offset = ((uint64_t)b->reserved + active * b->fatsz) * b->bps;
	return 0;
}

int img_fat_parse_bpb(const uint8_t bs[512], struct img_fat_geom *g, struct img_err *err)
{
	struct bpb b;
	uint64_t root_sectors, first_data, need;
	int rc;

	memset(g, 0, sizeof(*g));
	if ((rc = read_bpb(bs, &b, err)) < 0)
		return rc;
	root_sectors = ((uint64_t)b.root_entries * 32 + b.bps - 1) / b.bps;
	first_data = b.reserved + b.nfats * b.fatsz + root_sectors;
	if (first_data >= b.total || (b.total - first_data) / b.spc == 0)
		return img_fail(err, IMG_EBADFS, "fat: no data clusters (%llu of %llu sectors "
				"used by metadata)", (unsigned long long)first_data,
				(unsigned long long)b.total);
	if ((b.total - first_data) / b.spc > 0x0FFFFFF5)
		return img_fail(err, IMG_EBADFS, "fat: too many clusters");
	g->clusters = (uint32_t)((b.total - first_data) / b.spc);
	g->type = type_of(g->clusters);
	g->bytes_per_sector = b.bps;
	g->sectors_per_cluster = b.spc;
	g->cluster_bytes = b.bps * b.spc;
	if ((rc = check_type(bs, &b, g, err)) < 0)
		return rc;
	need = (((uint64_t)g->clusters + 2) * g->type + 7) / 8;
	if (need > b.fatsz * b.bps)
		return img_fail(err, IMG_EBADFS, "fat: FAT of %llu bytes cannot map %u clusters",
				(unsigned long long)(b.fatsz * b.bps), g->clusters);
	g->fat_bytes = (uint32_t)need;
	g->root_offset = (b.reserved + b.nfats * b.fatsz) * b.bps;
	g->root_bytes = g->type == IMG_FAT32 ? 0 : b.root_entries * 32;
	g->data_offset = first_data * b.bps;
	g->fs_bytes = b.total * b.bps;
	return 0;
}

uint32_t img_fat_next(const struct img_fat_geom *g, const uint8_t *fat, uint32_t c)
{
	uint32_t v;

	if (c < 2 || c > g->clusters + 1)
		return 0;
	if (g->type == IMG_FAT12) {
		v = img_get_le16(fat + c + c / 2);
		v = c & 1 ? v >> 4 : v & 0xFFF;
	} else if (g->type == IMG_FAT16) {
		v = img_get_le16(fat + 2 * c);
	} else {
		v = img_get_le32(fat + 4 * c) & 0x0FFFFFFF;
	}
	return v >= 2 && v <= g->clusters + 1 ? v : 0;
}

/* Proleptic Gregorian date of day z since 1970-01-01 (Howard Hinnant's civil_from_days). */
static void civil(int64_t z, unsigned *y, unsigned *m, unsigned *d)
{
	int64_t era, yy;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (unsigned)(yy + (*m <= 2));
}

void img_fat_datetime(int64_t epoch, uint16_t *date, uint16_t *time, uint8_t *tenths)
{
	unsigned y, m, d, secs;

	if (epoch < FAT_EPOCH_MIN)
		epoch = FAT_EPOCH_MIN;
	if (epoch > FAT_EPOCH_MAX)
		epoch = FAT_EPOCH_MAX;
	civil(epoch / 86400, &y, &m, &d);
	secs = (unsigned)(epoch % 86400);
	*date = (uint16_t)((y - 1980) << 9 | m << 5 | d);
	*time = (uint16_t)((secs / 3600) << 11 | (secs / 60 % 60) << 5 | (secs % 60) / 2);
	*tenths = (uint8_t)(secs % 2 * 100);
}
