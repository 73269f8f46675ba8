/* libFuzzer driver for the gateway's HTTP/1.1 request parsing: the input is a request
 * head and body; the body is decoded in place twice, all at once and in pieces of a size
 * taken from the first byte, and both ways must agree on the bytes, the end and any
 * error. */
#include <stdlib.h>
#include <string.h>

#include "../../kv/http1.h"

#define CHECK(x)                 \
	do {                     \
		if (!(x))        \
			abort(); \
	} while (0)

struct result {
	char *out;
	size_t out_len, used;
	int done, failed;
};

/* Decodes in (len bytes) handing it over step bytes at a time. */
static void decode(const struct h1_req *req, const char *in, size_t len, size_t step,
		   struct result *res)
{
	char *buf = malloc(len + 1);
	struct h1_body b;
	size_t have = 0, fed = 0;
	const char *err = NULL;
	CHECK(buf);
	res->out = malloc(len + 1);
	CHECK(res->out);
	res->out_len = res->used = 0;
	res->failed = 0;
	h1_body_init(&b, req);
	while (!b.done && fed < len) {
		size_t n = len - fed < step ? len - fed : step;
		memcpy(buf + have, in + fed, n);
		have += n;
		fed += n;
		size_t got = 0;
		ssize_t u = h1_body_feed(&b, buf, have, buf, &got, &err);
		if (u < 0) {
			CHECK(err != NULL);
			res->failed = 1;
			break;
		}
		CHECK((size_t)u <= have && got <= (size_t)u);
		memcpy(res->out + res->out_len, buf, got);
		res->out_len += got;
		memmove(buf, buf + u, have - (size_t)u);
		have -= (size_t)u;
		res->used += (size_t)u;
	}
	res->done = b.done;
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *text = (const char *)data + 1;
	size_t len = size - 1, step = data[0] % 17 + 1;
	struct h1_req req;
	const char *err = NULL;
	int n = h1_parse_head(text, len, &req, &err);
	if (n <= 0) {
		CHECK(n == 0 || err != NULL);
		return 0;
	}
	CHECK((size_t)n <= len && req.method[0] && req.path[0]);
	struct result whole, pieces;
	decode(&req, text + n, len - (size_t)n, len - (size_t)n + 1, &whole);
	decode(&req, text + n, len - (size_t)n, step, &pieces);
	CHECK(whole.failed == pieces.failed);
	if (!whole.failed) {
		CHECK(whole.done == pieces.done && whole.out_len == pieces.out_len &&
		      memcmp(whole.out, pieces.out, whole.out_len) == 0);
		if (whole.done)
			CHECK(whole.used == pieces.used);
	}
	free(whole.out);
	free(pieces.out);
	return 0;
}
