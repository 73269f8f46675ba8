/* The raw disk: an MBR with syslinux's boot code, partition 1 a FAT filesystem holding
 * syslinux, the kernel and the initramfs (made with mtools, no root, no loop mount),
 * partition 2 an empty ext4 filesystem for node data. Every tool gets a fixed time, UUID
 * and seed so that the same inputs give the same bytes. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build.h"
#include "img_priv.h"

#define SECTOR 512u
#define BOOT_START 2048u			/* 1 MiB */
#define BOOT_SECTORS (64u * 2048u)		/* 64 MiB */
#define DATA_START (BOOT_START + BOOT_SECTORS)
#define MBR_BIN "/usr/lib/syslinux/mbr/mbr.bin"
#define SYSLINUX_BIN "/usr/bin/syslinux"

/* A value that differs between builds of different epochs and repeats for the same one. */
static uint32_t epoch_mix(int64_t epoch, uint32_t salt)
{
	uint64_t x = (uint64_t)epoch ^ ((uint64_t)salt << 32 | salt);
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return (uint32_t)x;
}

static int write_mbr(struct img_build *b, int fd, uint64_t sectors, struct img_err *err)
{
	uint8_t code[IMG_MBR_BOOT_CODE], mbr[512];
	int in = open(MBR_BIN, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return img_fail(err, -errno, "%s: %s (install syslinux-common)", MBR_BIN,
				strerror(errno));
	ssize_t n = read(in, code, sizeof(code));
	close(in);
	if (n <= 0)
		return img_fail(err, IMG_EIO, "%s: cannot read the boot code", MBR_BIN);
	int rc = img_manifest_add(b->man, "mbr", MBR_BIN, err);
	if (rc < 0)
		return rc;
	uint64_t data = (sectors - DATA_START) & ~(uint64_t)7;
	struct img_mbr_part parts[2] = {
		{ 0x0e, 1, BOOT_START, BOOT_SECTORS },		/* FAT16 LBA, active */
		{ 0x83, 0, DATA_START, (uint32_t)data },	/* Linux */
	};
	rc = img_mbr_build(mbr, code, (size_t)n, epoch_mix(b->epoch, 0x6d6272), parts, 2,
			   sectors, err);
	return rc < 0 ? rc : img_mbr_write(fd, mbr, err);
}

static int write_text(const char *path, const char *text, struct img_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return img_fail(err, -errno, "%s: %s", path, strerror(errno));
	int rc = img_write_all(fd, text, strlen(text));
	close(fd);
	return rc < 0 ? img_fail(err, rc, "%s: %s", path, img_strerror(rc)) : 0;
}

static int make_syslinux_cfg(struct img_build *b, char *path, size_t len, struct img_err *err)
{
	char cfg[2048];
	snprintf(path, len, "%s/syslinux.cfg", b->work);
	snprintf(cfg, sizeof(cfg),
		 "# cabin appliance: boot the kernel at once, console on the first serial port\n"
		 "SERIAL 0 115200\n"
		 "DEFAULT cabin\n"
		 "PROMPT 0\n"
		 "TIMEOUT 0\n"
		 "LABEL cabin\n"
		 "  LINUX /vmlinuz\n"
		 "  INITRD /initrd.img\n"
		 "  APPEND console=tty0 console=ttyS0,115200n8 quiet%s%s\n",
		 b->append && *b->append ? " " : "", b->append ? b->append : "");
	return write_text(path, cfg, err);
}

/* Partition 1: format, install syslinux, copy the boot files, then pin every timestamp. */
static int make_boot_fs(struct img_build *b, int fd, const char *raw, const char *initrd,
			struct img_err *err)
{
	char img[4200], off[32], total[32], serial[16], epoch[64], cfg[4200];
	snprintf(img, sizeof(img), "%s@@%u", raw, BOOT_START * SECTOR);
	snprintf(off, sizeof(off), "%u", BOOT_START * SECTOR);
	snprintf(total, sizeof(total), "%u", BOOT_SECTORS);
	snprintf(serial, sizeof(serial), "%08" PRIx32, epoch_mix(b->epoch, 0x666174));
	snprintf(epoch, sizeof(epoch), "SOURCE_DATE_EPOCH=%" PRId64, b->epoch);
	char *env[] = { "MTOOLS_SKIP_CHECK=1", "MTOOLSRC=/dev/null", "TZ=UTC0", epoch, NULL };
	int rc = make_syslinux_cfg(b, cfg, sizeof(cfg), err);
	char *mformat[] = { "mformat", "-i", img, "-T", total, "-h", "64", "-s", "32", "-H",
			    "2048", "-N", serial, "-v", "CABIN", "::", NULL };
	char *syslinux[] = { "syslinux", "--offset", off, "--install", (char *)raw, NULL };
	char *mcopy[] = { "mcopy", "-i", img, b->kernel, "::/vmlinuz", NULL };
	char *mcopy2[] = { "mcopy", "-i", img, (char *)initrd, "::/initrd.img", NULL };
	char *mcopy3[] = { "mcopy", "-i", img, cfg, "::/syslinux.cfg", NULL };
	char *const *steps[] = { mformat, syslinux, mcopy, mcopy2, mcopy3 };
	for (size_t i = 0; rc == 0 && i < sizeof(steps) / sizeof(steps[0]); i++)
		rc = img_run(steps[i], env, -1, err);
	if (rc == 0)
		rc = img_manifest_add(b->man, "syslinux", SYSLINUX_BIN, err);
	if (rc == 0)
		rc = img_fat_stamp(fd, (uint64_t)BOOT_START * SECTOR, b->epoch, err);
	return rc;
}

/* Partition 2: empty ext4 with explicit features (no mke2fs.conf from the host), a UUID
 * and hash seed derived from the epoch, and the epoch as every time. */
static int make_data_fs(struct img_build *b, const char *raw, uint64_t sectors,
			struct img_err *err)
{
	char uuid[40], opts[256], size[32], fake[64];
	uint32_t u0 = epoch_mix(b->epoch, 1), u1 = epoch_mix(b->epoch, 2),
		 u2 = epoch_mix(b->epoch, 3);
	snprintf(uuid, sizeof(uuid), "%08" PRIx32 "-%04x-4%03x-8%03x-%08" PRIx32 "%04x", u0,
		 u1 >> 16, u1 & 0xfff, u2 >> 20, u2 ^ u0, (unsigned)(u1 & 0xffff));
	uint64_t data = (sectors - DATA_START) & ~(uint64_t)7;
	snprintf(opts, sizeof(opts), "offset=%" PRIu64 ",hash_seed=%s,lazy_itable_init=1,"
		 "lazy_journal_init=1,root_owner=0:0", (uint64_t)DATA_START * SECTOR, uuid);
	snprintf(size, sizeof(size), "%" PRIu64 "k", data / 2);
	snprintf(fake, sizeof(fake), "E2FSPROGS_FAKE_TIME=%" PRId64, b->epoch);
	char *env[] = { "MKE2FS_CONFIG=/dev/null", fake, NULL };
	char *argv[] = { "mke2fs", "-q", "-F", "-b", "4096", "-I", "256", "-m", "1", "-O",
			 "has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,"
			 "extra_isize,ext_attr,sparse_super,large_file,filetype,dir_index",
			 "-L", "cabin-data", "-U", uuid, "-E", opts, (char *)raw, size, NULL };
	return img_run(argv, env, -1, err);
}

int img_make_disk(struct img_build *b, const char *raw, const char *initrd, struct img_err *err)
{
	uint64_t sectors = b->disk_size / SECTOR;
	int fd = open(raw, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return img_fail(err, -errno, "%s: %s", raw, strerror(errno));
	int rc = ftruncate(fd, (off_t)b->disk_size) < 0 ?
			 img_fail(err, -errno, "%s: %s", raw, strerror(errno)) : 0;
	if (rc == 0)
		rc = write_mbr(b, fd, sectors, err);
	if (rc == 0) {
		img_step(b, "boot partition: FAT16 %u MiB, syslinux", BOOT_SECTORS / 2048);
		rc = make_boot_fs(b, fd, raw, initrd, err);
	}
	if (rc == 0) {
		img_step(b, "data partition: ext4 %" PRIu64 " MiB",
			 ((sectors - DATA_START) & ~(uint64_t)7) / 2048);
		rc = make_data_fs(b, raw, sectors, err);
	}
	close(fd);
	return rc;
}
