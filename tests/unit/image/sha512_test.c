/* Tests image/sha512.c against the FIPS 180-4 / NIST example vectors, a million 'a', the
 * padding boundary (111 and 112 bytes, one block or two) and split updates. */
#include <stdint.h>
#include <string.h>

#include "../../../image/img.h"
#include "../testutil.h"

static void hex_of(const void *data, size_t len, char hex[IMG_SHA512_HEX])
{
	struct img_sha512 ctx;
	uint8_t d[IMG_SHA512_LEN];

	img_sha512_init(&ctx);
	img_sha512_update(&ctx, data, len);
	img_sha512_final(&ctx, d);
	img_sha512_hex(d, hex);
}

static void test_vectors(void)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{"", "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
		     "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"},
		{"abc", "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
			"2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
		{"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklm"
		 "nopqrlmnopqrsmnopqrstnopqrstu",
		 "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
		 "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909"},
	};
	char hex[IMG_SHA512_HEX];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		hex_of(v[i].in, strlen(v[i].in), hex);
		TU_EQ_STR(hex, v[i].out);
	}
}

static void test_million_a(void)
{
	struct img_sha512 ctx;
	uint8_t d[IMG_SHA512_LEN], chunk[1000];
	char hex[IMG_SHA512_HEX];

	memset(chunk, 'a', sizeof(chunk));
	img_sha512_init(&ctx);
	for (int i = 0; i < 1000; i++)
		img_sha512_update(&ctx, chunk, sizeof(chunk));
	img_sha512_final(&ctx, d);
	img_sha512_hex(d, hex);
	TU_EQ_STR(hex, "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
		       "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b");
}

/* 111 bytes leave room for the padding in the last block, 112 do not. */
static void test_padding_boundary(void)
{
	uint8_t msg[112];
	char hex[IMG_SHA512_HEX];

	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7 + 3);
	hex_of(msg, 111, hex);
	TU_EQ_STR(hex, "68cffa6d0d76f309c9ce0d35280939f8e25990c43b7b086ccdf709be35b07d4d"
		       "dba599541ff2b1c19d34ea49aeafb9659adb7ac3c0b078bb30a22d57fc6687ef");
	hex_of(msg, 112, hex);
	TU_EQ_STR(hex, "d0865c524d1dddf7c23b799c413f5adcd7caefd3f66a9b49750ec81066012c25"
		       "a8bcf94ddea6dc525691673097ca40e0101e897fc97218cfdb0704084e2bef4b");
}

/* Every length 0..300 split at every point must hash like the one-shot update. */
static void test_split_updates(void)
{
	uint8_t msg[300];
	char whole[IMG_SHA512_HEX], split[IMG_SHA512_HEX];
	int bad = 0;

	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 13 + 5);
	for (size_t len = 0; len <= sizeof(msg); len++) {
		hex_of(msg, len, whole);
		for (size_t cut = 0; cut <= len; cut++) {
			struct img_sha512 ctx;
			uint8_t d[IMG_SHA512_LEN];

			img_sha512_init(&ctx);
			img_sha512_update(&ctx, msg, cut);
			img_sha512_update(&ctx, msg + cut, len - cut);
			img_sha512_final(&ctx, d);
			img_sha512_hex(d, split);
			bad += strcmp(whole, split) != 0;
		}
	}
	TU_EQ_INT(bad, 0);
}

int main(void)
{
	TU_RUN(test_vectors);
	TU_RUN(test_million_a);
	TU_RUN(test_padding_boundary);
	TU_RUN(test_split_updates);
	return TU_EXIT();
}
