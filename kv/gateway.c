/* The JSON gateway: HTTP/1.1 on the client port, for connections that do not open with
 * the HTTP/2 preface. POST /v3/... runs the same gRPC method as a local call, with the
 * JSON body turned into its protobuf request and the response back into JSON, as etcd's
 * gateway does; GET /health, /version and /metrics answer directly. One request at a
 * time per connection, keep-alive, pipelining served in order. Streaming routes are in
 * gw_stream.c, the HTTP/1.1 parsing in http1.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <time.h>

#include "../lib/log.h"
#include "gw_int.h"
#include "jsonpb.h"
#include "tport.h"

static const struct route routes[] = {
	{ "/kv/range", "/etcdserverpb.KV/Range", "RangeRequest", "RangeResponse", 0 },
	{ "/kv/put", "/etcdserverpb.KV/Put", "PutRequest", "PutResponse", 0 },
	{ "/kv/deleterange", "/etcdserverpb.KV/DeleteRange", "DeleteRangeRequest",
	  "DeleteRangeResponse", 0 },
	{ "/kv/txn", "/etcdserverpb.KV/Txn", "TxnRequest", "TxnResponse", 0 },
	{ "/kv/compaction", "/etcdserverpb.KV/Compact", "CompactionRequest", "HeaderResponse", 0 },
	{ "/lease/grant", "/etcdserverpb.Lease/LeaseGrant", "LeaseGrantRequest",
	  "LeaseGrantResponse", 0 },
	{ "/lease/revoke", "/etcdserverpb.Lease/LeaseRevoke", "LeaseIDRequest",
	  "HeaderResponse", 0 },
	{ "/kv/lease/revoke", "/etcdserverpb.Lease/LeaseRevoke", "LeaseIDRequest",
	  "HeaderResponse", 0 },
	{ "/lease/timetolive", "/etcdserverpb.Lease/LeaseTimeToLive", "LeaseTimeToLiveRequest",
	  "LeaseTimeToLiveResponse", 0 },
	{ "/kv/lease/timetolive", "/etcdserverpb.Lease/LeaseTimeToLive",
	  "LeaseTimeToLiveRequest", "LeaseTimeToLiveResponse", 0 },
	{ "/lease/leases", "/etcdserverpb.Lease/LeaseLeases", "Empty", "LeaseLeasesResponse", 0 },
	{ "/kv/lease/leases", "/etcdserverpb.Lease/LeaseLeases", "Empty",
	  "LeaseLeasesResponse", 0 },
	{ "/cluster/member/list", "/etcdserverpb.Cluster/MemberList", "Empty",
	  "MemberListResponse", 0 },
	{ "/maintenance/status", "/etcdserverpb.Maintenance/Status", "Empty", "StatusResponse", 0 },
	{ "/maintenance/alarm", "/etcdserverpb.Maintenance/Alarm", "AlarmRequest",
	  "AlarmResponse", 0 },
	{ "/maintenance/defragment", "/etcdserverpb.Maintenance/Defragment", "Empty",
	  "HeaderResponse", 0 },
	{ "/maintenance/hashkv", "/etcdserverpb.Maintenance/HashKV", "HashKVRequest",
	  "HashKVResponse", 0 },
	{ "/lease/keepalive", "/etcdserverpb.Lease/LeaseKeepAlive", "LeaseIDRequest",
	  "LeaseKeepAliveResponse", 1 },
	{ "/watch", "/etcdserverpb.Watch/Watch", "WatchRequest", "WatchResponse", 1 },
};

static void conn_close(struct gw_conn *c);
static void process(struct gw_conn *c);
static void process_requests(struct gw_conn *c);

static int grow(char **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap : 4096;
	while (nc < need)
		nc *= 2;
	char *nb = realloc(*buf, nc);
	if (!nb)
		return -ENOMEM;
	*buf = nb;
	*cap = nc;
	return 0;
}

static void on_io(struct ev_loop *loop, int fd, uint32_t events, void *arg);

/* Input is read while there is room for it and the client takes its answers: one that
 * pipelines requests without reading the responses is held back by TCP, not by memory. */
static void set_events(struct gw_conn *c)
{
	size_t unsent = c->out_len - c->out_off;
	uint32_t ev = (c->in_len < H1_HEAD_MAX + GW_BODY_MAX && unsent < GW_OUT_HIGH
			       ? tport_read_events(c->t) : 0) |
		      (unsent ? EPOLLOUT : 0);
	if (ev != c->events) {
		c->events = ev;
		ev_watch(c->gw->loop, tport_fd(c->t), ev, on_io, c);
	}
}

