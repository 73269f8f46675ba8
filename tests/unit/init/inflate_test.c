/* inflate and gzip against the real gzip (and Python's zlib, for the fixed-Huffman, RLE
 * and Huffman-only strategies gzip never picks on its own), plus hand-made broken
 * streams, each checked against what zlib says about it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../../init/config.h"
#include "../../../init/inflate.h"
#include "../image/imgtest.h"
#include "../testutil.h"

static char *tmp;

static int raw(const uint8_t *in, size_t len, uint8_t *out, size_t cap, size_t *outlen,
	       const char **why)
{
	size_t used;
	return inflate_raw(in, len, out, cap, outlen, &used, why);
}

static void test_crc32(void)
{
	TU_EQ_INT(inflate_crc32(0, "123456789", 9), 0xcbf43926u);
	TU_EQ_INT(inflate_crc32(0, "", 0), 0);
	uint32_t c = inflate_crc32(0, "1234", 4);
	TU_EQ_INT(inflate_crc32(c, "56789", 5), 0xcbf43926u);
}

static void test_handmade_good(void)
{
	static const uint8_t aaaa[] = { 0x4b, 0x04, 0x02, 0x00 };
	static const uint8_t stored[] = { 0x01, 0x05, 0x00, 0xfa, 0xff, 'h', 'e', 'l', 'l', 'o' };
	uint8_t out[16];
	size_t n, used;
	const char *why;
	TU_EQ_INT(inflate_raw(aaaa, sizeof(aaaa), out, sizeof(out), &n, &used, &why), 0);
	TU_EQ_INT(n, 4);
	TU_CHECK(memcmp(out, "aaaa", 4) == 0);
	TU_EQ_INT(used, sizeof(aaaa));
	TU_EQ_INT(inflate_raw(stored, sizeof(stored), out, sizeof(out), &n, &used, &why), 0);
	TU_EQ_INT(n, 5);
	TU_CHECK(memcmp(out, "hello", 5) == 0);
	/* exactly enough room, and one byte too little */
	TU_EQ_INT(raw(aaaa, sizeof(aaaa), out, 4, &n, &why), 0);
	TU_EQ_INT(raw(aaaa, sizeof(aaaa), out, 3, &n, &why), -ENOSPC);
	TU_EQ_INT(raw(stored, sizeof(stored), out, 4, &n, &why), -ENOSPC);
}

static void test_handmade_bad(void)
{
	static const struct { const char *name; uint8_t b[8]; size_t len; const char *why; }
	cases[] = {
		{ "btype3", { 0x07 }, 1, "invalid block type" },
		{ "far", { 0x03, 0x02, 0x00 }, 3, "distance too far back" },
		{ "sym286", { 0x1b, 0x03 }, 2, "invalid length symbol" },
		{ "dist30", { 0x4b, 0x04, 0x3e }, 3, "invalid distance symbol" },
		{ "oversub", { 0x05, 0x00, 0x92, 0x04 }, 4, "bad code length code" },
		{ "noeob", { 0x05, 0x00, 0x80, 0xe4, 0x7f, 0x1b }, 6, "no end-of-block code" },
		{ "rep_first", { 0x05, 0x00, 0x02, 0x24 }, 4, "repeat with no previous length" },
		{ "stored_badlen", { 0x01, 0x05, 0x00, 0x00, 0x00 }, 5,
		  "stored block length check failed" },
		{ "stored_trunc", { 0x01, 0x05, 0x00, 0xfa, 0xff, 'a', 'b' }, 7, "truncated" },
		{ "empty", { 0 }, 0, "truncated" },
		{ "aaaa_cut", { 0x4b, 0x04 }, 2, "truncated" },
	};
	uint8_t out[64];
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		size_t n;
		const char *why = NULL;
		int rc = raw(cases[i].b, cases[i].len, out, sizeof(out), &n, &why);
		if (rc != -EBADMSG || !why || strcmp(why, cases[i].why) != 0) {
			fprintf(stderr, "FAIL %s: rc %d why %s\n", cases[i].name, rc,
				why ? why : "(null)");
			tu_failures++;
		}
	}
}

