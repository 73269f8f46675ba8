/* gRPC over HTTP/2 on the ev loop. Each connection owns an nghttp2 server session fed
 * with the bytes we read (mem_recv) and drained into a write buffer (mem_send); each
 * stream is a call whose request bytes are cut into gRPC messages and whose responses
 * wait in a queue that nghttp2 pulls through a data provider, ending with trailers. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#include "../lib/log.h"
#include "grpc.h"
#include "grpc_int.h"
#include "tport.h"

static void conn_flush(struct conn *c);
static void conn_close(struct conn *c);
static void conn_kick(struct conn *c);

/* ---- growable buffers ---- */
static int buf_append(uint8_t **b, size_t *len, size_t *cap, const void *p, size_t n)
{
	if (*len + n > *cap) {
		size_t nc = *cap ? *cap : 1024;
		while (nc < *len + n)
			nc *= 2;
		uint8_t *nb = realloc(*b, nc);
		if (!nb)
			return -ENOMEM;
		*b = nb;
		*cap = nc;
	}
	memcpy(*b + *len, p, n);
	*len += n;
	return 0;
}

/* ---- calls (their life: grpc_call.c) ---- */
/* nghttp2 pulls the queued response bytes; with none left it waits (DEFERRED) until
 * grpc_send or grpc_finish resumes it, and after the last one sends the trailers. */
static nghttp2_ssize read_out(nghttp2_session *h2, int32_t id, uint8_t *buf, size_t len,
			      uint32_t *flags, nghttp2_data_source *src, void *user)
{
	struct grpc_call *call = src->ptr;
	(void)user;
	size_t left = call->out_len - call->out_off;
	if (left == 0 && !call->finished)
		return NGHTTP2_ERR_DEFERRED;
	size_t n = left < len ? left : len;
	memcpy(buf, call->out + call->out_off, n);
	call->out_off += n;
	if (call->out_off == call->out_len)
		call->out_off = call->out_len = 0;
	if (call->out_len == 0 && call->finished) {
		*flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
		char st[12];
		snprintf(st, sizeof(st), "%d", call->status);
		nghttp2_nv trailers[2] = {
			{ (uint8_t *)"grpc-status", (uint8_t *)st, 11, strlen(st),
			  NGHTTP2_NV_FLAG_NONE },
			{ (uint8_t *)"grpc-message", (uint8_t *)(call->message ? call->message : ""),
			  12, call->message ? strlen(call->message) : 0, NGHTTP2_NV_FLAG_NONE },
		};
		nghttp2_submit_trailer(h2, id, trailers, call->message ? 2 : 1);
	}
	return (nghttp2_ssize)n;
}

static void call_start(struct grpc_call *call)
{
	if (call->started)
		return;
	call->started = 1;
	nghttp2_nv hdrs[2] = {
		{ (uint8_t *)":status", (uint8_t *)"200", 7, 3, NGHTTP2_NV_FLAG_NONE },
		{ (uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16,
		  NGHTTP2_NV_FLAG_NONE },
	};
	nghttp2_data_provider2 prd = { .source.ptr = call, .read_callback = read_out };
	nghttp2_submit_response2(call->conn->h2, call->id, hdrs, 2, &prd);
}

int grpc_send(struct grpc_call *call, const uint8_t *msg, size_t len)
{
	if (call->finished)
		return -EPIPE;
	if (!call->conn) {
		call->local_msg(call->local_arg, msg, len);
		return 0;
	}
	uint8_t head[5] = { 0, (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
			    (uint8_t)len };
	if (call->out_off && call->out_off >= call->out_len / 2) {
		/* a stream whose queue never empties: drop what nghttp2 took, or out grows */
		memmove(call->out, call->out + call->out_off, call->out_len - call->out_off);
		call->out_len -= call->out_off;
		call->out_off = 0;
	}
	size_t before = call->out_len;
	if (buf_append(&call->out, &call->out_len, &call->out_cap, head, 5) < 0 ||
	    buf_append(&call->out, &call->out_len, &call->out_cap, msg, len) < 0) {
		call->out_len = before;
		return -ENOMEM;
	}
	call_start(call);
	nghttp2_session_resume_data(call->conn->h2, call->id);
	conn_kick(call->conn);
	return 0;
}

/* grpc-message is percent-encoded: everything outside printable ASCII, and '%'. */
static char *percent_encode(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(n * 3 + 1), *p = out;
	if (!out)
		return NULL;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch < 0x20 || ch > 0x7e || ch == '%')
			p += sprintf(p, "%%%02X", ch);
		else
			*p++ = (char)ch;
	}
	*p = '\0';
	return out;
}

