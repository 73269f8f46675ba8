/* The JSON gateway's HTTP/1.1 request side with no I/O: a request head, and its body,
 * Content-Length or chunked, decoded as it arrives (a streaming route reads the body of
 * a request while it answers). Bytes in, parsed pieces out. */
#ifndef CABIN_KV_HTTP1_H
#define CABIN_KV_HTTP1_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define H1_HEAD_MAX 16384	/* a longer head is refused (431) */

enum h1_err {
	H1_EBAD = -1,		/* malformed: 400 */
	H1_ETOOLARGE = -2,	/* the head is longer than H1_HEAD_MAX: 431 */
	H1_EENCODING = -3,	/* a transfer coding other than chunked: 501 */
};

struct h1_req {
	char method[16];
	char path[1024];	/* without the query */
	int http10;		/* an HTTP/1.0 request: its answer cannot be chunked */
	int keep_alive;		/* HTTP/1.1 unless "Connection: close"; 1.0 with keep-alive */
	int chunked;		/* Transfer-Encoding: chunked */
	int expect_continue;	/* Expect: 100-continue (curl's, for a body of unknown size) */
	uint64_t content_length;
};

/* Parses the request head at the start of buf (len bytes). Returns the head's length,
 * through its empty line; 0 when it is not all there yet; or an h1_err with *err saying
 * why. */
int h1_parse_head(const char *buf, size_t len, struct h1_req *req, const char **err);

/* A request body being read. */
struct h1_body {
	int chunked;
	int state;		/* chunked: which part of the framing comes next */
	uint64_t left;		/* bytes of body (or of the current chunk) still to come */
	int done;		/* the body has ended */
};

void h1_body_init(struct h1_body *b, const struct h1_req *req);
/* Takes body bytes from in (len bytes) and writes what they carry to out, which has room
 * for len bytes (decoding never grows the body; out may be in). Returns the bytes of in
 * used (it stops at the end of the body: the rest belongs to the next request) with the
 * body's bytes in *out_len, or H1_EBAD with *err. A partial chunk-size line stays in in. */
ssize_t h1_body_feed(struct h1_body *b, const char *in, size_t len, char *out, size_t *out_len,
		     const char **err);

#endif
