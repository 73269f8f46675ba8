/* Tests image/qcow2.c against qemu-img: each raw image (empty, data at the start, at the end,
 * scattered, a partial last cluster, 2 GiB sparse, and one needing two refcount blocks)
 * converts to a qcow2 that `qemu-img check` finds clean, `qemu-img compare` finds identical to
 * the raw, and whose allocated clusters are exactly the raw's non-zero ones. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../../image/img.h"
#include "../testutil.h"
#include "imgtest.h"

#define KiB 1024ull
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)

static char *tmp;

struct extent {
	uint64_t off, len;
	int zero; /* write zero bytes: the range is data to SEEK_DATA but must stay unallocated */
};

static char *make_raw(const char *name, uint64_t size, const struct extent *x, size_t n)
{
	char *path = tu_join(tmp, name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	uint8_t *buf;

	TU_CHECK(fd >= 0 && ftruncate(fd, (off_t)size) == 0);
	for (size_t i = 0; i < n; i++) {
		buf = malloc(x[i].len);
		for (uint64_t j = 0; j < x[i].len; j++)
			buf[j] = x[i].zero ? 0 : (uint8_t)(1 + (x[i].off + j) % 251);
		TU_CHECK(pwrite(fd, buf, x[i].len, (off_t)x[i].off) == (ssize_t)x[i].len);
		free(buf);
	}
	close(fd);
	return path;
}

static int convert(const char *raw, const char *out, struct img_err *err)
{
	int fd = open(raw, O_RDONLY), rc;

	if (fd < 0)
		return -errno;
	rc = img_qcow2_convert(fd, out, err);
	close(fd);
	return rc;
}

static long long json_num(const char *json, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	p = json ? strstr(json, pat) : NULL;
	return p ? strtoll(p + strlen(pat), NULL, 10) : 0;
}

/* Converts raw twice and checks the result with qemu-img. alloc: expected data clusters.
 * Takes ownership of raw (a malloc'd path) and removes the file. */
static void check_case(char *raw, uint64_t size, long long alloc)
{
	char *out = tu_sh_out("printf %%s '%s.qcow2'", raw), *out2 = tu_join(tmp, "again.qcow2");
	struct img_err err = {""};
	char *chk, *info;

	TU_EQ_INT(convert(raw, out, &err), 0);
	if (err.msg[0])
		fprintf(stderr, "%s\n", err.msg);
	chk = tu_sh_out("qemu-img check --output=json '%s'", out);
	TU_CHECK(chk != NULL); /* non-zero exit: errors or leaks */
	TU_CHECK(chk && !strstr(chk, "leaks") && !strstr(chk, "corruptions"));
	TU_CHECK(chk && strstr(chk, "\"check-errors\": 0"));
	TU_EQ_INT(json_num(chk, "allocated-clusters"), alloc);
	TU_EQ_INT(tu_sh("qemu-img compare -q -f raw -F qcow2 '%s' '%s'", raw, out), 0);
	info = tu_sh_out("qemu-img info --output=json -f qcow2 '%s'", out);
	TU_EQ_INT(json_num(info, "virtual-size"), size);
	TU_CHECK(info && strstr(info, "\"compat\": \"1.1\"") && strstr(info, "\"refcount-bits\": 16"));
	TU_EQ_INT(convert(raw, out2, &err), 0);
	TU_CHECK(tu_same_file(out, out2));
	if (tu_failures)
		fprintf(stderr, "case %s:\n%s\n%s\n", raw, chk ? chk : "(check failed)",
			info ? info : "(info failed)");
	unlink(out);
	unlink(out2);
	unlink(raw);
	free(chk);
	free(info);
	free(out);
	free(out2);
	free(raw);
}

static void test_empty(void)
{
	check_case(make_raw("empty", 0, NULL, 0), 0, 0);
	check_case(make_raw("hole", 4 * MiB, NULL, 0), 4 * MiB, 0);
}

static void test_start(void)
{
	struct extent x[] = {{0, 64 * KiB, 0}};

	check_case(make_raw("start", 1 * MiB, x, 1), 1 * MiB, 1);
}

static void test_end(void)
{
	struct extent x[] = {{8 * MiB - 4 * KiB, 4 * KiB, 0}};

	check_case(make_raw("end", 8 * MiB, x, 1), 8 * MiB, 1);
}

static void test_scattered(void)
{
	struct extent x[] = {
		{512, 1, 0},                       /* cluster 0 */
		{100 * KiB, 100 * KiB, 0},         /* clusters 1..3 */
		{1 * MiB, 64 * KiB, 1},            /* zeros written: stays unallocated */
		{3 * MiB + 65535, 2, 0},           /* straddles clusters 48 and 49 */
		/* one cluster, two extents: zeros, then data */
		{5 * MiB, 4 * KiB, 1}, {5 * MiB + 8 * KiB, 4 * KiB, 0},
		/* one cluster, two extents of data: allocated once */
		{6 * MiB, 4 * KiB, 0}, {6 * MiB + 8 * KiB, 4 * KiB, 0},
		{40 * MiB, 300 * KiB, 0},          /* clusters 640..644 */
	};

	check_case(make_raw("scattered", 64 * MiB, x, sizeof(x) / sizeof(x[0])), 64 * MiB,
		   1 + 3 + 2 + 1 + 1 + 5);
}

static void test_partial_cluster(void)
{
	uint64_t size = 1 * MiB + 3 * 512;
	struct extent x[] = {{1 * MiB, 3 * 512, 0}};

	check_case(make_raw("partial", size, x, 1), size, 1);
	check_case(make_raw("partial0", 512, NULL, 0), 512, 0);
}

/* Four L1 groups of 512 MiB each get an L2 table. */
static void test_sparse_2g(void)
{
	struct extent x[] = {
		{0, 4 * KiB, 0}, {600 * MiB, 64 * KiB, 0}, {1200 * MiB + 1, 1, 0},
		{2 * GiB - 4 * KiB, 4 * KiB, 0},
	};

	check_case(make_raw("sparse2g", 2 * GiB, x, 4), 2 * GiB, 4);
}

/* 32800 non-zero clusters (one byte each, so the raw stays small on disk) need two refcount
 * blocks of 32768 entries; the qcow2 is written sparse, so it stays small too. */
static void test_two_refcount_blocks(void)
{
	enum { N = 32800 };
	struct extent *x = calloc(N, sizeof(*x));

	for (uint64_t i = 0; i < N; i++)
		x[i] = (struct extent){i * 64 * KiB + i % 4096, 1, 0};
	check_case(make_raw("many", (N + 16) * 64 * KiB, x, N), (N + 16) * 64 * KiB, N);
	free(x);
}

static void test_errors(void)
{
	struct extent x[] = {{0, 512, 0}};
	char *raw = make_raw("odd", 1000, NULL, 0), *good = make_raw("good", 4096, x, 1);
	char *dir = tu_join(tmp, "outdir"), *missing = tu_join(tmp, "nodir/out.qcow2");
	char *out = tu_join(tmp, "replace.qcow2"), *left;
	struct img_err err = {""};

	TU_EQ_INT(convert(raw, out, &err), IMG_ESIZE);
	TU_CHECK(strstr(err.msg, "1000") != NULL);
	mkdir(dir, 0755);
	TU_EQ_INT(convert(good, dir, &err), -EISDIR);
	TU_CHECK(strstr(err.msg, dir) && strstr(err.msg, "is a directory"));
	TU_EQ_INT(convert(good, missing, &err), -ENOENT);
	TU_CHECK(strstr(err.msg, missing) != NULL);
	/* an existing file is replaced whole */
	TU_EQ_INT(tu_write_file(out, "old", 3), 0);
	TU_EQ_INT(convert(good, out, &err), 0);
	TU_EQ_INT(tu_sh("qemu-img compare -q -f raw -F qcow2 '%s' '%s'", good, out), 0);
	left = tu_sh_out("ls '%s' | grep -c '\\.tmp\\.' || true", tmp);
	TU_EQ_STR(left, "0\n");
	free(left);
	free(raw);
	free(good);
	free(dir);
	free(missing);
	free(out);
}

int main(void)
{
	if (!tu_have("qemu-img"))
		TU_SKIP("qcow2 tests: no qemu-img (Debian package qemu-utils)");
	tmp = tu_tmpdir();
	TU_RUN(test_empty);
	TU_RUN(test_start);
	TU_RUN(test_end);
	TU_RUN(test_scattered);
	TU_RUN(test_partial_cluster);
	TU_RUN(test_sparse_2g);
	TU_RUN(test_two_refcount_blocks);
	TU_RUN(test_errors);
	tu_rmrf(tmp);
	free(tmp);
	return TU_EXIT();
}