void grpc_finish(struct grpc_call *call, enum grpc_status status, const char *message)
{
	if (call->finished)
		return;
	call->finished = 1;
	grpc_stats_end(call, status);
	if (!call->conn) {	/* the sink may free the call: nothing after this */
		call->local_end(call->local_arg, status, message ? message : "");
		return;
	}
	call->status = status;
	call->message = message && message[0] ? percent_encode(message) : NULL;
	if (!call->started && status != GRPC_OK) {
		/* trailers-only: one HEADERS frame with the status, ending the stream */
		char st[12];
		snprintf(st, sizeof(st), "%d", status);
		nghttp2_nv hdrs[4] = {
			{ (uint8_t *)":status", (uint8_t *)"200", 7, 3, NGHTTP2_NV_FLAG_NONE },
			{ (uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16,
			  NGHTTP2_NV_FLAG_NONE },
			{ (uint8_t *)"grpc-status", (uint8_t *)st, 11, strlen(st),
			  NGHTTP2_NV_FLAG_NONE },
			{ (uint8_t *)"grpc-message", (uint8_t *)(call->message ? call->message : ""),
			  12, call->message ? strlen(call->message) : 0, NGHTTP2_NV_FLAG_NONE },
		};
		call->started = 1;
		nghttp2_submit_response2(call->conn->h2, call->id, hdrs, call->message ? 4 : 3,
					 NULL);
	} else {
		call_start(call);
		nghttp2_session_resume_data(call->conn->h2, call->id);
	}
	conn_kick(call->conn);
}

/* ---- nghttp2 callbacks ---- */
static int on_begin_headers(nghttp2_session *h2, const nghttp2_frame *f, void *user)
{
	struct conn *c = user;
	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	struct grpc_call *call = grpc_call_new(c->s);
	if (!call)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	call->conn = c;
	call->srv = c->s;
	call->ctx = c->s->ctx;
	call->id = f->hd.stream_id;
	call->next = c->calls;
	if (c->calls)
		c->calls->prev = call;
	c->calls = call;
	nghttp2_session_set_stream_user_data(h2, call->id, call);
	return 0;
}

static int on_header(nghttp2_session *h2, const nghttp2_frame *f, const uint8_t *name,
		     size_t nlen, const uint8_t *value, size_t vlen, uint8_t flags, void *user)
{
	(void)flags;
	(void)user;
	struct grpc_call *call = nghttp2_session_get_stream_user_data(h2, f->hd.stream_id);
	if (!call || f->hd.type != NGHTTP2_HEADERS)
		return 0;
	if (nlen == 5 && memcmp(name, ":path", 5) == 0) {
		if (vlen < sizeof(call->path)) {
			memcpy(call->path, value, vlen);
			call->path[vlen] = '\0';
		}
	} else if (nlen == 12 && memcmp(name, "content-type", 12) == 0) {
		snprintf(call->content_type, sizeof(call->content_type), "%.*s", (int)vlen,
			 (const char *)value);
	} else if (name[0] != ':' && call->n_hdrs < HDRS_MAX && nlen <= 64 && vlen <= 1024) {
		struct hdr *h = &call->hdrs[call->n_hdrs];
		h->name = strndup((const char *)name, nlen);
		h->value = strndup((const char *)value, vlen);
		if (!h->name || !h->value) {
			free(h->name);
			free(h->value);
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		}
		call->n_hdrs++;
	}
	return 0;
}

static void route(struct grpc_call *call)
{
	struct grpc_server *s = call->conn->s;
	for (size_t i = 0; i < s->n_methods; i++)
		if (strcmp(s->methods[i].path, call->path) == 0) {
			call->m = &s->methods[i];
			break;
		}
	grpc_stats_start(call);
	if (strncmp(call->content_type, "application/grpc", 16) != 0) {
		char msg[160];
		snprintf(msg, sizeof(msg), "invalid gRPC request content-type \"%s\"",
			 call->content_type);
		grpc_finish(call, GRPC_INTERNAL, msg);
	} else if (!call->m) {
		const char *svc = call->path[0] == '/' ? call->path + 1 : call->path;
		const char *slash = strchr(svc, '/');
		char msg[200];
		snprintf(msg, sizeof(msg), "unknown service %.*s",
			 slash ? (int)(slash - svc) : (int)strlen(svc), svc);
		grpc_finish(call, GRPC_UNIMPLEMENTED, msg);
	}
}

/* Cuts the request bytes into messages and hands each to the method. */
static void dispatch(struct grpc_call *call)
{
	size_t off = 0;
	while (!call->finished && call->in_len - off >= 5) {
		const uint8_t *p = call->in + off;
		uint32_t len = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
		if (p[0] != 0) {
			grpc_finish(call, GRPC_UNIMPLEMENTED,
				    "grpc: compressed messages are not supported");
			break;
		}
		if (len > GRPC_MSG_MAX) {
			char msg[120];
			snprintf(msg, sizeof(msg), "grpc: received message larger than max (%u vs. %zu)",
				 len, GRPC_MSG_MAX);
			grpc_finish(call, GRPC_RESOURCE_EXHAUSTED, msg);
			break;
		}
		if (call->in_len - off - 5 < len)
			break;
		off += 5 + len;
		call->m->on_message(call, p + 5, len, call->ctx);
	}
	if (off) {
		memmove(call->in, call->in + off, call->in_len - off);
		call->in_len -= off;
	}
}

static int on_data(nghttp2_session *h2, uint8_t flags, int32_t id, const uint8_t *data,
		   size_t len, void *user)
{
	(void)flags;
	(void)user;
	struct grpc_call *call = nghttp2_session_get_stream_user_data(h2, id);
	if (!call || call->finished || !call->m)
		return 0;
	if (buf_append(&call->in, &call->in_len, &call->in_cap, data, len) < 0) {
		grpc_finish(call, GRPC_RESOURCE_EXHAUSTED, "out of memory");
		return 0;
	}
	dispatch(call);
	return 0;
}

static int on_frame(nghttp2_session *h2, const nghttp2_frame *f, void *user)
{
	(void)user;
	if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA)
		return 0;
	struct grpc_call *call = nghttp2_session_get_stream_user_data(h2, f->hd.stream_id);
	if (!call)
		return 0;
	if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST)
		route(call);
	if (!(f->hd.flags & NGHTTP2_FLAG_END_STREAM) || call->finished)
		return 0;
	if (call->in_len)
		grpc_finish(call, GRPC_INTERNAL, "grpc: stream ended inside a message");
	else if (call->m && call->m->on_half_close)
		call->m->on_half_close(call, call->ctx);
	else if (!call->defer_gone)
		grpc_finish(call, GRPC_INTERNAL, "grpc: no response to the request");
	return 0;
}

