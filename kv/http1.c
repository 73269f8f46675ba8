/* HTTP/1.1 requests for the JSON gateway: the head's request line and the few headers it
 * acts on, and the body's framing (RFC 9112: Content-Length, or chunked with extensions
 * and trailers, which are skipped). Pure: the gateway's shell owns the socket. */
#include <string.h>
#include <strings.h>

#include "http1.h"

#define LINE_MAX 4096	/* a chunk-size or trailer line */

enum { CH_SIZE, CH_DATA, CH_DATA_END, CH_TRAILER };

/* The value of header name in the head (lines from the second on), or NULL. */
static const char *header(const char *head, const char *end, const char *name, size_t *vlen)
{
	size_t n = strlen(name);
	const char *p = memmem(head, (size_t)(end - head), "\r\n", 2);
	while (p && p + 2 < end) {
		const char *line = p + 2;
		const char *eol = memmem(line, (size_t)(end - line), "\r\n", 2);
		if (!eol)
			eol = end;
		if ((size_t)(eol - line) > n && strncasecmp(line, name, n) == 0 && line[n] == ':') {
			const char *v = line + n + 1;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			const char *ve = eol;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			*vlen = (size_t)(ve - v);
			return v;
		}
		p = eol < end ? eol : NULL;
	}
	return NULL;
}

static int is(const char *v, size_t vl, const char *word)
{
	return vl == strlen(word) && strncasecmp(v, word, vl) == 0;
}

/* The request line: METHOD SP TARGET SP HTTP/1.x. Returns the minor version or -1. */
static int request_line(const char *p, const char *eol, struct h1_req *req)
{
	const char *sp1 = memchr(p, ' ', (size_t)(eol - p));
	const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
	if (!sp2 || sp1 == p || (size_t)(sp1 - p) >= sizeof(req->method) ||
	    sp2 == sp1 + 1 || (size_t)(sp2 - sp1 - 1) >= sizeof(req->path))
		return -1;
	if (eol - sp2 - 1 != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
	    (sp2[8] != '0' && sp2[8] != '1'))
		return -1;
	for (const char *m = p; m < sp1; m++)	/* letters: the methods there are */
		if (!((*m >= 'A' && *m <= 'Z') || (*m >= 'a' && *m <= 'z')))
			return -1;
	if (sp1[1] != '/')	/* origin-form only: the gateway is no proxy */
		return -1;
	for (const char *t = sp1 + 1; t < sp2; t++)	/* visible ASCII */
		if ((unsigned char)*t <= ' ' || (unsigned char)*t >= 0x7f)
			return -1;
	memcpy(req->method, p, (size_t)(sp1 - p));
	req->method[sp1 - p] = '\0';
	size_t plen = (size_t)(sp2 - sp1 - 1);
	const char *q = memchr(sp1 + 1, '?', plen);
	if (q)
		plen = (size_t)(q - sp1 - 1);
	memcpy(req->path, sp1 + 1, plen);
	req->path[plen] = '\0';
	return sp2[8] - '0';
}

int h1_parse_head(const char *buf, size_t len, struct h1_req *req, const char **err)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4);
	if (!end) {
		*err = "request head too large";
		return len > H1_HEAD_MAX ? H1_ETOOLARGE : 0;
	}
	end += 2;	/* the head's lines, each ending in CRLF */
	memset(req, 0, sizeof(*req));
	int minor = request_line(buf, memmem(buf, (size_t)(end - buf), "\r\n", 2), req);
	if (minor < 0) {
		*err = "malformed request line";
		return H1_EBAD;
	}
	size_t vl;
	const char *v = header(buf, end, "Connection", &vl);
	req->http10 = minor == 0;
	req->keep_alive = minor == 1 ? !(v && is(v, vl, "close")) : v && is(v, vl, "keep-alive");
	v = header(buf, end, "Expect", &vl);
	req->expect_continue = minor == 1 && v && is(v, vl, "100-continue");
	if ((v = header(buf, end, "Transfer-Encoding", &vl))) {
		if (!is(v, vl, "chunked")) {
			*err = "unsupported transfer encoding";
			return H1_EENCODING;
		}
		req->chunked = 1;
	} else if ((v = header(buf, end, "Content-Length", &vl))) {
		uint64_t n = 0;
		for (size_t i = 0; i < vl; i++) {
			if (v[i] < '0' || v[i] > '9' || n > UINT64_MAX / 20) {
				*err = "bad Content-Length";
				return H1_EBAD;
			}
			n = n * 10 + (uint64_t)(v[i] - '0');
		}
		if (!vl) {
			*err = "bad Content-Length";
			return H1_EBAD;
		}
		req->content_length = n;
	}
	return (int)(end + 2 - buf);
}