static void flush(struct gw_conn *c)
{
	if (tport_write_out(c->t, c->out, &c->out_off, c->out_len) < 0) {
		conn_close(c);
		return;
	}
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
		if (c->doomed || (!c->keep_alive && !c->call && !c->reading_body)) {
			conn_close(c);
			return;
		}
	}
	if (c->call)
		grpc_local_set_pending(c->call, c->out_len - c->out_off);
	set_events(c);
}

static void on_kick(struct ev_loop *loop, void *arg)
{
	struct gw_conn *c = arg;
	(void)loop;
	c->kick_timer = 0;
	if (c->doomed) {
		conn_close(c);
		return;
	}
	process(c);
	flush(c);
}

void gw_kick(struct gw_conn *c)
{
	if (c->kick_timer)
		return;
	long id = ev_timer(c->gw->loop, 0, on_kick, c);
	if (id > 0)
		c->kick_timer = id;
	else
		c->doomed = 1;	/* nothing would write the answer: the next I/O closes */
}

void gw_out_grew(struct gw_conn *c)
{
	size_t unsent = c->out_len - c->out_off;
	if (c->call)
		grpc_local_set_pending(c->call, unsent);
	if (unsent > GW_OUT_MAX && !c->doomed) {
		log_info("kv: gateway client not reading (%zu bytes unsent): closing", unsent);
		c->doomed = 1;
	}
	gw_kick(c);
}

void gw_append(struct gw_conn *c, const char *p, size_t n)
{
	if (c->out_off && c->out_off >= c->out_len / 2) {
		/* a stream whose output never quite drains: drop what went out, or out grows */
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (grow(&c->out, &c->out_cap, c->out_len + n) < 0) {
		c->doomed = 1;
		return;
	}
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
}

void gw_head(struct gw_conn *c, int status, const char *reason, const char *type)
{
	char head[512], date[64];
	time_t now = time(NULL);
	struct tm tm;
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&now, &tm));
	int n = snprintf(head, sizeof(head), "HTTP/1.%d %d %s\r\n"
			 "Access-Control-Allow-Headers: accept, content-type, authorization\r\n"
			 "Access-Control-Allow-Methods: POST, GET, OPTIONS, PUT, DELETE\r\n"
			 "Access-Control-Allow-Origin: *\r\nContent-Type: %s\r\n",
			 !c->req.http10, status, reason, type);
	gw_append(c, head, (size_t)n);
	if (c->stream && status == 200 && c->call)	/* the gRPC response's header metadata */
		gw_append(c, "Grpc-Metadata-Content-Type: application/grpc\r\n", 46);
	/* as Go's server: the request's version, and whatever is not its default said */
	n = snprintf(head, sizeof(head), "Date: %s\r\n%s", date,
		     c->req.http10 ? (c->keep_alive ? "Connection: keep-alive\r\n" : "") :
				     (c->keep_alive ? "" : "Connection: close\r\n"));
	gw_append(c, head, (size_t)n);
}

