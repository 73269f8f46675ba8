/* Tests image/fat_bpb.c and image/fatstamp.c: date conversion and clamping, BPB rejection,
 * FAT12 chain packing; then FAT12/16/32 filesystems built with mtools inside a larger file
 * are stamped and checked with mdir, byte-for-byte in the root directory, and for identity
 * across builds made at different times; corrupt filesystems get a clear error. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../../image/img_priv.h"
#include "../testutil.h"
#include "imgtest.h"

#define EPOCH 1700000000 /* 2023-11-14 22:13:20 UTC */
#define OFF (1 << 20)    /* the filesystem starts 1 MiB into the image */

static char *tmp;

/* ---- pure parts ---- */

static void test_datetime(void)
{
	uint16_t d, t;
	uint8_t tenths;

	img_fat_datetime(951831931, &d, &t, &tenths); /* 2000-02-29 13:45:31 */
	TU_EQ_INT(d, 20 << 9 | 2 << 5 | 29);
	TU_EQ_INT(t, 13 << 11 | 45 << 5 | 15);
	TU_EQ_INT(tenths, 100);
	img_fat_datetime(EPOCH, &d, &t, &tenths);
	TU_EQ_INT(d, 43 << 9 | 11 << 5 | 14);
	TU_EQ_INT(t, 22 << 11 | 13 << 5 | 10);
	TU_EQ_INT(tenths, 0);
	img_fat_datetime(0, &d, &t, &tenths); /* before 1980: clamped */
	TU_EQ_INT(d, 0 << 9 | 1 << 5 | 1);
	TU_EQ_INT(t, 0);
	img_fat_datetime(-5, &d, &t, &tenths);
	TU_EQ_INT(d, 0x21);
	img_fat_datetime(5000000000ll, &d, &t, &tenths); /* after 2107: clamped */
	TU_EQ_INT(d, 127 << 9 | 12 << 5 | 31);
	TU_EQ_INT(t, 23 << 11 | 59 << 5 | 29);
	TU_EQ_INT(tenths, 100);
}

/* A FAT16 boot sector: 512-byte sectors, 4 per cluster, 32768 sectors. */
static void fat16_bs(uint8_t bs[512])
{
	memset(bs, 0, 512);
	img_le16(bs + 11, 512);
	bs[13] = 4;
	img_le16(bs + 14, 1);
	bs[16] = 2;
	img_le16(bs + 17, 512);
	img_le16(bs + 19, 32768);
	img_le16(bs + 22, 32);
	bs[510] = 0x55;
	bs[511] = 0xAA;
}

static void test_bpb(void)
{
	uint8_t bs[512];
	struct img_fat_geom g;
	struct img_err err = {""};

	fat16_bs(bs);
	TU_EQ_INT(img_fat_parse_bpb(bs, &g, &err), 0);
	TU_EQ_INT(g.type, IMG_FAT16);
	TU_EQ_INT(g.root_offset, 65 * 512);
	TU_EQ_INT(g.data_offset, 97 * 512);
	TU_EQ_INT(g.clusters, (32768 - 97) / 4);
	bs[511] = 0;
	TU_EQ_INT(img_fat_parse_bpb(bs, &g, &err), IMG_EBADFS);
	TU_CHECK(strstr(err.msg, "0x55AA") != NULL);
	fat16_bs(bs);
	img_le16(bs + 11, 300);
	TU_EQ_INT(img_fat_parse_bpb(bs, &g, &err), IMG_EBADFS);
	TU_CHECK(strstr(err.msg, "bytes per sector 300") != NULL);
	fat16_bs(bs);
	bs[13] = 3;
	TU_EQ_INT(img_fat_parse_bpb(bs, &g, &err), IMG_EBADFS);
	fat16_bs(bs);
	bs[16] = 0;
	TU_EQ_INT(img_fat_parse_bpb(bs, &g, &err), IMG_EBADFS);
	fat16_bs(bs);
	img_le16(bs + 22, 1); /* FAT far too small for 8167 clusters */
	TU_EQ_INT(img_fat_parse_bpb(bs, &g, &err), IMG_EBADFS);
	TU_CHECK(strstr(err.msg, "cannot map") != NULL);
	fat16_bs(bs);
	img_le16(bs + 19, 90); /* metadata larger than the filesystem */
	TU_EQ_INT(img_fat_parse_bpb(bs, &g, &err), IMG_EBADFS);
	fat16_bs(bs);
	img_le16(bs + 17, 0);
	TU_EQ_INT(img_fat_parse_bpb(bs, &g, &err), IMG_EBADFS);
	memset(bs, 0, sizeof(bs));
	TU_EQ_INT(img_fat_parse_bpb(bs, &g, &err), IMG_EBADFS);
}

