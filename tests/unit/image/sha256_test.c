/* Tests image/sha256.c against the FIPS 180-4 / NIST example vectors, split updates, and
 * sha256sum(1) on a file larger than the read buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../image/img.h"
#include "../testutil.h"
#include "imgtest.h"

static void hex_of(const void *data, size_t len, char hex[IMG_SHA256_HEX])
{
	struct img_sha256 ctx;
	uint8_t d[IMG_SHA256_LEN];

	img_sha256_init(&ctx);
	img_sha256_update(&ctx, data, len);
	img_sha256_final(&ctx, d);
	img_sha256_hex(d, hex);
}

static void test_vectors(void)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
		{"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklm"
		 "nopqrlmnopqrsmnopqrstnopqrstu",
		 "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
	};
	char hex[IMG_SHA256_HEX];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		hex_of(v[i].in, strlen(v[i].in), hex);
		TU_EQ_STR(hex, v[i].out);
	}
}

static void test_million_a(void)
{
	struct img_sha256 ctx;
	uint8_t d[IMG_SHA256_LEN], chunk[1000];
	char hex[IMG_SHA256_HEX];

	memset(chunk, 'a', sizeof(chunk));
	img_sha256_init(&ctx);
	for (int i = 0; i < 1000; i++)
		img_sha256_update(&ctx, chunk, sizeof(chunk));
	img_sha256_final(&ctx, d);
	img_sha256_hex(d, hex);
	TU_EQ_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Every length 0..200 split at every point must hash like the one-shot update. */
static void test_split_updates(void)
{
	uint8_t msg[200];
	char whole[IMG_SHA256_HEX], split[IMG_SHA256_HEX];
	int bad = 0;

	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7 + 3);
	for (size_t len = 0; len <= sizeof(msg); len++) {
		hex_of(msg, len, whole);
		for (size_t cut = 0; cut <= len; cut++) {
			struct img_sha256 ctx;
			uint8_t d[IMG_SHA256_LEN];

			img_sha256_init(&ctx);
			img_sha256_update(&ctx, msg, cut);
			img_sha256_update(&ctx, msg + cut, len - cut);
			img_sha256_final(&ctx, d);
			img_sha256_hex(d, split);
			bad += strcmp(whole, split) != 0;
		}
	}
	TU_EQ_INT(bad, 0);
}

static void test_file_vs_sha256sum(void)
{
	char *dir = tu_tmpdir(), *path = tu_join(dir, "blob"), *out;
	char hex[IMG_SHA256_HEX];
	struct img_err err = {""};
	size_t len = 300001;
	uint8_t *buf = malloc(len);

	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 2654435761u >> 13);
	TU_EQ_INT(tu_write_file(path, buf, len), 0);
	TU_EQ_INT(img_sha256_file(path, hex, &err), 0);
	out = tu_sh_out("sha256sum '%s'", path);
	TU_CHECK(out && strncmp(out, hex, 64) == 0);
	TU_CHECK(img_sha256_file("/nonexistent/x", hex, &err) < 0);
	TU_CHECK(strstr(err.msg, "/nonexistent/x") != NULL);
	free(out);
	free(buf);
	tu_rmrf(dir);
	free(path);
	free(dir);
}

int main(void)
{
	TU_RUN(test_vectors);
	TU_RUN(test_million_a);
	TU_RUN(test_split_updates);
	if (!tu_have("sha256sum"))
		TU_SKIP("test_file_vs_sha256sum: no sha256sum (Debian package coreutils)");
	TU_RUN(test_file_vs_sha256sum);
	return TU_EXIT();
}