/* Decompresses file.gz and compares with file. */
static void check_gzip_file(const char *name)
{
	char *orig_path = tu_join(tmp, name), gz_name[256];
	snprintf(gz_name, sizeof(gz_name), "%s.gz", name);
	char *gz_path = tu_join(tmp, gz_name);
	size_t olen, glen, n;
	uint8_t *orig = tu_read_file(orig_path, &olen), *gz = tu_read_file(gz_path, &glen), *out;
	const char *why;
	TU_CHECK(orig && gz);
	int rc = inflate_gzip(gz, glen, 64u << 20, &out, &n, &why);
	if (rc != 0 || n != olen || memcmp(out, orig, n) != 0) {
		fprintf(stderr, "FAIL %s: rc %d (%s), %zu bytes, want %zu\n", gz_name, rc,
			why ? why : "", rc ? 0 : n, olen);
		tu_failures++;
	}
	if (rc == 0) {
		TU_EQ_INT(out[n], 0);
		free(out);
	}
	free(orig);
	free(gz);
	free(orig_path);
	free(gz_path);
}

static void test_gzip_tool(void)
{
	if (!tu_have("gzip")) {
		printf("skip: no gzip\n");
		return;
	}
	/* text, incompressible bytes (stored blocks), long runs, a mix, sizes from empty
	 * across the 32 KiB window and 64 KiB stored-block boundaries */
	TU_EQ_INT(tu_sh("cd %s && : > empty && printf x > one && seq 1 100000 > text && "
			"head -c 100000 /dev/urandom > random && head -c 300000 /dev/zero > zeros && "
			"{ cat text; head -c 70000 /dev/urandom; cat text; yes abc | head -c 70000; } "
			"> mixed && head -c 32769 /dev/urandom > win", tmp), 0);
	static const char *const files[] = { "empty", "one", "text", "random", "zeros", "mixed",
					     "win" };
	for (int level = 1; level <= 9; level += 4) {
		for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++) {
			TU_EQ_INT(tu_sh("cd %s && gzip -n -%d -c %s > %s.gz", tmp, level,
					files[i], files[i]), 0);
			check_gzip_file(files[i]);
		}
	}
	/* gzip without -n stores the file name (FNAME) */
	TU_EQ_INT(tu_sh("cd %s && gzip -c text > text.gz", tmp), 0);
	check_gzip_file("text");
	/* two members, as cat a.gz b.gz */
	TU_EQ_INT(tu_sh("cd %s && cat text one > two && { gzip -n -c text; gzip -n -c one; } "
			"> two.gz", tmp), 0);
	check_gzip_file("two");
}

/* Python's zlib with strategies gzip does not use: fixed Huffman, RLE, Huffman only. */
static void test_zlib_strategies(void)
{
	if (!tu_have("python3") ||
	    tu_sh("python3 -c 'import zlib, gzip' 2>/dev/null") != 0) {
		printf("skip: no python3 zlib\n");
		return;
	}
	for (int strategy = 1; strategy <= 4; strategy++) {
		TU_EQ_INT(tu_sh("cd %s && python3 -c 'import zlib,sys,struct\n"
				"d=open(\"mixed\",\"rb\").read()\n"
				"c=zlib.compressobj(6,zlib.DEFLATED,-15,9,%d)\n"
				"z=c.compress(d)+c.flush()\n"
				"h=bytes([0x1f,0x8b,8,0,0,0,0,0,0,255])\n"
				"t=struct.pack(\"<II\",zlib.crc32(d),len(d)&0xffffffff)\n"
				"open(\"mixed.gz\",\"wb\").write(h+z+t)'", tmp, strategy), 0);
		check_gzip_file("mixed");
	}
}

static uint8_t *read_tmp(const char *name, size_t *len)
{
	char *p = tu_join(tmp, name);
	uint8_t *d = tu_read_file(p, len);
	free(p);
	return d;
}

static int gz(const uint8_t *in, size_t len, size_t max, const char **why)
{
	uint8_t *out = NULL;
	size_t n;
	int rc = inflate_gzip(in, len, max, &out, &n, why);
	free(out);
	return rc;
}