static int on_close(nghttp2_session *h2, int32_t id, uint32_t code, void *user)
{
	(void)code;
	(void)user;
	struct grpc_call *call = nghttp2_session_get_stream_user_data(h2, id);
	if (!call)
		return 0;
	nghttp2_session_set_stream_user_data(h2, id, NULL);
	grpc_call_gone(call);
	grpc_call_free(call);
	return 0;
}

/* ---- connections ---- */
static void on_conn_io(struct ev_loop *loop, int fd, uint32_t events, void *arg);

static void conn_watch(struct conn *c, int want_out)
{
	uint32_t ev = tport_read_events(c->t) | (want_out ? EPOLLOUT : 0);
	if (c->watching == ev)
		return;
	c->watching = ev;
	ev_watch(c->s->loop, tport_fd(c->t), ev, on_conn_io, c);
}

/* Writes the bytes already made until the socket stalls. Returns -1 if the connection
 * was closed. */
static int write_buf(struct conn *c)
{
	if (tport_write_out(c->t, c->w, &c->w_off, c->w_len) < 0) {
		conn_close(c);
		return -1;
	}
	if (c->w_off == c->w_len)
		c->w_off = c->w_len = 0;
	return 0;
}

/* Moves what nghttp2 has to send into the write buffer and writes as much as the socket
 * takes; the rest waits for EPOLLOUT. */
