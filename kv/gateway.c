/* The JSON gateway: HTTP/1.1 on the client port, for connections that do not open with
 * the HTTP/2 preface. POST /v3/... runs the same gRPC method as a local call, with the
 * JSON body turned into its protobuf request and the response back into JSON, as etcd's
 * gateway does; GET /health, /version and /metrics answer directly. One request at a
 * time per connection, keep-alive, pipelining served in order. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>

#include "../lib/log.h"
#include "gateway.h"
#include "jsonpb.h"
#include "tport.h"

#define HEAD_MAX 16384
#define BODY_MAX ((size_t)2 << 20)

struct route {
	const char *path;		/* after /v3 (or /v3beta) */
	const char *method;		/* the gRPC method */
	const char *req, *res;		/* message names (jsonpb.c) */
	int stream;			/* body: a request per JSON object; answer: a
					 * {"result": ...} line per response */
};

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
};

struct gw_conn {
	struct gateway *gw;
	struct tport *t;		/* the socket, plain or TLS */
	char *in;			/* bytes read and not yet handled */
	size_t in_len, in_cap;
	char *out;			/* response bytes not yet written */
	size_t out_len, out_off, out_cap;
	struct grpc_call *call;		/* the request in flight, if any */
	const struct route *route;
	uint8_t *resp;			/* the method's response message */
	size_t resp_len;
	char *results;			/* a streaming route's {"result": ...} lines */
	size_t results_len, results_cap;
	int keep_alive;
	uint32_t watching;		/* the events asked of the loop */
	int in_process;			/* inside process(): it flushes when done */
	struct gw_conn *prev, *next;
};

struct gateway {
	struct ev_loop *loop;
	struct grpc_server *grpc;
	gw_metrics_fn *metrics;
	void *metrics_arg;
	struct gw_conn *conns;
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

static void flush(struct gw_conn *c)
{
	if (tport_write_out(c->t, c->out, &c->out_off, c->out_len) < 0) {
		conn_close(c);
		return;
	}
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
		if (!c->keep_alive && !c->call) {
			conn_close(c);
			return;
		}
	}
	uint32_t want = tport_read_events(c->t) | (c->out_len > 0 ? EPOLLOUT : 0);
	if (want != c->watching) {
		c->watching = want;
		ev_watch(c->gw->loop, tport_fd(c->t), want, on_io, c);
	}
}

static void respond(struct gw_conn *c, int status, const char *reason, const char *type,
		    const char *body, size_t len)
{
	char head[256];
	int n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
			 "Content-Length: %zu\r\n%s\r\n", status, reason, type, len,
			 c->keep_alive ? "" : "Connection: close\r\n");
	if (grow(&c->out, &c->out_cap, c->out_len + (size_t)n + len) < 0) {
		c->keep_alive = 0;
		return;
	}
	memcpy(c->out + c->out_len, head, (size_t)n);
	memcpy(c->out + c->out_len + n, body, len);
	c->out_len += (size_t)n + len;
}

/* grpc-gateway's mapping of gRPC codes to HTTP statuses. */
static int http_status(enum grpc_status st, const char **reason)
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

static void respond_error(struct gw_conn *c, enum grpc_status st, const char *msg)
{
	const char *reason;
	int code = http_status(st, &reason);
	char *quoted = NULL;
	/* {"error": M, "message": M, "code": N}, M as a JSON string */
	size_t n = strlen(msg);
	quoted = malloc(n * 6 + 3);
	if (!quoted) {
		respond(c, 500, "Internal Server Error", "text/plain", "", 0);
		return;
	}
	char *q = quoted;
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
	size_t cap = 2 * strlen(quoted) + 64;
	char *body = malloc(cap);
	if (body) {
		int bl = snprintf(body, cap, "{\"error\":%s,\"message\":%s,\"code\":%d}", quoted,
				  quoted, (int)st);
		respond(c, code, reason, "application/json", body, (size_t)bl);
	}
	free(body);
	free(quoted);
}

/* ---- the local call's sinks ---- */
static void on_call_msg(void *arg, const uint8_t *msg, size_t len)
{
	struct gw_conn *c = arg;
	if (c->route->stream) {
		char *json = NULL;
		if (jp_to_json(jp_find(c->route->res), msg, len, &json) < 0)
			return;
		size_t n = strlen(json);
		if (grow(&c->results, &c->results_cap, c->results_len + n + 13) == 0) {
			c->results_len += (size_t)sprintf(c->results + c->results_len,
							  "{\"result\":%s}\n", json);
		}
		free(json);
		return;
	}
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
	if (st == GRPC_OK && c->route->stream) {
		respond(c, 200, "OK", "application/json", c->results ? c->results : "",
			c->results_len);
	} else if (st == GRPC_OK && c->resp) {
		char *json = NULL;
		int rc = jp_to_json(jp_find(c->route->res), c->resp, c->resp_len, &json);
		if (rc == 0)
			respond(c, 200, "OK", "application/json", json, strlen(json));
		else
			respond_error(c, GRPC_INTERNAL, "gateway: cannot convert the response");
		free(json);
	} else {
		respond_error(c, st == GRPC_OK ? GRPC_INTERNAL : st,
			      st == GRPC_OK ? "gateway: no response" : message);
	}
	free(c->resp);
	c->resp = NULL;
	c->results_len = 0;
	grpc_local_free(call);
	if (!c->in_process) {	/* a method that answered later: go on with the input */
		process(c);
		flush(c);
	}
}

