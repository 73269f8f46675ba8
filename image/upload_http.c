/* The blocking HTTP client of `cabin upload`: one libcurl easy handle per request, a body
 * from memory or streamed from a file descriptor (each piece handed to the caller as it
 * goes out, for the hash and the progress bar), the answer's body and the two headers
 * OpenStack puts things in. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "upload.h"

#define BODY_MAX ((size_t)16 << 20)

struct xfer {
	const struct upl_req *r;
	struct upl_resp *resp;
	bool cancelled, too_big, read_failed;
	size_t mem_off;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	struct upl_resp *resp = x->resp;
	size_t len = size * n;

	if (resp->len + len > BODY_MAX) {
		x->too_big = true;
		return 0;
	}
	char *q = realloc(resp->body, resp->len + len + 1);
	if (!q)
		return 0;
	memcpy(q + resp->len, p, len);
	resp->body = q;
	resp->len += len;
	q[resp->len] = 0;
	return len;
}

/* Copies a header's value (trimmed) into out if its name is name. */
static void header(const char *line, size_t len, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);

	if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return;
	const char *v = line + nl + 1, *end = line + len;
	while (v < end && isspace((unsigned char)*v))
		v++;
	while (end > v && isspace((unsigned char)end[-1]))
		end--;
	snprintf(out, outlen, "%.*s", (int)(end - v), v);
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;

	header(p, len, "X-Subject-Token", x->resp->subject_token, sizeof(x->resp->subject_token));
	header(p, len, "OpenStack-image-import-methods", x->resp->import_methods,
	       sizeof(x->resp->import_methods));
	return len;
}

static size_t on_read(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	const struct upl_req *r = x->r;
	size_t want = size * n;
	ssize_t got;

	if (r->fd < 0) {
		got = (ssize_t)(r->len - x->mem_off < want ? r->len - x->mem_off : want);
		memcpy(p, r->body + x->mem_off, (size_t)got);
		x->mem_off += (size_t)got;
		return (size_t)got;
	}
	if (x->resp->sent >= r->size)
		return 0;
	if (r->size - x->resp->sent < want)
		want = (size_t)(r->size - x->resp->sent);
	do
		got = pread(r->fd, p, want, (off_t)x->resp->sent);
	while (got < 0 && errno == EINTR);
	if (got <= 0) {
		x->read_failed = true;
		return CURL_READFUNC_ABORT;
	}
	if (r->sent && r->sent(r->ctx, (const uint8_t *)p, (size_t)got)) {
		x->cancelled = true;
		return CURL_READFUNC_ABORT;
	}
	x->resp->sent += (uint64_t)got;
	return (size_t)got;
}

/* Seeking back (a redirect or an authentication retry re-sends): only to the start. */
static int on_seek(void *arg, curl_off_t off, int origin)
{
	struct xfer *x = arg;

	if (off != 0 || origin != SEEK_SET || x->r->fd >= 0)
		return CURL_SEEKFUNC_CANTSEEK;
	x->mem_off = 0;
	return CURL_SEEKFUNC_OK;
}

static int code_of(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return -ECONNRESET;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_COULDNT_RESOLVE_HOST:
		return -EHOSTUNREACH;
	default:
		return -EIO;
	}
}

int upl_http(const struct upl_http_opts *o, const struct upl_req *r, struct upl_resp *resp)
{
	struct xfer x = { .r = r, .resp = resp };
	struct curl_slist *h = NULL;
	char line[UPL_TOKEN_MAX + 32], cerr[CURL_ERROR_SIZE] = "";
	CURL *c = curl_easy_init();
	CURLcode rc;
	bool body = r->body || r->fd >= 0;

	memset(resp, 0, sizeof(*resp));
	if (!c) {
		snprintf(resp->error, sizeof(resp->error), "out of memory");
		return resp->code = -ENOMEM;
	}
	if (r->token) {
		snprintf(line, sizeof(line), "X-Auth-Token: %s", r->token);
		h = curl_slist_append(h, line);
	}
	if (body) {
		snprintf(line, sizeof(line), "Content-Type: %s",
			 r->content_type ? r->content_type : "application/json");
		h = curl_slist_append(h, line);
	}
	h = curl_slist_append(h, "Accept: application/json");
	h = curl_slist_append(h, "Expect:");	/* no 100-continue round trip */
	curl_easy_setopt(c, CURLOPT_URL, r->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "cabin-upload");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	if (r->timeout_s)
		curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)r->timeout_s);
	if (!r->timeout_s) {	/* a stream: give up only on a connection stalled for a minute */
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
	if (o->cacert && *o->cacert)
		curl_easy_setopt(c, CURLOPT_CAINFO, o->cacert);
	if (o->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (body) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &x);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, &x);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
				 (curl_off_t)(r->fd >= 0 ? r->size : r->len));
	}
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
	if (strcmp(r->method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	if (rc != CURLE_OK) {
		resp->code = x.cancelled ? -ECANCELED : x.read_failed ? -EIO
			     : x.too_big ? -EMSGSIZE : code_of(rc);
		snprintf(resp->error, sizeof(resp->error), "%s",
			 x.cancelled ? "interrupted" : x.read_failed ? "the image could not be read"
			 : x.too_big ? "the answer is too long" : cerr[0] ? cerr
			 : curl_easy_strerror(rc));
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return resp->code;
}

void upl_resp_free(struct upl_resp *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->len = 0;
}
