/* libcurl's multi socket API on the ev loop: curl tells us which sockets to watch and
 * when to wake it (sock_cb, timer_cb); the loop hands readiness back to curl, and every
 * finished transfer is reported to its owner from the loop, never from inside curl. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <curl/curl.h>

#include "http.h"
#include "log.h"
#include "version.h"

struct xfer {
	struct http *h;
	CURL *easy;
	long id;
	http_done_fn *done;
	void *arg;
	struct curl_slist *hdrs;
	char *buf;
	size_t len, cap, max;
	int too_big;
	char err[CURL_ERROR_SIZE];
	struct xfer *prev, *next;
};

struct http {
	struct ev_loop *loop;
	CURLM *multi;
	long timer;		/* the ev timer curl asked for, 0 when none */
	long next_id;
	int n;
	struct xfer *list;
};

static void check_done(struct http *h);

static void on_fd(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct http *h = arg;
	int flags = 0, running;
	(void)loop;
	if (events & (EPOLLIN | EPOLLHUP))
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & EPOLLERR)
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(h->multi, fd, flags, &running);
	check_done(h);
}

static int sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct http *h = userp;
	(void)easy;
	(void)socketp;
	if (what == CURL_POLL_REMOVE) {
		ev_unwatch(h->loop, s);
		return 0;
	}
	uint32_t ev = 0;
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		ev |= EPOLLIN;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		ev |= EPOLLOUT;
	/* -1 would make curl give up on the whole multi handle and never report its
	 * transfers; unwatched, this one still ends by its timeout. */
	int rc = ev_watch(h->loop, s, ev, on_fd, h);
	if (rc < 0)
		log_warnx("http: cannot watch a socket: %s", strerror(-rc));
	return 0;
}

static void on_timer(struct ev_loop *loop, void *arg)
{
	struct http *h = arg;
	int running;
	(void)loop;
	h->timer = 0;
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(h);
}

/* curl wants to be woken after timeout_ms (-1: never). Acting on it here would re-enter
 * curl, so even 0 goes through the loop. */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct http *h = userp;
	(void)multi;
	if (h->timer)
		ev_cancel(h->loop, h->timer);
	h->timer = 0;
	if (timeout_ms >= 0) {
		long id = ev_timer(h->loop, (uint64_t)timeout_ms, on_timer, h);
		if (id < 0)	/* see sock_cb: never -1 */
			log_warnx("http: cannot set a timer: %s", strerror((int)-id));
		else
			h->timer = id;
	}
	return 0;
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;
	if (len > x->max - x->len) {
		x->too_big = 1;
		return 0;	/* CURLE_WRITE_ERROR */
	}
	if (x->len + len + 1 > x->cap) {
		size_t cap = x->cap ? x->cap : 4096;
		while (cap < x->len + len + 1)
			cap *= 2;
		char *nb = realloc(x->buf, cap);
		if (!nb)
			return 0;
		x->buf = nb;
		x->cap = cap;
	}
	memcpy(x->buf + x->len, p, len);
	x->len += len;
	x->buf[x->len] = '\0';
	return len;
}

static void xfer_free(struct xfer *x)
{
	struct http *h = x->h;
	if (x->prev)
		x->prev->next = x->next;
	else
		h->list = x->next;
	if (x->next)
		x->next->prev = x->prev;
	h->n--;
	curl_multi_remove_handle(h->multi, x->easy);
	curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->hdrs);
	free(x->buf);
	free(x);
}

static int map_error(struct xfer *x, CURLcode rc)
{
	long os = 0;
	switch (rc) {
	case CURLE_OK:
		return 0;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_WRITE_ERROR:
		return x->too_big ? -EMSGSIZE : -ENOMEM;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return -EINVAL;
	case CURLE_COULDNT_CONNECT:
		curl_easy_getinfo(x->easy, CURLINFO_OS_ERRNO, &os);
		return os > 0 ? -(int)os : -ECONNREFUSED;
	default:
		return -EIO;
	}
}