static void conn_flush(struct conn *c)
{
	if (c->in_recv || c->dead || !c->is_h2)
		return;	/* nothing goes out before the client has shown it speaks HTTP/2 */
	int capped;
again:
	capped = 0;
	for (;;) {
		const uint8_t *p;
		nghttp2_ssize n = nghttp2_session_mem_send2(c->h2, &p);
		if (n < 0) {
			conn_close(c);
			return;
		}
		if (n == 0)
			break;
		if (buf_append(&c->w, &c->w_len, &c->w_cap, p, (size_t)n) < 0) {
			conn_close(c);
			return;
		}
		if (c->w_len - c->w_off > (1u << 20)) {
			capped = 1;
			break;	/* let the socket drain first */
		}
	}
	if (write_buf(c) < 0)
		return;
	if (c->w_len == 0 && capped)
		goto again;	/* the socket took it all and nghttp2 has more: no EPOLLOUT
				 * will come to ask for it */
	int more = c->w_len > 0 || nghttp2_session_want_write(c->h2);
	if (!more && !nghttp2_session_want_read(c->h2)) {
		conn_close(c);
		return;
	}
	conn_watch(c, c->w_len > 0);
}

static void on_flush_timer(struct ev_loop *loop, void *arg)
{
	struct conn *c = arg;
	(void)loop;
	c->flush_timer = 0;
	conn_flush(c);
}

/* Sends and finishes only queue: the bytes go out at the next loop turn, all at once, and
 * a handler never sees its connection vanish under it. */
static void conn_kick(struct conn *c)
{
	if (c->in_recv || c->flush_timer || c->dead)
		return;
	long id = ev_timer(c->s->loop, 0, on_flush_timer, c);
	c->flush_timer = id > 0 ? id : 0;
}

static void conn_close(struct conn *c)
{
	if (c->dead)
		return;
	c->dead = 1;
	if (c->flush_timer)
		ev_cancel(c->s->loop, c->flush_timer);
	if (c->hs_timer)
		ev_cancel(c->s->loop, c->hs_timer);
	while (c->calls) {
		struct grpc_call *call = c->calls;
		grpc_call_gone(call);
		grpc_call_free(call);
	}
	if (c->t) {
		ev_unwatch(c->s->loop, tport_fd(c->t));
		tport_free(c->t);
	}
	nghttp2_session_del(c->h2);
	if (c->prev)
		c->prev->next = c->next;
	else
		c->s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c->w);
	free(c);
}

/* Hands the connection to the HTTP/1.1 handler (or closes it): the transport is its now. */
static void conn_hand_over(struct conn *c, const uint8_t *head, size_t n)
{
	struct grpc_server *s = c->s;
	struct tport *t = c->t;
	ev_unwatch(s->loop, tport_fd(t));
	c->t = NULL;
	conn_close(c);
	if (s->http1)
		s->http1(s, t, head, n, s->http1_arg);
	else
		tport_free(t);
}

