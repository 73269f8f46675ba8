/* The gateway's HTTP/1.1 request parsing: heads (keep-alive rules, the body's framing,
 * the errors), and bodies decoded whole or a byte at a time, in place. */
#include <errno.h>

#include "../../../kv/http1.h"
#include "../testutil.h"

static int head(const char *text, struct h1_req *r)
{
	const char *err = NULL;
	return h1_parse_head(text, strlen(text), r, &err);
}

static void test_heads(void)
{
	struct h1_req r;
	const char *a = "POST /v3/watch?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n\r\n{}";
	TU_EQ_INT(head(a, &r), strlen(a) - 2);
	TU_EQ_STR(r.method, "POST");
	TU_EQ_STR(r.path, "/v3/watch");
	TU_EQ_INT(r.keep_alive, 1);
	TU_EQ_INT(r.chunked, 0);
	TU_EQ_INT(r.content_length, 12);
	TU_EQ_INT(r.expect_continue, 0);
	TU_EQ_INT(head("GET / HTTP/1.1\r\nconnection:  Close \r\n\r\n", &r), 39);
	TU_EQ_INT(r.keep_alive, 0);
	TU_EQ_INT(head("GET / HTTP/1.0\r\n\r\n", &r), 18);
	TU_EQ_INT(r.keep_alive, 0);
	TU_EQ_INT(r.http10, 1);
	TU_EQ_INT(head("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r), 42);
	TU_EQ_INT(r.keep_alive, 1);
	TU_EQ_INT(head("POST /v3/lease/keepalive HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
		       "Content-Length: 5\r\nExpect: 100-continue\r\n\r\n", &r), 106);
	TU_EQ_INT(r.chunked, 1);
	TU_EQ_INT(r.expect_continue, 1);
	TU_EQ_INT(r.content_length, 0);	/* chunked wins */
	/* not all there yet */
	TU_EQ_INT(head("POST /v3/kv/put HTTP/1.1\r\nContent-Length: 5\r\n", &r), 0);
	TU_EQ_INT(head("", &r), 0);
}

static void test_head_errors(void)
{
	struct h1_req r;
	TU_EQ_INT(head("GET /\r\n\r\n", &r), H1_EBAD);
	TU_EQ_INT(head("GET / HTTP/2.0\r\n\r\n", &r), H1_EBAD);
	TU_EQ_INT(head("GET  HTTP/1.1\r\n\r\n", &r), H1_EBAD);
	TU_EQ_INT(head("G\x01T / HTTP/1.1\r\n\r\n", &r), H1_EBAD);
	TU_EQ_INT(head("GET /a\x7f HTTP/1.1\r\n\r\n", &r), H1_EBAD);
	TU_EQ_INT(head("GET ?a HTTP/1.1\r\n\r\n", &r), H1_EBAD);
	TU_EQ_INT(head("POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", &r), H1_EBAD);
	TU_EQ_INT(head("POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", &r), H1_EBAD);
	TU_EQ_INT(head("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", &r),
		  H1_EBAD);
	TU_EQ_INT(head("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", &r),
		  H1_EENCODING);
	static char big[H1_HEAD_MAX + 100];
	memset(big, 'a', sizeof(big) - 1);
	TU_EQ_INT(head(big, &r), H1_ETOOLARGE);
	char longpath[1100] = "GET /";
	memset(longpath + 5, 'p', 1050);
	strcpy(longpath + 1055, " HTTP/1.1\r\n\r\n");
	TU_EQ_INT(head(longpath, &r), H1_EBAD);
}

/* Decodes body (the bytes after a head like hdr) fed step bytes at a time, as the
 * socket might hand them over. Returns the body bytes (static), NULL on an error;
 * *used gets the input bytes the body took. */
static const char *decode(const char *hdr, const char *body, size_t step, size_t *used)
{
	static char out[8192];
	char in[8192];
	struct h1_req r;
	struct h1_body b;
	size_t in_len = 0, out_len = 0, fed = 0, total = strlen(body);
	const char *err = NULL;
	TU_CHECK(head(hdr, &r) > 0);
	h1_body_init(&b, &r);
	*used = 0;
	while (!b.done && (fed < total || in_len)) {
		size_t n = total - fed < step ? total - fed : step;
		memcpy(in + in_len, body + fed, n);
		in_len += n;
		fed += n;
		size_t got = 0;
		ssize_t u = h1_body_feed(&b, in, in_len, in, &got, &err);	/* in place */
		if (u < 0)
			return NULL;
		memcpy(out + out_len, in, got);
		out_len += got;
		memmove(in, in + u, in_len - (size_t)u);
		in_len -= (size_t)u;
		*used += (size_t)u;
		if (!n && !u)
			break;	/* nothing more will come */
	}
	out[out_len] = '\0';
	return b.done ? out : "(not done)";
}

static void test_bodies(void)
{
	static const char *ch = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
	static const char *cl = "POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\n";
	static const char *chunked = "5\r\n{\"a\":\r\n3;ext=1\r\n1}\n\r\n0\r\nX-T: 1\r\n\r\nGET /";
	size_t used;
	for (size_t step = 1; step <= 64; step *= 2) {
		TU_EQ_STR(decode(ch, chunked, step, &used), "{\"a\":1}\n");
		TU_EQ_INT(used, strlen(chunked) - 5);	/* the next request is left alone */
		TU_EQ_STR(decode(cl, "abcdGET", step, &used), "abcd");
		TU_EQ_INT(used, 4);
	}
	TU_EQ_STR(decode(ch, "A\r\n0123456789\r\n0\r\n\r\n", 3, &used), "0123456789");
	TU_EQ_STR(decode(ch, "3\r\nabc\r\n", 2, &used), "(not done)");
	TU_EQ_STR(decode("GET / HTTP/1.1\r\n\r\n", "GET /", 1, &used), "");
	TU_EQ_INT(used, 0);
	/* framing errors */
	TU_CHECK(decode(ch, "x\r\n", 1, &used) == NULL);
	TU_CHECK(decode(ch, "3\r\nabcd\r\n", 1, &used) == NULL);
	TU_CHECK(decode(ch, "fffffffffffffffff\r\n", 4, &used) == NULL);
	static char longline[5000];
	memset(longline, '1', sizeof(longline) - 1);
	TU_CHECK(decode(ch, longline, 4096, &used) == NULL);
}

int main(void)
{
	TU_RUN(test_heads);
	TU_RUN(test_head_errors);
	TU_RUN(test_bodies);
	return TU_EXIT();
}