static void test_gzip_errors(void)
{
	if (!tu_have("gzip"))
		return;
	size_t len;
	const char *why;
	TU_EQ_INT(tu_sh("cd %s && seq 1 1000 | gzip -n > s.gz", tmp), 0);
	uint8_t *d = read_tmp("s.gz", &len), *c = malloc(len + 16);

	TU_EQ_INT(gz(d, len, 1u << 20, &why), 0);
	TU_EQ_INT(gz(d, len, 3893, &why), 0);		/* seq 1 1000: 3893 bytes */
	TU_EQ_INT(gz(d, len, 3892, &why), -EFBIG);
	TU_EQ_INT(gz((const uint8_t *)"hello", 5, 100, &why), -EBADMSG);
	TU_EQ_STR(why, "not gzip data");
	for (size_t cut = 0; cut < len; cut += 7) {	/* every truncation fails cleanly */
		int rc = gz(d, cut, 1u << 20, &why);
		TU_EQ_INT(rc, -EBADMSG);
	}
	memcpy(c, d, len);
	c[len - 8] ^= 1;
	TU_EQ_INT(gz(c, len, 1u << 20, &why), -EBADMSG);
	TU_EQ_STR(why, "gzip CRC mismatch");
	memcpy(c, d, len);
	c[len - 4] ^= 1;
	TU_EQ_INT(gz(c, len, 1u << 20, &why), -EBADMSG);
	TU_EQ_STR(why, "gzip length mismatch");
	memcpy(c, d, len);
	memcpy(c + len, "junk", 4);
	TU_EQ_INT(gz(c, len + 4, 1u << 20, &why), -EBADMSG);
	TU_EQ_STR(why, "data after the gzip stream");
	memcpy(c, d, len);
	c[2] = 7;
	TU_EQ_INT(gz(c, len, 1u << 20, &why), -EBADMSG);
	TU_EQ_STR(why, "unsupported gzip method or flags");
	/* FEXTRA and FHCRC, which gzip never writes: insert them by hand */
	c[0] = 0x1f, c[1] = 0x8b, c[2] = 8, c[3] = 4 | 2;
	memcpy(c + 4, d + 4, 6);
	c[10] = 3, c[11] = 0, c[12] = 'a', c[13] = 'b', c[14] = 'c';	/* XLEN 3 */
	c[15] = 0x12, c[16] = 0x34;					/* header CRC */
	memcpy(c + 17, d + 10, len - 10);
	TU_EQ_INT(gz(c, len + 7, 1u << 20, &why), 0);
	c[10] = 200;	/* XLEN past the end */
	TU_EQ_INT(gz(c, 14, 1u << 20, &why), -EBADMSG);
	TU_EQ_STR(why, "truncated gzip header");
	free(c);
	free(d);
}

/* Flip every bit of a real stream in turn: no crash, no overrun (ASan watches), and
 * whatever is accepted (a flip in the padding after the last block) is the original. */
static void test_gzip_corruption(void)
{
	if (!tu_have("gzip"))
		return;
	size_t len, olen, n;
	const char *why;
	TU_EQ_INT(tu_sh("cd %s && { seq 1 300; head -c 200 /dev/urandom; } > c && "
			"gzip -n -9 -c c > c.gz", tmp), 0);
	uint8_t *d = read_tmp("c.gz", &len), *orig = read_tmp("c", &olen), *out;
	int accepted = 0;
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			d[i] ^= (uint8_t)(1 << bit);
			if (inflate_gzip(d, len, 1u << 20, &out, &n, &why) == 0) {
				accepted++;
				TU_CHECK(n == olen && memcmp(out, orig, n) == 0);
				free(out);
			}
			d[i] ^= (uint8_t)(1 << bit);
		}
	}
	/* FTEXT, MTIME, XFL, OS and the padding bits may change; nothing else */
	TU_CHECK(accepted <= 1 + 6 * 8 + 7);
	free(d);
	free(orig);
}

int main(void)
{
	tmp = tu_tmpdir();
	TU_RUN(test_crc32);
	TU_RUN(test_handmade_good);
	TU_RUN(test_handmade_bad);
	TU_RUN(test_gzip_tool);
	TU_RUN(test_zlib_strategies);
	TU_RUN(test_gzip_errors);
	TU_RUN(test_gzip_corruption);
	tu_rmrf(tmp);
	free(tmp);
	return TU_EXIT();
}