/* A streaming route: each JSON object of the body is a request; then the end. */
static void run_stream(struct gw_conn *c, const struct route *r, const char *body, size_t len)
{
	char err[300];
	c->route = r;
	c->results_len = 0;
	c->call = grpc_local_call(c->gw->grpc, r->method, on_call_msg, on_call_end, c);
	if (!c->call) {
		respond_error(c, GRPC_UNIMPLEMENTED, "unknown method");
		return;
	}
	size_t off = 0;
	while (c->call && off < len) {
		struct pb_buf b;
		size_t used = 0;
		pb_buf_init(&b, NULL);
		if (jp_from_json_next(jp_find(r->req), body + off, len - off, &b, err, sizeof(err),
				      &used) < 0) {
			pb_buf_free(&b);
			struct grpc_call *call = c->call;
			c->call = NULL;
			grpc_local_free(call);
			respond_error(c, GRPC_INVALID_ARGUMENT, err);
			return;
		}
		off += used ? used : len - off;
		grpc_local_deliver(c->call, b.data ? b.data : (const uint8_t *)"", b.len);
		pb_buf_free(&b);
	}
	if (c->call)
		grpc_local_half_close(c->call);
}

static void run_route(struct gw_conn *c, const struct route *r, const char *body, size_t len)
{
	if (r->stream) {
		run_stream(c, r, body, len);
		return;
	}
	struct pb_buf b;
	char err[300];
	pb_buf_init(&b, NULL);
	int rc = jp_from_json(jp_find(r->req), len ? body : "{}", len ? len : 2, &b, err,
			      sizeof(err));
	if (rc < 0) {
		respond_error(c, GRPC_INVALID_ARGUMENT, err);
		pb_buf_free(&b);
		return;
	}
	c->route = r;
	c->call = grpc_local_call(c->gw->grpc, r->method, on_call_msg, on_call_end, c);
	if (!c->call) {
		respond_error(c, GRPC_UNIMPLEMENTED, "unknown method");
	} else {
		/* the method answers now, or later (on_call_end either way) */
		grpc_local_deliver(c->call, b.data ? b.data : (const uint8_t *)"", b.len);
	}
	pb_buf_free(&b);
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
	const char *rest = strncmp(path, "/v3beta/", 8) == 0 ? path + 7 :
			   strncmp(path, "/v3/", 4) == 0 ? path + 3 : NULL;
	for (size_t i = 0; rest && i < sizeof(routes) / sizeof(*routes); i++) {
		if (strcmp(routes[i].path, rest) != 0)
			continue;
		if (strcmp(method, "POST") != 0) {
			respond(c, 405, "Method Not Allowed", "text/plain; charset=utf-8",
				"Method Not Allowed\n", 19);
			return;
		}
		run_route(c, &routes[i], body, len);
		return;
	}
	respond(c, 404, "Not Found", "text/plain; charset=utf-8", "Not Found\n", 10);
}

/* A header's value in the head (case-insensitive name), or NULL. */
static const char *header(const char *head, const char *name, size_t *vlen)
{
	size_t n = strlen(name);
	for (const char *p = strstr(head, "\r\n"); p && p[2] != '\r'; p = strstr(p + 2, "\r\n")) {
		const char *line = p + 2;
		if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
			const char *v = line + n + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			const char *end = strstr(v, "\r\n");
			*vlen = end ? (size_t)(end - v) : strlen(v);
			return v;
		}
	}
	return NULL;
}

/* Handles every complete request in the input, one at a time. Never closes c. */
static void process(struct gw_conn *c)
{
	int outer = c->in_process;
	c->in_process = 1;
	process_requests(c);
	c->in_process = outer;
}

static void process_requests(struct gw_conn *c)
{
	while (!c->call) {
		char *end = c->in_len ? memmem(c->in, c->in_len, "\r\n\r\n", 4) : NULL;
		if (!end) {
			if (c->in_len > HEAD_MAX) {
				c->keep_alive = 0;
				respond(c, 431, "Request Header Fields Too Large", "text/plain", "", 0);
				c->in_len = 0;
			}
			return;
		}
		*end = '\0';
		char method[16], path[1024], version[16];
		if (sscanf(c->in, "%15s %1023s %15s", method, path, version) != 3 ||
		    strncmp(version, "HTTP/1.", 7) != 0) {
			c->keep_alive = 0;
			respond(c, 400, "Bad Request", "text/plain", "", 0);
			c->in_len = 0;
			return;
		}
		size_t vl = 0, body_len = 0;
		const char *v;
		c->keep_alive = strcmp(version, "HTTP/1.1") == 0;
		if ((v = header(c->in, "Connection", &vl)))
			c->keep_alive = !(vl == 5 && strncasecmp(v, "close", 5) == 0) &&
					(c->keep_alive || (vl == 10 && !strncasecmp(v, "keep-alive", 10)));
		if (header(c->in, "Transfer-Encoding", &vl)) {
			c->keep_alive = 0;
			respond(c, 411, "Length Required", "text/plain", "", 0);
			c->in_len = 0;
			return;
		}
		if ((v = header(c->in, "Content-Length", &vl)))
			body_len = strtoul(v, NULL, 10);
		if (body_len > BODY_MAX) {
			c->keep_alive = 0;
			respond_error(c, GRPC_RESOURCE_EXHAUSTED, "etcdserver: request is too large");
			c->in_len = 0;
			return;
		}
		size_t head_len = (size_t)(end - c->in) + 4;
		if (c->in_len < head_len + body_len) {
			*end = '\r';	/* not all of the body yet: put the head back as it was */
			return;
		}
		char *q = strchr(path, '?');
		if (q)
			*q = '\0';
		handle(c, method, path, c->in + head_len, body_len);
		memmove(c->in, c->in + head_len + body_len, c->in_len - head_len - body_len);
		c->in_len -= head_len + body_len;
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
	free(c->resp);
	free(c->results);
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
	c->watching = want;
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