static void respond(struct gw_conn *c, int status, const char *reason, const char *type,
		    const char *body, size_t len)
{
	char cl[48];
	gw_head(c, status, reason, type);
	gw_append(c, cl, (size_t)snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n\r\n", len));
	gw_append(c, body, len);
}

/* grpc-gateway's mapping of gRPC codes to HTTP statuses. */
int gw_http_status(enum grpc_status st, const char **reason)
{
	static const struct { int code; const char *reason; } map[] = {
		[GRPC_OK] = { 200, "OK" }, [GRPC_CANCELLED] = { 408, "Request Timeout" },
		[GRPC_UNKNOWN] = { 500, "Internal Server Error" },
		[GRPC_INVALID_ARGUMENT] = { 400, "Bad Request" },
		[GRPC_DEADLINE_EXCEEDED] = { 504, "Gateway Timeout" },
		[GRPC_NOT_FOUND] = { 404, "Not Found" }, [GRPC_ALREADY_EXISTS] = { 409, "Conflict" },
		[GRPC_PERMISSION_DENIED] = { 403, "Forbidden" },
		[GRPC_RESOURCE_EXHAUSTED] = { 429, "Too Many Requests" },
		[GRPC_FAILED_PRECONDITION] = { 412, "Precondition Failed" },
		[GRPC_ABORTED] = { 409, "Conflict" }, [GRPC_OUT_OF_RANGE] = { 400, "Bad Request" },
		[GRPC_UNIMPLEMENTED] = { 501, "Not Implemented" },
		[GRPC_INTERNAL] = { 500, "Internal Server Error" },
		[GRPC_UNAVAILABLE] = { 503, "Service Unavailable" },
		[GRPC_DATA_LOSS] = { 500, "Internal Server Error" },
		[GRPC_UNAUTHENTICATED] = { 401, "Unauthorized" },
	};
	if ((unsigned)st >= sizeof(map) / sizeof(*map)) {
		*reason = "Internal Server Error";
		return 500;
	}
	*reason = map[st].reason;
	return map[st].code;
}

char *gw_quote(const char *msg)
{
	char *quoted = malloc(strlen(msg) * 6 + 3), *q = quoted;
	if (!quoted)
		return NULL;
	*q++ = '"';
	for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
		if (*p == '"' || *p == '\\')
			q += sprintf(q, "\\%c", *p);
		else if (*p < 0x20)
			q += sprintf(q, "\\u%04x", *p);
		else
			*q++ = (char)*p;
	}
	*q++ = '"';
	*q = '\0';
	return quoted;
}

/* {"error": M, "message": M, "code": N}, M as a JSON string */
void gw_respond_error(struct gw_conn *c, enum grpc_status st, const char *msg)
{
	const char *reason;
	int code = gw_http_status(st, &reason);
	char *quoted = gw_quote(msg);
	size_t cap = quoted ? 2 * strlen(quoted) + 64 : 0;
	char *body = quoted ? malloc(cap) : NULL;
	if (body) {
		int bl = snprintf(body, cap, "{\"error\":%s,\"message\":%s,\"code\":%d}", quoted,
				  quoted, (int)st);
		respond(c, code, reason, "application/json", body, (size_t)bl);
	} else {
		respond(c, 500, "Internal Server Error", "text/plain", "", 0);
	}
	free(body);
	free(quoted);
}

/* ---- unary routes: the local call's sinks ---- */
static void on_call_msg(void *arg, const uint8_t *msg, size_t len)
{
	struct gw_conn *c = arg;
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return;
	memcpy(copy, msg, len);
	free(c->resp);
	c->resp = copy;
	c->resp_len = len;
}

static void on_call_end(void *arg, enum grpc_status st, const char *message)
{
	struct gw_conn *c = arg;
	struct grpc_call *call = c->call;
	c->call = NULL;
	if (st == GRPC_OK && c->resp) {
		char *json = NULL;
		int rc = jp_to_json(jp_find(c->route->res), c->resp, c->resp_len, &json);
		if (rc == 0)
			respond(c, 200, "OK", "application/json", json, strlen(json));
		else
			gw_respond_error(c, GRPC_INTERNAL, "gateway: cannot convert the response");
		free(json);
	} else {
		gw_respond_error(c, st == GRPC_OK ? GRPC_INTERNAL : st,
				 st == GRPC_OK ? "gateway: no response" : message);
	}
	free(c->resp);
	c->resp = NULL;
	grpc_local_free(call);
	if (!c->in_process)	/* a method that answered later: go on with the input */
		gw_kick(c);
}

static void run_route(struct gw_conn *c, const struct route *r, const char *body, size_t len)
{
	struct pb_buf b;
	char err[300];
	pb_buf_init(&b, NULL);
	int rc = jp_from_json(jp_find(r->req), len ? body : "{}", len ? len : 2, &b, err,
			      sizeof(err));
	if (rc < 0) {
		gw_respond_error(c, GRPC_INVALID_ARGUMENT, err);
		pb_buf_free(&b);
		return;
	}
	c->route = r;
	c->call = grpc_local_call(c->gw->grpc, r->method, on_call_msg, on_call_end, c);
	if (!c->call) {
		gw_respond_error(c, GRPC_UNIMPLEMENTED, "unknown method");
	} else {
		/* the method answers now, or later (on_call_end either way) */
		grpc_local_deliver(c->call, b.data ? b.data : (const uint8_t *)"", b.len);
	}
	pb_buf_free(&b);
}