static void test_fat12_chain(void)
{
	struct img_fat_geom g = {.type = IMG_FAT12, .clusters = 10};
	/* entries: 2->3, 3->0xFFF (end), 4->5, 5->1 (invalid) */
	uint8_t fat[18] = {0xF8, 0xFF, 0xFF, 0x03, 0xF0, 0xFF, 0x05, 0x10, 0x00};

	TU_EQ_INT(img_fat_next(&g, fat, 2), 3);
	TU_EQ_INT(img_fat_next(&g, fat, 3), 0);
	TU_EQ_INT(img_fat_next(&g, fat, 4), 5);
	TU_EQ_INT(img_fat_next(&g, fat, 5), 0);
	TU_EQ_INT(img_fat_next(&g, fat, 12), 0); /* beyond the last cluster */
}

/* ---- filesystems built with mtools ---- */

struct fs {
	const char *name, *mformat; /* mformat size/type arguments */
	unsigned image_mib;
	enum img_fat_type type;
};

static const struct fs fat12 = {"fat12", "-T 4096 -h 64 -s 32", 4, IMG_FAT12};
static const struct fs fat16 = {"fat16", "-T 65536 -h 64 -s 32", 40, IMG_FAT16};
static const struct fs fat32 = {"fat32", "-F -T 139264 -h 64 -s 32", 72, IMG_FAT32};

/* Source tree copied into every filesystem: nested directories, long names, a directory
 * with enough entries to span several clusters. */
static void make_tree(void)
{
	TU_EQ_INT(tu_sh("cd '%s' && mkdir -p tree/boot/syslinux tree/EFI/BOOT tree/many && "
			"echo hello > tree/hello.txt && echo cfg > tree/boot/syslinux/syslinux.cfg "
			"&& echo efi > 'tree/EFI/BOOT/A Long File Name.efi' && "
			"for i in $(seq 1 150); do echo $i > tree/many/file_number_$i.txt; done && "
			"echo gone > tree/deleted.txt", tmp), 0);
}

/* Builds fs in image `img`; env is prepended to each mtools command (a time setting).
 * The first MiB is filled with a pattern so writes outside the filesystem show. */
static void build(const struct fs *f, const char *img, const char *env)
{
	int rc = tu_sh("cd '%s' && rm -f '%s' && yes cabin | head -c %d > '%s' && "
		       "truncate -s %uM '%s' && export MTOOLS_SKIP_CHECK=1 MTOOLSRC=/dev/null && "
		       "%s mformat -i '%s@@%d' %s -N 12345678 -v CABIN :: && "
		       "%s mcopy -s -i '%s@@%d' tree/* :: && "
		       "%s mdel -i '%s@@%d' ::/deleted.txt",
		       tmp, img, OFF, img, f->image_mib, img, env, img, OFF, f->mformat, env, img,
		       OFF, env, img, OFF);

	TU_EQ_INT(rc, 0);
}

