/* MBR partition table writer: boot code, disk signature and up to four primary partitions,
 * built in memory by a pure function and written to sector 0 by a one-call shell. */
#include <string.h>

#include "img_priv.h"

#define MBR_SIG_OFF 440
#define MBR_TABLE_OFF 446
#define MBR_HEADS 255
#define MBR_SPT 63

/* Conventional CHS for an LBA disk: 255 heads, 63 sectors per track, and the 1023/254/63
 * "use LBA" marker once the cylinder no longer fits in 10 bits. */
static void chs(uint8_t out[3], uint64_t lba)
{
	uint64_t cyl = lba / (MBR_HEADS * MBR_SPT);

	if (cyl >= 1024) {
		out[0] = 0xFE;
		out[1] = 0xFF;
		out[2] = 0xFF;
		return;
	}
	out[0] = (uint8_t)(lba / MBR_SPT % MBR_HEADS);
	out[1] = (uint8_t)((lba % MBR_SPT + 1) | ((cyl >> 2) & 0xC0));
	out[2] = (uint8_t)cyl;
}

static void put_part(uint8_t e[16], const struct img_mbr_part *p)
{
	e[0] = p->bootable ? 0x80 : 0x00;
	chs(e + 1, p->start);
	e[4] = p->type;
	chs(e + 5, (uint64_t)p->start + p->sectors - 1);
	img_le32(e + 8, p->start);
	img_le32(e + 12, p->sectors);
}

static int check_part(const struct img_mbr_part *p, size_t i, uint64_t disk_sectors,
		      struct img_err *err)
{
	uint64_t end = (uint64_t)p->start + p->sectors;

	if (p->type == 0)
		return img_fail(err, IMG_EARG, "mbr: partition %zu has type 0 (empty)", i + 1);
	if (p->sectors == 0)
		return img_fail(err, IMG_EARG, "mbr: partition %zu has no sectors", i + 1);
	if (p->start == 0)
		return img_fail(err, IMG_ERANGE,
				"mbr: partition %zu starts at sector 0, which holds the MBR", i + 1);
	if (end > disk_sectors)
		return img_fail(err, IMG_ERANGE,
				"mbr: partition %zu (sectors %u..%llu) ends beyond the disk "
				"(%llu sectors)",
				i + 1, (unsigned)p->start, (unsigned long long)end - 1,
				(unsigned long long)disk_sectors);
	return 0;
}

static int check_overlap(const struct img_mbr_part *parts, size_t nparts, struct img_err *err)
{
	for (size_t i = 0; i < nparts; i++) {
		for (size_t j = i + 1; j < nparts; j++) {
			const struct img_mbr_part *a = &parts[i], *b = &parts[j];

			if ((uint64_t)a->start + a->sectors > b->start &&
			    (uint64_t)b->start + b->sectors > a->start)
				return img_fail(err, IMG_EOVERLAP,
						"mbr: partition %zu (sectors %u..%llu) overlaps "
						"partition %zu (sectors %u..%llu)",
						i + 1, (unsigned)a->start,
						(unsigned long long)a->start + a->sectors - 1, j + 1,
						(unsigned)b->start,
						(unsigned long long)b->start + b->sectors - 1);
		}
	}
	return 0;
}

int img_mbr_build(uint8_t out[512], const uint8_t *boot_code, size_t boot_len,
		  uint32_t disk_sig, const struct img_mbr_part *parts, size_t nparts,
		  uint64_t disk_sectors, struct img_err *err)
{
	int rc;

	if (boot_len > IMG_MBR_BOOT_CODE || (boot_len && !boot_code))
		return img_fail(err, IMG_EARG, "mbr: boot code is %zu bytes, at most %d fit",
				boot_len, IMG_MBR_BOOT_CODE);
	if (nparts > 4)
		return img_fail(err, IMG_EARG, "mbr: %zu partitions, at most 4 fit", nparts);
	for (size_t i = 0; i < nparts; i++)
		if ((rc = check_part(&parts[i], i, disk_sectors, err)) < 0)
			return rc;
	if ((rc = check_overlap(parts, nparts, err)) < 0)
		return rc;
	memset(out, 0, 512);
	if (boot_len)
		memcpy(out, boot_code, boot_len);
	img_le32(out + MBR_SIG_OFF, disk_sig);
	for (size_t i = 0; i < nparts; i++)
		put_part(out + MBR_TABLE_OFF + 16 * i, &parts[i]);
	out[510] = 0x55;
	out[511] = 0xAA;
	return 0;
}

int img_mbr_write(int fd, const uint8_t mbr[512], struct img_err *err)
{
	int rc = img_pwrite_all(fd, mbr, 512, 0);

	if (rc < 0)
		return img_fail(err, rc, "mbr: writing sector 0: %s", img_strerror(rc));
	return 0;
}
