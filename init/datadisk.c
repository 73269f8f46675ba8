/* The node's data filesystem: the ext4 labelled cabin-data (partition 2 of the image).
 * Clouds give disks larger than the image, so on boot the partition is grown to the end
 * of its disk (MBR entry rewritten, the kernel told with BLKPG) and the filesystem grown
 * online (EXT4_IOC_RESIZE_FS) once mounted: no e2fsprogs in the image. Without a usable
 * data filesystem the node runs on tmpfs and says so loudly. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/blkpg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/log.h"
#include "cabind.h"

#ifndef EXT4_IOC_RESIZE_FS
#define EXT4_IOC_RESIZE_FS _IOW('f', 16, uint64_t)
#endif

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int mbr_grow(uint8_t sec0[512], int partno, uint64_t disk_sectors, uint32_t *old_count,
	     uint32_t *new_count)
{
	if (sec0[510] != 0x55 || sec0[511] != 0xaa || partno < 1 || partno > 4)
		return -EINVAL;
	uint8_t *e = sec0 + 446 + 16 * (partno - 1);
	uint32_t start = get32(e + 8), count = get32(e + 12);
	if (e[4] == 0 || count == 0 || start + (uint64_t)count > disk_sectors)
		return -EINVAL;
	for (int i = 0; i < 4; i++) {
		const uint8_t *o = sec0 + 446 + 16 * i;
		if (i != partno - 1 && o[4] != 0 && get32(o + 8) > start)
			return -EINVAL;		/* not the last partition */
	}
	uint64_t want = disk_sectors - start;
	if (want > UINT32_MAX)
		want = UINT32_MAX;		/* MBR limit: 2 TiB per partition */
	want &= ~(uint64_t)7;			/* whole 4 KiB blocks */
	*old_count = count;
	*new_count = (uint32_t)want;
	if (want <= count)
		return 0;
	put32(e + 12, (uint32_t)want);
	/* CHS end: "beyond cylinder 1023", as for every partition this large */
	e[5] = 0xfe;
	e[6] = 0xff;
	e[7] = 0xff;
	return 1;
}

static int sysfs_u64(const char *dev, const char *file, uint64_t *out)
{
	char path[256], buf[32];
	snprintf(path, sizeof(path), "/sys/class/block/%s/%s", dev, file);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	*out = strtoull(buf, NULL, 10);
	return 0;
}

/* The whole disk a partition belongs to: the parent directory in sysfs. */
static int parent_disk(const char *part, char *out, size_t len)
{
	char path[256], real[PATH_MAX];
	snprintf(path, sizeof(path), "/sys/class/block/%s", part);
	if (!realpath(path, real))
		return -errno;
	char *slash = strrchr(real, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	slash = strrchr(real, '/');
	snprintf(out, len, "%s", slash ? slash + 1 : real);
	return 0;
}

/* Rewrites the MBR entry and tells the kernel the partition's new size. Returns the new
 * size in bytes, 0 if there was nothing to grow, or a negative errno. */
static int64_t grow_partition(const char *part)
{
	char disk[64], path[96];
	uint64_t partno, start, disk_sectors;
	if (parent_disk(part, disk, sizeof(disk)) < 0 || sysfs_u64(part, "partition", &partno) < 0 ||
	    sysfs_u64(part, "start", &start) < 0 || sysfs_u64(disk, "size", &disk_sectors) < 0)
		return -ENODEV;
	snprintf(path, sizeof(path), "/dev/%s", disk);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	uint8_t sec0[512];
	uint32_t old_count, new_count;
	int rc = pread(fd, sec0, 512, 0) == 512 ? 0 : -EIO;
	if (rc == 0 && get32(sec0 + 446 + 16 * (partno - 1) + 8) != start)
		rc = -EINVAL;	/* sysfs and the table disagree: leave both alone */
	if (rc == 0)
		rc = mbr_grow(sec0, (int)partno, disk_sectors, &old_count, &new_count);
	if (rc == 1 && (pwrite(fd, sec0, 512, 0) != 512 || fsync(fd) < 0))
		rc = -errno;
	if (rc == 1) {
		struct blkpg_partition bp = { .start = (long long)start * 512,
					      .length = (long long)new_count * 512,
					      .pno = (int)partno };
		struct blkpg_ioctl_arg arg = { .op = BLKPG_RESIZE_PARTITION, .datalen = sizeof(bp),
					       .data = &bp };
		if (ioctl(fd, BLKPG, &arg) < 0)
			rc = -errno;
		else
			log_info("data: partition %s grown from %u to %u MiB", part,
				 old_count / 2048, new_count / 2048);
	}
	close(fd);
	return rc == 1 ? (int64_t)new_count * 512 : rc;
}

/* Grows the mounted ext4 to fill its partition. */
static void grow_fs(uint64_t bytes)
{
	int fd = open(DATA_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	uint64_t blocks = bytes / 4096;
	if (ioctl(fd, EXT4_IOC_RESIZE_FS, &blocks) < 0)
		log_warn("data: online resize of ext4 to %llu blocks",
			 (unsigned long long)blocks);
	else
		log_info("data: ext4 resized to %llu MiB", (unsigned long long)(bytes >> 20));
	close(fd);
}

static void run_on_tmpfs(struct cabind *c, const char *why)
{
	mount("tmpfs", DATA_DIR, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
	log_warnx("data: %s; node data lives in memory and is lost at shutdown", why);
	if (!c->degraded[0])
		snprintf(c->degraded, sizeof(c->degraded), "%s: data on tmpfs", why);
}

void datadisk_setup(struct cabind *c)
{
	static const char *const labels[] = { DATA_LABEL, NULL };
	struct blk_found f;
	char dev[80], why[160];
	mkdir("/var", 0755);
	mkdir("/var/lib", 0755);
	mkdir(DATA_DIR, 0755);
	if (c->data_modules > 0) {	/* ext4 was loading in the background */
		int st;
		while (waitpid(c->data_modules, &st, 0) < 0 && errno == EINTR)
			;
		c->data_modules = 0;
	}
	if (blk_find_label(labels, 0, &f) != 1 || f.probe.type != FS_EXT4) {
		run_on_tmpfs(c, "no ext4 filesystem labelled " DATA_LABEL);
		return;
	}
	int64_t grown = grow_partition(f.dev);
	if (grown < 0)
		log_warnx("data: cannot grow %s: %s", f.dev, strerror((int)-grown));
	snprintf(dev, sizeof(dev), "/dev/%s", f.dev);
	if (mount(dev, DATA_DIR, "ext4", MS_NOATIME | MS_NOSUID | MS_NODEV, NULL) < 0) {
		snprintf(why, sizeof(why), "data filesystem %s: mount ext4: %s", dev,
			 strerror(errno));
		run_on_tmpfs(c, why);
		return;
	}
	if (grown > 0)
		grow_fs((uint64_t)grown);
	uint64_t sectors = 0;
	sysfs_u64(f.dev, "size", &sectors);
	log_info("data: %s (%s, %llu MiB) mounted on %s", dev, DATA_LABEL,
		 (unsigned long long)(sectors / 2048), DATA_DIR);
}