/* Until the first bytes show the HTTP/2 preface, they are held back. Returns 1 when the
 * preface has come (the held bytes were fed to nghttp2), 0 while it may still come, -1
 * when the connection was handed over to HTTP/1.1. */
static int sniff(struct conn *c, const uint8_t *buf, size_t n)
{
	uint8_t head[H2_PREFACE_LEN + READ_CHUNK];
	size_t have = c->n_sniff;
	memcpy(head, c->sniff, have);
	memcpy(head + have, buf, n);
	size_t cmp = have + n < H2_PREFACE_LEN ? have + n : H2_PREFACE_LEN;
	if (memcmp(head, H2_PREFACE, cmp) != 0) {
		conn_hand_over(c, head, have + n);
		return -1;
	}
	if (have + n < H2_PREFACE_LEN) {
		memcpy(c->sniff + have, buf, n);
		c->n_sniff += n;
		return 0;
	}
	c->is_h2 = 1;
	if (have) {	/* the held part of the preface first */
		c->in_recv = 1;
		nghttp2_ssize rc = nghttp2_session_mem_recv2(c->h2, c->sniff, have);
		c->in_recv = 0;
		if (rc < 0) {
			conn_close(c);
			return -1;
		}
	}
	return 1;
}

static void on_conn_io(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct conn *c = arg;
	(void)loop;
	(void)fd;
	if (events & (tport_read_events(c->t) | EPOLLHUP | EPOLLERR)) {
		static uint8_t buf[READ_CHUNK];
		ssize_t n = tport_read(c->t, buf, sizeof(buf));
		if (n == 0 || (n < 0 && n != -EAGAIN)) {
			conn_close(c);
			return;
		}
		if (n > 0 && c->hs_timer) {
			ev_cancel(c->s->loop, c->hs_timer);
			c->hs_timer = 0;
		}
		if (n > 0 && !c->is_h2 && sniff(c, buf, (size_t)n) <= 0)
			return;	/* more preface to come, or the connection went elsewhere */
		if (n > 0) {
			c->in_recv = 1;
			nghttp2_ssize rc = nghttp2_session_mem_recv2(c->h2, buf, (size_t)n);
			c->in_recv = 0;
			if (rc < 0) {
				log_debug("grpc: connection dropped: %s", nghttp2_strerror((int)rc));
				conn_close(c);
				return;
			}
		}
	}
	if ((events & EPOLLOUT) && write_buf(c) < 0)
		return;
	conn_watch(c, c->w_len > 0);	/* also what a TLS handshake waits for */
	/* New frames (answers, watch events, acks) are made at the next turn, after the
	 * before-sleep hook: nothing reaches a client before the write it follows is on disk. */
	conn_kick(c);
}

/* A TLS client that has not sent a byte of HTTP this long after connecting is dropped:
 * handshakes that stall hold no connection for ever. */
#define HANDSHAKE_MS 10000

static void on_hs_timeout(struct ev_loop *loop, void *arg)
{
	struct conn *c = arg;
	(void)loop;
	c->hs_timer = 0;
	log_warnx("kv: closing a TLS connection that sent no request within %d s",
		  HANDSHAKE_MS / 1000);
	conn_close(c);
}

/* A connection on the accepted socket fd, TLS with tls's settings unless NULL. Takes fd
 * on success. */