static int stamp(const char *img, int64_t epoch, struct img_err *err)
{
	int fd = open(img, O_RDWR), rc;

	if (fd < 0)
		return -errno;
	rc = img_fat_stamp(fd, OFF, epoch, err);
	close(fd);
	return rc;
}

/* Every dated line of a recursive mdir shows want ("YYYY-MM-DD  HH:MM"); returns their
 * count, or -1 if any differs (printing it when report is set). */
static int mdir_dates(const char *img, const char *want, int report)
{
	char *out = tu_sh_out("cd '%s' && MTOOLS_SKIP_CHECK=1 MTOOLSRC=/dev/null "
			      "mdir -/ -a -i '%s@@%d' ::", tmp, img, OFF);
	int n = 0;

	for (char *line = out ? strtok(out, "\n") : NULL; line; line = strtok(NULL, "\n")) {
		char *p = line;

		while (*p && !(p[0] >= '0' && p[0] <= '9' && p[4] == '-' && p[7] == '-'))
			p++;
		if (!*p)
			continue;
		if (strncmp(p, want, strlen(want)) != 0) {
			if (report)
				fprintf(stderr, "mdir: %s\n", line);
			n = -1;
			break;
		}
		n++;
	}
	free(out);
	return out ? n : -1;
}

/* In the FAT12/16 root: every short entry carries the stamp, long-name entries are
 * untouched relative to before. */
static void check_root(const char *img, const uint8_t *before, int64_t epoch)
{
	int fd = open(img, O_RDONLY);
	uint8_t bs[512], *root;
	struct img_fat_geom g;
	uint16_t d, t;
	uint8_t tenths;

	img_fat_datetime(epoch, &d, &t, &tenths);
	TU_CHECK(fd >= 0 && pread(fd, bs, 512, OFF) == 512);
	TU_EQ_INT(img_fat_parse_bpb(bs, &g, NULL), 0);
	root = malloc(g.root_bytes);
	TU_CHECK(pread(fd, root, g.root_bytes, OFF + (off_t)g.root_offset) ==
		 (ssize_t)g.root_bytes);
	for (uint32_t o = 0; o < g.root_bytes && root[o]; o += 32) {
		uint8_t *e = root + o;

		if ((e[11] & 0x3F) == 0x0F) {
			TU_CHECK(memcmp(e, before + o, 32) == 0);
			continue;
		}
		TU_EQ_INT(e[13], tenths);
		TU_CHECK(img_get_le16(e + 14) == t && img_get_le16(e + 22) == t);
		TU_CHECK(img_get_le16(e + 16) == d && img_get_le16(e + 18) == d &&
			 img_get_le16(e + 24) == d);
		TU_CHECK(memcmp(e, before + o, 11) == 0); /* names as they were */
	}
	free(root);
	close(fd);
}

static int fs_type(const char *img)
{
	int fd = open(img, O_RDONLY);
	uint8_t bs[512];
	struct img_fat_geom g;
	int ok = fd >= 0 && pread(fd, bs, 512, OFF) == 512 && img_fat_parse_bpb(bs, &g, NULL) == 0;

	if (fd >= 0)
		close(fd);
	return ok ? (int)g.type : -1;
}

static uint8_t *read_root(const char *img)
{
	size_t len = 0;
	uint8_t *all = tu_read_file(img, &len), *root, bs[512];
	struct img_fat_geom g;

	memcpy(bs, all + OFF, 512);
	if (img_fat_parse_bpb(bs, &g, NULL) < 0 || g.root_bytes == 0) {
		free(all);
		return NULL;
	}
	root = malloc(g.root_bytes);
	memcpy(root, all + OFF + g.root_offset, g.root_bytes);
	free(all);
	return root;
}

