/* HTTP requests for cabind, carried out by libcurl's multi socket API from the one event
 * loop: curl's sockets and its timer are watched by ev, so requests never block the
 * loop. The metadata service, remote configuration and, later, the Docker API use it. */
#ifndef CABIN_HTTP_H
#define CABIN_HTTP_H

#include <stddef.h>

#include "ev.h"

#define HTTP_BODY_MAX_DEFAULT (16u << 20)

struct http;

/* Redirects (at most 5, to http or https) are followed. */
struct http_req {
	const char *method;		/* NULL: GET, or POST when body is set */
	const char *url;
	const char *const *headers;	/* NULL-terminated "Name: value" lines, or NULL */
	const void *body;		/* request body, copied by http_start; NULL: none */
	size_t body_len;
	const char *unix_socket;	/* connect to this socket instead of the URL's host */
	unsigned timeout_ms;		/* the whole transfer; 0: no limit */
	unsigned connect_timeout_ms;	/* 0: curl's default */
	size_t max_body;		/* longer answers fail with -EMSGSIZE; 0: 16 MiB */
};

struct http_resp {
	long id;			/* what http_start returned */
	int code;			/* 0, or why there is no answer: -ETIMEDOUT, -ECONNREFUSED,
					 * -EHOSTUNREACH, -EMSGSIZE, -ENOMEM, -EINVAL (a URL curl
					 * cannot use), -EIO (other) */
	long status;			/* the HTTP status; 0 when no answer came */
	char *body;			/* the answer's body, NUL-terminated (not counted in len);
					 * the callback may keep it by setting body to NULL */
	size_t len;
	char error[256];		/* curl's description when code != 0 */
};

/* Called once per request, from the loop, when it ends for any reason but cancellation. */
typedef void http_done_fn(void *arg, struct http_resp *resp);

/* A client on loop. Returns NULL with errno set. */
struct http *http_new(struct ev_loop *loop);
/* Cancels every request in flight (their callbacks are not called) and frees h. Not from
 * inside a done callback. */
void http_free(struct http *h);
/* Starts a request; the strings in req need only live until it returns. Returns an id
 * (> 0) or -ENOMEM / -EINVAL. done is never called from inside http_start. */
long http_start(struct http *h, const struct http_req *req, http_done_fn *done, void *arg);
/* Cancels a request in flight; unknown or finished ids are ignored. */
void http_cancel(struct http *h, long id);
/* How many requests are in flight. */
int http_pending(const struct http *h);

#endif