static int conn_new(struct grpc_server *s, int fd, struct tport_tls *tls)
{
	struct conn *c = calloc(1, sizeof(*c));
	nghttp2_session_callbacks *cb;
	if (!c || nghttp2_session_callbacks_new(&cb) != 0) {
		free(c);
		return -ENOMEM;
	}
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
	/* nghttp2 keeps closed streams for the priority tree, up to the concurrent-stream
	 * limit per connection: hundreds of bytes for every request ever served. None. */
	nghttp2_option *opt;
	int rc = nghttp2_option_new(&opt);
	if (rc == 0) {
		nghttp2_option_set_no_closed_streams(opt, 1);
		/* etcdctl --cluster dials the member list's client URLs as they are, and
		 * grpc-go then sends ":authority: http://host:port", which nghttp2's HTTP
		 * checks refuse (a '/' in it) and etcd's server takes. Without those checks
		 * the headers are still bounded and read by on_header alone, which takes any
		 * bytes; a request without :path or content-type is refused by route(). */
		nghttp2_option_set_no_http_messaging(opt, 1);
		rc = nghttp2_session_server_new2(&c->h2, cb, c, opt);
		nghttp2_option_del(opt);
	}
	nghttp2_session_callbacks_del(cb);
	if (rc == 0 && !(c->t = tport_new(fd, tls)))
		nghttp2_session_del(c->h2);
	if (rc != 0 || !c->t) {
		free(c);
		return -ENOMEM;
	}
	c->s = s;
	if (tls) {
		long id = ev_timer(s->loop, HANDSHAKE_MS, on_hs_timeout, c);
		c->hs_timer = id > 0 ? id : 0;
	}
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100000 },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1u << 20 },
	};
	nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, 2);
	nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0, 4u << 20);
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	conn_watch(c, 0);
	return 0;
}

static void on_accept(struct ev_loop *loop, int lfd, uint32_t events, void *arg)
{
	struct grpc_server *s = arg;
	struct tport_tls *tls = NULL;
	(void)loop;
	(void)events;
	for (int i = 0; i < s->n_lfd; i++)
		if (s->lfd[i] == lfd)
			tls = s->ltls[i];
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warn("grpc: accept");
			return;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (conn_new(s, fd, tls) < 0)
			close(fd);
	}
}

struct grpc_server *grpc_server_new(struct ev_loop *loop, const struct grpc_method *methods,
				    size_t n, void *ctx)
{
	struct grpc_server *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->loop = loop;
	s->methods = methods;
	s->n_methods = n;
	s->ctx = ctx;
	s->stats = calloc(n ? n : 1, sizeof(*s->stats));
	if (!s->stats) {
		free(s);
		return NULL;
	}
	return s;
}

int grpc_server_listen(struct grpc_server *s, const char *host, int port,
		       struct tport_tls *tls)
{
	if (s->n_lfd == LISTEN_MAX)
		return -EMFILE;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV }, *res;
	char ps[8];
	snprintf(ps, sizeof(ps), "%d", port);
	int rc = getaddrinfo(host, ps, &hints, &res);
	if (rc != 0)
		return rc == EAI_SYSTEM ? -errno : -EADDRNOTAVAIL;
	struct addrinfo *ai = res;	/* IPv4 first, as etcd binds "localhost" */
	for (struct addrinfo *i = res; i; i = i->ai_next)
		if (i->ai_family == AF_INET) {
			ai = i;
			break;
		}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	if (fd < 0) {
		freeaddrinfo(res);
		return -errno;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_storage sa;
	socklen_t sl = sizeof(sa);
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1024) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		rc = -errno;
		close(fd);
		freeaddrinfo(res);
		return rc;
	}
	freeaddrinfo(res);
	if ((rc = ev_watch(s->loop, fd, EPOLLIN, on_accept, s)) < 0) {
		close(fd);
		return rc;
	}
	s->ltls[s->n_lfd] = tls;
	s->lfd[s->n_lfd++] = fd;
	return sa.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&sa)->sin6_port) :
					  ntohs(((struct sockaddr_in *)&sa)->sin_port);
}

void grpc_server_free(struct grpc_server *s)
{
	if (!s)
		return;
	while (s->conns)
		conn_close(s->conns);
	for (int i = 0; i < s->n_lfd; i++) {
		ev_unwatch(s->loop, s->lfd[i]);
		close(s->lfd[i]);
	}
	grpc_spares_free(s);
	free(s->stats);
	free(s);
}

void grpc_server_set_http1(struct grpc_server *s, grpc_http1_fn *fn, void *arg)
{
	s->http1 = fn;
	s->http1_arg = arg;
}