static void check_fs(const struct fs *f)
{
	char *a = tu_join(tmp, "a.img"), *pre;
	struct img_err err = {""};
	uint8_t *before;
	int n;

	build(f, "a.img", "SOURCE_DATE_EPOCH=1300000001");
	TU_EQ_INT(fs_type(a), f->type);
	TU_EQ_INT(mdir_dates("a.img", "2023-11-14", 0), -1); /* mtools' own dates before */
	before = read_root(a);
	TU_EQ_INT(stamp(a, EPOCH, &err), 0);
	if (err.msg[0])
		fprintf(stderr, "%s: %s\n", f->name, err.msg);
	n = mdir_dates("a.img", "2023-11-14  22:13", 1);
	TU_CHECK(n >= 150 + 12); /* files, directories and their . and .. entries */
	if (before)
		check_root(a, before, EPOCH);
	pre = tu_sh_out("head -c %d '%s' | tr -d '\\n' | tr -d cabin | wc -c", OFF, a);
	TU_EQ_STR(pre, "0\n"); /* the bytes before the filesystem are untouched */
	TU_EQ_INT(tu_sh("cd '%s' && MTOOLS_SKIP_CHECK=1 MTOOLSRC=/dev/null mtype -i 'a.img@@%d' "
			"::/many/file_number_150.txt | grep -qx 150", tmp, OFF), 0);
	TU_EQ_INT(stamp(a, EPOCH + 1, &err), 0); /* odd second: creation tenths 100 */
	if (before)
		check_root(a, before, EPOCH + 1);
	TU_EQ_INT(stamp(a, 0, &err), 0);
	TU_EQ_INT(mdir_dates("a.img", "1980-01-01   0:00", 1), n);
	free(pre);
	free(before);
	free(a);
}

static void test_fat12(void) { check_fs(&fat12); }
static void test_fat16(void) { check_fs(&fat16); }
static void test_fat32(void) { check_fs(&fat32); }

/* Two builds of each type at different times differ, and are identical once stamped. */
static void check_reproducible(const struct fs *f, const char *env_a, const char *env_b)
{
	char *a = tu_join(tmp, "a.img"), *b = tu_join(tmp, "b.img");

	build(f, "a.img", env_a);
	build(f, "b.img", env_b);
	TU_CHECK(!tu_same_file(a, b));
	TU_EQ_INT(stamp(a, EPOCH, NULL), 0);
	TU_EQ_INT(stamp(b, EPOCH, NULL), 0);
	TU_CHECK(tu_same_file(a, b));
	free(a);
	free(b);
}

static void test_reproducible(void)
{
	const struct fs *all[] = {&fat12, &fat16, &fat32};

	for (int i = 0; i < 3; i++)
		check_reproducible(all[i], "SOURCE_DATE_EPOCH=1000000000",
				   "SOURCE_DATE_EPOCH=1300000001");
}

/* The wall clock rather than SOURCE_DATE_EPOCH: faketime if installed, else wait until
 * the clock has moved past FAT's two-second resolution. */
static void test_reproducible_wall_clock(void)
{
	time_t t0;

	/* make exports SOURCE_DATE_EPOCH, which mtools honours: this pair must see the clock */
	unsetenv("SOURCE_DATE_EPOCH");

	if (tu_have("faketime")) {
		check_reproducible(&fat16, "faketime '2011-01-01 10:00:00'",
				   "faketime '2019-06-01 12:34:57'");
		return;
	}
	t0 = time(NULL);
	build(&fat16, "a.img", "");
	while (time(NULL) < t0 + 3)
		usleep(100000);
	{
		char *a = tu_join(tmp, "a.img"), *b = tu_join(tmp, "b.img");

		build(&fat16, "b.img", "");
		TU_CHECK(!tu_same_file(a, b));
		TU_EQ_INT(stamp(a, EPOCH, NULL), 0);
		TU_EQ_INT(stamp(b, EPOCH, NULL), 0);
		TU_CHECK(tu_same_file(a, b));
		free(a);
		free(b);
	}
}