void h1_body_init(struct h1_body *b, const struct h1_req *req)
{
	memset(b, 0, sizeof(*b));
	b->chunked = req->chunked;
	b->state = CH_SIZE;
	b->left = req->chunked ? 0 : req->content_length;
	b->done = !req->chunked && req->content_length == 0;
}

/* One framing line of a chunked body at in: its length through CRLF, 0 if incomplete,
 * or H1_EBAD when too long. */
static ssize_t line_len(const char *in, size_t len)
{
	const char *eol = memmem(in, len < LINE_MAX ? len : LINE_MAX, "\r\n", 2);
	if (eol)
		return eol + 2 - in;
	return len >= LINE_MAX ? H1_EBAD : 0;
}

static ssize_t chunk_size(struct h1_body *b, const char *in, size_t n, const char **err)
{
	uint64_t v = 0;
	size_t i = 0;
	for (; i < n - 2; i++) {
		char ch = in[i];
		int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 :
			ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
		if (d < 0)
			break;
		if (v >> 60) {
			*err = "chunk size too large";
			return H1_EBAD;
		}
		v = v << 4 | (uint64_t)d;
	}
	if (i == 0 || (i < n - 2 && in[i] != ';' && in[i] != ' ' && in[i] != '\t')) {
		*err = "bad chunk size";
		return H1_EBAD;
	}
	b->left = v;
	b->state = v ? CH_DATA : CH_TRAILER;
	return (ssize_t)n;
}

static ssize_t feed_chunked(struct h1_body *b, const char *in, size_t len, char *out,
			    size_t *out_len, const char **err)
{
	size_t off = 0;
	while (!b->done && off < len) {
		if (b->state == CH_DATA) {
			size_t n = len - off < b->left ? len - off : (size_t)b->left;
			memmove(out + *out_len, in + off, n);
			*out_len += n;
			off += n;
			if (!(b->left -= n))
				b->state = CH_DATA_END;
			continue;
		}
		ssize_t n = line_len(in + off, len - off);
		if (n == 0)
			break;
		if (n < 0) {
			*err = "chunk framing line too long";
			return H1_EBAD;
		}
		if (b->state == CH_SIZE) {
			if (chunk_size(b, in + off, (size_t)n, err) < 0)
				return H1_EBAD;
		} else if (b->state == CH_DATA_END) {
			if (n != 2) {
				*err = "chunk data longer than its size";
				return H1_EBAD;
			}
			b->state = CH_SIZE;
		} else if (n == 2) {
			b->done = 1;	/* the empty line after the last chunk and its trailers */
		}
		off += (size_t)n;
	}
	return (ssize_t)off;
}

ssize_t h1_body_feed(struct h1_body *b, const char *in, size_t len, char *out, size_t *out_len,
		     const char **err)
{
	*out_len = 0;
	if (b->chunked)
		return feed_chunked(b, in, len, out, out_len, err);
	size_t n = len < b->left ? len : (size_t)b->left;
	memmove(out, in, n);
	*out_len = n;
	b->left -= n;
	b->done = b->left == 0;
	return (ssize_t)n;
}