/* The route of a /v3/... or /v3beta/... path, or NULL. */
static const struct route *find_route(const char *path)
{
	const char *rest = strncmp(path, "/v3beta/", 8) == 0 ? path + 7 :
			   strncmp(path, "/v3/", 4) == 0 ? path + 3 : NULL;
	for (size_t i = 0; rest && i < sizeof(routes) / sizeof(*routes); i++)
		if (strcmp(routes[i].path, rest) == 0)
			return &routes[i];
	return NULL;
}

static void handle(struct gw_conn *c, const char *method, const char *path, const char *body,
		   size_t len)
{
	if (strcmp(path, "/health") == 0 && strcmp(method, "GET") == 0) {
		respond(c, 200, "OK", "text/plain; charset=utf-8", "{\"health\":\"true\"}", 17);
		return;
	}
	if (strcmp(path, "/version") == 0 && strcmp(method, "GET") == 0) {
		static const char v[] = "{\"etcdserver\":\"3.4.0\",\"etcdcluster\":\"3.4.0\"}";
		respond(c, 200, "OK", "application/json", v, sizeof(v) - 1);
		return;
	}
	if (strcmp(path, "/metrics") == 0 && strcmp(method, "GET") == 0) {
		char *text = NULL;
		size_t n = 0;
		if (c->gw->metrics && c->gw->metrics(c->gw->metrics_arg, &text, &n) == 0)
			respond(c, 200, "OK", "text/plain; version=0.0.4", text, n);
		else
			respond(c, 500, "Internal Server Error", "text/plain", "", 0);
		free(text);
		return;
	}
	const struct route *r = find_route(path);
	if (!r) {
		respond(c, 404, "Not Found", "text/plain; charset=utf-8", "Not Found\n", 10);
	} else if (strcmp(method, "POST") != 0) {
		respond(c, 405, "Method Not Allowed", "text/plain; charset=utf-8",
			"Method Not Allowed\n", 19);
	} else {
		run_route(c, r, body, len);
	}
}

/* ---- requests ---- */

/* Handles every complete request in the input, one at a time; a streaming route gets its
 * body as it comes. Never closes c. */
static void process(struct gw_conn *c)
{
	int outer = c->in_process;
	c->in_process = 1;
	process_requests(c);
	c->in_process = outer;
}

/* Nothing after the answer being written is read: the connection closes after it. */
static void stop_reading(struct gw_conn *c)
{
	c->keep_alive = 0;
	c->reading_body = 0;
	c->in_len = 0;
}

static void refuse(struct gw_conn *c, int status, const char *reason)
{
	stop_reading(c);
	respond(c, status, reason, "text/plain", "", 0);
}