/* Finds the root entry named name11 of the FAT16 image; returns its byte offset. */
static long root_entry(const char *img, const char *name11, struct img_fat_geom *g)
{
	int fd = open(img, O_RDONLY);
	uint8_t bs[512], e[32];
	long found = -1;

	if (fd < 0 || pread(fd, bs, 512, OFF) != 512 || img_fat_parse_bpb(bs, g, NULL) < 0)
		return -1;
	for (uint32_t o = 0; o < g->root_bytes && found < 0; o += 32)
		if (pread(fd, e, 32, OFF + (off_t)(g->root_offset + o)) == 32 &&
		    memcmp(e, name11, 11) == 0)
			found = OFF + (long)(g->root_offset + o);
	close(fd);
	return found;
}

static void poke16(const char *img, long off, uint16_t v)
{
	int fd = open(img, O_RDWR);
	uint8_t b[2];

	img_le16(b, v);
	TU_CHECK(fd >= 0 && pwrite(fd, b, 2, off) == 2);
	close(fd);
}

static void test_errors(void)
{
	char *a = tu_join(tmp, "a.img"), *z = tu_join(tmp, "zero.img");
	struct img_err err = {""};
	struct img_fat_geom g;
	long e;

	TU_EQ_INT(tu_sh("truncate -s 4M '%s'", z), 0);
	TU_EQ_INT(stamp(z, EPOCH, &err), IMG_EBADFS);
	TU_CHECK(strstr(err.msg, "0x55AA") != NULL);
	TU_EQ_INT(tu_sh("truncate -s 1000 '%s'", z), 0);
	TU_EQ_INT(stamp(z, EPOCH, &err), IMG_EBADFS);
	TU_CHECK(strstr(err.msg, "no boot sector") != NULL);

	build(&fat16, "a.img", "SOURCE_DATE_EPOCH=1300000001");
	TU_EQ_INT(tu_sh("truncate -s 20M '%s'", a), 0);
	TU_EQ_INT(stamp(a, EPOCH, &err), IMG_EBADFS);
	TU_CHECK(strstr(err.msg, "extends past") != NULL);

	build(&fat16, "a.img", "SOURCE_DATE_EPOCH=1300000001");
	e = root_entry(a, "MANY       ", &g);
	TU_CHECK(e > 0);
	poke16(a, e + 26, 0xFFF0);
	TU_EQ_INT(stamp(a, EPOCH, &err), IMG_EBADFS);
	TU_CHECK(strstr(err.msg, "'MANY       '") && strstr(err.msg, "cluster 65520"));

	build(&fat16, "a.img", "SOURCE_DATE_EPOCH=1300000001");
	e = root_entry(a, "MANY       ", &g); /* spans clusters: its end marker is not in the first */
	{
		int fd = open(a, O_RDONLY);
		uint8_t c[2];

		TU_CHECK(fd >= 0 && pread(fd, c, 2, e + 26) == 2);
		close(fd);
		/* the directory's first cluster now links to itself */
		poke16(a, OFF + (long)g.fat_offset + 2 * img_get_le16(c), img_get_le16(c));
	}
	TU_EQ_INT(stamp(a, EPOCH, &err), IMG_EBADFS);
	TU_CHECK(strstr(err.msg, "reached twice") != NULL);
	free(a);
	free(z);
}

int main(void)
{
	TU_RUN(test_datetime);
	TU_RUN(test_bpb);
	TU_RUN(test_fat12_chain);
	if (!tu_have("mformat") || !tu_have("mcopy") || !tu_have("mdir"))
		TU_SKIP("FAT image tests: no mtools (Debian package mtools)");
	tmp = tu_tmpdir();
	make_tree();
	TU_RUN(test_fat12);
	TU_RUN(test_fat16);
	TU_RUN(test_fat32);
	TU_RUN(test_reproducible);
	TU_RUN(test_reproducible_wall_clock);
	TU_RUN(test_errors);
	tu_rmrf(tmp);
	free(tmp);
	return TU_EXIT();
}
