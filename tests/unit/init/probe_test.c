/* Filesystem probing against images made by the real tools: genisoimage (iso9660),
 * mformat/mkfs.vfat (FAT12/16/32) and mke2fs (ext4), plus garbage and truncated input. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../../init/cabind.h"
#include "../image/imgtest.h"
#include "../testutil.h"

static char *tmp;

/* Probes the first FS_PROBE_BYTES of path (or fewer if the file is shorter). */
static int probe_file(const char *path, struct fs_probe *p, size_t limit)
{
	uint8_t buf[FS_PROBE_BYTES];
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, limit < sizeof(buf) ? limit : sizeof(buf));
	close(fd);
	return n < 0 ? -1 : fs_probe(buf, (size_t)n, p);
}

static void test_iso9660(void)
{
	if (!tu_have("genisoimage")) {
		printf("skip iso9660: no genisoimage\n");
		return;
	}
	struct fs_probe p;
	TU_EQ_INT(tu_sh("mkdir -p %s/iso/openstack && echo '{}' > %s/iso/openstack/x && "
			"genisoimage -quiet -V config-2 -J -r -o %s/cd.iso %s/iso", tmp, tmp, tmp,
			tmp), 0);
	char *iso = tu_join(tmp, "cd.iso");
	TU_EQ_INT(probe_file(iso, &p, FS_PROBE_BYTES), 0);
	TU_EQ_INT(p.type, FS_ISO9660);
	TU_EQ_STR(p.label, "config-2");
	TU_CHECK(fs_label_is(&p, "CONFIG-2"));
	TU_EQ_STR(fs_type_name(p.type), "iso9660");
	/* a truncated image (no volume descriptor) is not iso9660 */
	TU_CHECK(probe_file(iso, &p, 32768 + 100) != 0 || p.type != FS_ISO9660);
	free(iso);
}

static void test_fat(void)
{
	/* mformat picks FAT12 for 2M and FAT16 for 32M; -F asks for FAT32 */
	static const char *const sizes[] = { "2M", "32M", "64M" };
	static const char *const flags[] = { "", "", "-F" };
	struct fs_probe p;
	char *img = tu_join(tmp, "fat.img");
	for (int i = 0; i < 3; i++) {
		TU_EQ_INT(tu_sh("rm -f %s && truncate -s %s %s && MTOOLS_SKIP_CHECK=1 mformat "
				"-i %s %s -v CIDATA ::", img, sizes[i], img, img, flags[i]), 0);
		TU_EQ_INT(probe_file(img, &p, FS_PROBE_BYTES), 0);
		TU_EQ_INT(p.type, FS_VFAT);
		TU_EQ_STR(p.label, "CIDATA");
		TU_CHECK(fs_label_is(&p, "cidata"));
	}
	/* a FAT without a label */
	TU_EQ_INT(tu_sh("rm -f %s && truncate -s 2M %s && MTOOLS_SKIP_CHECK=1 mformat -i %s ::",
			img, img, img), 0);
	TU_EQ_INT(probe_file(img, &p, FS_PROBE_BYTES), 0);
	TU_EQ_INT(p.type, FS_VFAT);
	TU_EQ_STR(p.label, "");
	free(img);
}

static void test_ext4(void)
{
	struct fs_probe p;
	char *img = tu_join(tmp, "ext4.img");
	TU_EQ_INT(tu_sh("truncate -s 16M %s && mke2fs -q -F -t ext4 -L cabin-data %s", img, img),
		  0);
	TU_EQ_INT(probe_file(img, &p, FS_PROBE_BYTES), 0);
	TU_EQ_INT(p.type, FS_EXT4);
	TU_EQ_STR(p.label, "cabin-data");
	free(img);
}

static void test_garbage(void)
{
	uint8_t buf[FS_PROBE_BYTES];
	struct fs_probe p;
	memset(buf, 0, sizeof(buf));
	TU_EQ_INT(fs_probe(buf, sizeof(buf), &p), -EINVAL);
	TU_EQ_INT(p.type, FS_UNKNOWN);
	/* a boot signature alone does not make a FAT */
	buf[510] = 0x55;
	buf[511] = 0xaa;
	TU_EQ_INT(fs_probe(buf, sizeof(buf), &p), -EINVAL);
	/* short reads are bounded */
	TU_EQ_INT(fs_probe(buf, 100, &p), -EINVAL);
	TU_EQ_INT(fs_probe(buf, 0, &p), -EINVAL);
	/* an ext magic with a label that fills all 16 bytes */
	memset(buf, 0, sizeof(buf));
	buf[1024 + 56] = 0x53;
	buf[1024 + 57] = 0xef;
	memset(buf + 1024 + 120, 'a', 16);
	TU_EQ_INT(fs_probe(buf, 2048, &p), 0);
	TU_EQ_INT(strlen(p.label), 16);
}

int main(void)
{
	tmp = tu_tmpdir();
	TU_RUN(test_iso9660);
	TU_RUN(test_fat);
	TU_RUN(test_ext4);
	TU_RUN(test_garbage);
	tu_rmrf(tmp);
	free(tmp);
	return TU_EXIT();
}