/* Reads the next request head. Returns 1 when its body follows, else 0. */
static int start_request(struct gw_conn *c)
{
	const char *err = NULL;
	int n = h1_parse_head(c->in, c->in_len, &c->req, &err);
	if (n == 0)
		return 0;
	if (n < 0) {
		log_debug("kv: gateway: %s", err);
		if (n == H1_ETOOLARGE)
			refuse(c, 431, "Request Header Fields Too Large");
		else if (n == H1_EENCODING)
			refuse(c, 501, "Not Implemented");
		else
			refuse(c, 400, "Bad Request");
		return 0;
	}
	memmove(c->in, c->in + n, c->in_len - (size_t)n);
	c->in_len -= (size_t)n;
	c->keep_alive = c->req.keep_alive;
	h1_body_init(&c->body_state, &c->req);
	c->reading_body = 1;
	c->body_len = 0;
	c->discard = 0;
	c->stream_head = 0;
	const struct route *r = find_route(c->req.path);
	c->stream = r && r->stream && strcmp(c->req.method, "POST") == 0;
	if (!c->stream && c->req.content_length > GW_BODY_MAX) {
		stop_reading(c);
		gw_respond_error(c, GRPC_RESOURCE_EXHAUSTED, "etcdserver: request is too large");
		return 0;
	}
	if (c->req.expect_continue && !c->body_state.done)	/* the body is read now */
		gw_append(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	if (c->stream)
		gw_stream_start(c, r);
	return 1;
}

/* Moves the body's bytes from the input to c->body. Returns 1 when the body is all
 * there, 0 when more is to come, -1 when the request was refused. */
static int read_body(struct gw_conn *c)
{
	const char *err = NULL;
	size_t n = 0;
	if (grow(&c->body, &c->body_cap, c->body_len + c->in_len + 1) < 0) {
		refuse(c, 500, "Internal Server Error");
		return -1;
	}
	ssize_t used = h1_body_feed(&c->body_state, c->in, c->in_len, c->body + c->body_len, &n,
				    &err);
	if (used < 0) {
		log_debug("kv: gateway: %s", err);
		if (c->stream_head) {	/* inside a streamed answer: no status to give */
			stop_reading(c);
			c->doomed = 1;
			gw_kick(c);
			return -1;
		}
		if (c->call) {
			struct grpc_call *call = c->call;
			c->call = NULL;
			grpc_local_free(call);
		}
		refuse(c, 400, "Bad Request");
		return -1;
	}
	memmove(c->in, c->in + used, c->in_len - (size_t)used);
	c->in_len -= (size_t)used;
	c->body_len = c->discard ? 0 : c->body_len + n;
	if (c->body_len > GW_BODY_MAX && !c->stream) {
		stop_reading(c);
		gw_respond_error(c, GRPC_RESOURCE_EXHAUSTED, "etcdserver: request is too large");
		return -1;
	}
	return c->body_state.done;
}

static void process_requests(struct gw_conn *c)
{
	while (!c->doomed) {
		if (!c->reading_body && (c->call || !c->keep_alive || !start_request(c)))
			return;	/* the answer comes first, the last was answered, or no head yet */
		int done = read_body(c);
		if (done < 0)
			return;
		if (c->stream)
			gw_stream_feed(c, done);
		if (!done)
			return;
		c->reading_body = 0;
		if (!c->stream)
			handle(c, c->req.method, c->req.path, c->body, c->body_len);
		c->body_len = 0;
		if (!c->keep_alive)
			c->in_len = 0;
	}
}

static void conn_close(struct gw_conn *c)
{
	struct gateway *gw = c->gw;
	if (c->call) {
		struct grpc_call *call = c->call;
		c->call = NULL;
		grpc_local_free(call);
	}
	if (c->kick_timer)
		ev_cancel(gw->loop, c->kick_timer);
	ev_unwatch(gw->loop, tport_fd(c->t));
	tport_free(c->t);
	if (c->prev)
		c->prev->next = c->next;
	else
		gw->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c->in);
	free(c->out);
	free(c->body);
	free(c->resp);
	free(c);
}

static void on_io(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct gw_conn *c = arg;
	(void)loop;
	(void)fd;
	if (events & (tport_read_events(c->t) | EPOLLHUP | EPOLLERR)) {
		if (grow(&c->in, &c->in_cap, c->in_len + 65536) < 0) {
			conn_close(c);
			return;
		}
		ssize_t n = tport_read(c->t, c->in + c->in_len, c->in_cap - c->in_len - 1);
		if (n == 0 || (n < 0 && n != -EAGAIN)) {
			conn_close(c);
			return;
		}
		if (n > 0)
			c->in_len += (size_t)n;
		process(c);
	}
	flush(c);
}

static void adopt(struct grpc_server *s, struct tport *t, const uint8_t *head, size_t n,
		  void *arg)
{
	struct gateway *gw = arg;
	(void)s;
	struct gw_conn *c = calloc(1, sizeof(*c));
	uint32_t want = tport_read_events(t);
	if (!c || grow(&c->in, &c->in_cap, n + 65536) < 0 ||
	    ev_watch(gw->loop, tport_fd(t), want, on_io, c) < 0) {
		if (c)
			free(c->in);
		free(c);
		tport_free(t);
		return;
	}
	c->gw = gw;
	c->t = t;
	c->events = want;
	c->keep_alive = 1;	/* until a request says otherwise */
	memcpy(c->in, head, n);
	c->in_len = n;
	c->next = gw->conns;
	if (gw->conns)
		gw->conns->prev = c;
	gw->conns = c;
	process(c);
	flush(c);
}

struct gateway *gw_new(struct ev_loop *loop, struct grpc_server *grpc, gw_metrics_fn *metrics,
		       void *arg)
{
	struct gateway *gw = calloc(1, sizeof(*gw));
	if (!gw)
		return NULL;
	gw->loop = loop;
	gw->grpc = grpc;
	gw->metrics = metrics;
	gw->metrics_arg = arg;
	grpc_server_set_http1(grpc, adopt, gw);
	return gw;
}

void gw_free(struct gateway *gw)
{
	if (!gw)
		return;
	while (gw->conns)
		conn_close(gw->conns);
	free(gw);
}