static void finish(struct xfer *x, CURLcode rc)
{
	struct http_resp r = { .id = x->id };
	r.code = map_error(x, rc);
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r.status);
	if (r.code == 0) {
		r.body = x->buf ? x->buf : calloc(1, 1);
		r.len = x->len;
		x->buf = NULL;
		if (!r.body)
			r.code = -ENOMEM;
	}
	if (r.code == -EMSGSIZE)
		snprintf(r.error, sizeof(r.error), "answer longer than %zu bytes", x->max);
	else if (r.code)
		snprintf(r.error, sizeof(r.error), "%s", x->err[0] ? x->err :
			 curl_easy_strerror(rc));
	http_done_fn *done = x->done;
	void *arg = x->arg;
	xfer_free(x);
	done(arg, &r);
	free(r.body);
}

static void check_done(struct http *h)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(h->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct xfer *x = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		if (x)
			finish(x, m->data.result);
	}
}

struct http *http_new(struct ev_loop *loop)
{
	static int inited;
	if (!inited && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		errno = ENOMEM;
		return NULL;
	}
	inited = 1;
	struct http *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->loop = loop;
	h->multi = curl_multi_init();
	if (!h->multi) {
		free(h);
		errno = ENOMEM;
		return NULL;
	}
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	return h;
}

void http_free(struct http *h)
{
	if (!h)
		return;
	while (h->list)
		xfer_free(h->list);
	if (h->timer)
		ev_cancel(h->loop, h->timer);
	curl_multi_cleanup(h->multi);
	free(h);
}

static const char *user_agent(void)
{
	static char ua[80];
	if (!ua[0])
		snprintf(ua, sizeof(ua), "cabin/%s", cabin_version);
	return ua;
}

static int setup(struct xfer *x, const struct http_req *req)
{
	CURL *e = x->easy;
	int bad = 0;
	for (const char *const *p = req->headers; p && *p; p++) {
		struct curl_slist *l = curl_slist_append(x->hdrs, *p);
		if (!l)
			return -ENOMEM;
		x->hdrs = l;
	}
	bad |= curl_easy_setopt(e, CURLOPT_URL, req->url);
	bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	bad |= curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
	bad |= curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->err);
	bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, user_agent());
	bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
	if (req->connect_timeout_ms)
		bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)req->connect_timeout_ms);
	if (x->hdrs)
		bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
	if (req->unix_socket)
		bad |= curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, req->unix_socket);
	if (req->body) {
		bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		bad |= curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req->body);
	}
	if (req->method && strcmp(req->method, "HEAD") == 0)
		bad |= curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	else if (req->method)
		bad |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
	return bad ? -EINVAL : 0;
}

long http_start(struct http *h, const struct http_req *req, http_done_fn *done, void *arg)
{
	if (!req->url || !done)
		return -EINVAL;
	struct xfer *x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->h = h;
	x->done = done;
	x->arg = arg;
	x->max = req->max_body ? req->max_body : HTTP_BODY_MAX_DEFAULT;
	x->easy = curl_easy_init();
	int rc = x->easy ? setup(x, req) : -ENOMEM;
	if (rc == 0 && curl_multi_add_handle(h->multi, x->easy) != CURLM_OK)
		rc = -ENOMEM;
	if (rc < 0) {
		curl_easy_cleanup(x->easy);
		curl_slist_free_all(x->hdrs);
		free(x);
		return rc;
	}
	x->id = ++h->next_id;
	x->next = h->list;
	if (h->list)
		h->list->prev = x;
	h->list = x;
	h->n++;
	return x->id;
}

void http_cancel(struct http *h, long id)
{
	for (struct xfer *x = h->list; x; x = x->next)
		if (x->id == id) {
			xfer_free(x);
			return;
		}
}

int http_pending(const struct http *h)
{
	return h->n;
}
