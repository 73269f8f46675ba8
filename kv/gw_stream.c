/* The JSON gateway's streaming routes (/v3/watch, /v3/lease/keepalive) as etcd 3.4's
 * grpc-gateway serves them: each JSON object of the request body goes to the method as
 * soon as it is all there, the body may stay open, and each response leaves at once as a
 * {"result": ...} line in a chunked answer whose head goes with the first of them (for an
 * HTTP/1.0 client, as Go's server does: not chunked, and the connection closes after). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "gw_int.h"
#include "jsonpb.h"

static void stream_head(struct gw_conn *c)
{
	if (c->stream_head)
		return;
	c->stream_head = 1;
	gw_head(c, 200, "OK", "application/json");
	if (c->req.http10)
		gw_append(c, "\r\n", 2);
	else
		gw_append(c, "Transfer-Encoding: chunked\r\n\r\n", 30);
}

/* One chunk of the answer: a, text and z. */
static void chunk(struct gw_conn *c, const char *a, const char *text, const char *z)
{
	char size[24];
	size_t na = strlen(a), nt = strlen(text), nz = strlen(z);
	if (!c->req.http10)
		gw_append(c, size, (size_t)snprintf(size, sizeof(size), "%zx\r\n", na + nt + nz));
	gw_append(c, a, na);
	gw_append(c, text, nt);
	gw_append(c, z, nz);
	if (!c->req.http10)
		gw_append(c, "\r\n", 2);
}

static void on_stream_msg(void *arg, const uint8_t *msg, size_t len)
{
	struct gw_conn *c = arg;
	char *json = NULL;
	if (c->doomed)
		return;	/* it is being cut off: no more output */
	if (jp_to_json(jp_find(c->route->res), msg, len, &json) < 0) {
		log_warnx("kv: gateway: cannot convert a %s", c->route->res);
		return;
	}
	stream_head(c);
	chunk(c, "{\"result\":", json, "}\n");
	free(json);
	gw_out_grew(c);
}

/* grpc-gateway's StreamError, its zero fields left out as its marshaler does. */
static void error_chunk(struct gw_conn *c, enum grpc_status st, const char *message)
{
	const char *reason;
	int code = gw_http_status(st, &reason);
	char *q = gw_quote(message);
	size_t cap = q ? strlen(q) + 160 : 0;
	char *json = q ? malloc(cap) : NULL;
	if (json) {
		snprintf(json, cap, "{\"grpc_code\":%d,\"http_code\":%d%s%s,\"http_status\":\"%s\"}",
			 (int)st, code, message[0] ? ",\"message\":" : "", message[0] ? q : "",
			 reason);
		chunk(c, "{\"error\":", json, "}");
	} else {
		c->doomed = 1;
	}
	free(json);
	free(q);
}

/* The method finished: an error before any response is a plain error answer, as
 * grpc-gateway gives when the stream fails before its header metadata; otherwise the
 * chunked answer ends, after a {"error": ...} chunk if it failed. */
static void on_stream_end(void *arg, enum grpc_status st, const char *message)
{
	struct gw_conn *c = arg;
	struct grpc_call *call = c->call;
	c->call = NULL;
	c->discard = 1;	/* the rest of the body has nobody to go to */
	if (!c->stream_head && st != GRPC_OK) {
		gw_respond_error(c, st, message);
	} else {
		stream_head(c);
		if (st != GRPC_OK)
			error_chunk(c, st, message);
		if (!c->req.http10)
			gw_append(c, "0\r\n\r\n", 5);
	}
	grpc_local_free(call);
	gw_out_grew(c);	/* the next request, if any, at the next turn */
}

void gw_stream_start(struct gw_conn *c, const struct route *r)
{
	if (c->req.http10)
		c->keep_alive = 0;	/* the answer ends where the connection does */
	c->route = r;
	c->stream_sent = 0;
	c->call = grpc_local_call(c->gw->grpc, r->method, on_stream_msg, on_stream_end, c);
	if (!c->call) {
		c->discard = 1;
		gw_respond_error(c, GRPC_UNIMPLEMENTED, "unknown method");
	}
}

/* Hands the method the request in text (n bytes). grpc-gateway fails the call when the
 * first request does not decode, and ends the client's side of it for a later one. */
static void deliver(struct gw_conn *c, const char *text, size_t n)
{
	struct pb_buf b;
	char err[300];
	size_t used = 0;
	pb_buf_init(&b, NULL);
	if (jp_from_json_next(jp_find(c->route->req), text, n, &b, err, sizeof(err), &used) < 0) {
		c->discard = 1;
		if (!c->stream_sent && !c->stream_head) {
			struct grpc_call *call = c->call;
			c->call = NULL;
			grpc_local_free(call);
			gw_respond_error(c, GRPC_UNKNOWN, err);
		} else {
			grpc_local_half_close(c->call);
		}
	} else {
		c->stream_sent++;
		grpc_local_deliver(c->call, b.data ? b.data : (const uint8_t *)"", b.len);
	}
	pb_buf_free(&b);
}

static int blank(const char *p, size_t n)
{
	while (n && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++, n--;
	return n == 0;
}

void gw_stream_feed(struct gw_conn *c, int body_done)
{
	size_t off = 0;
	while (c->call && !c->discard) {
		size_t rest = c->body_len - off;
		size_t n = jp_object_len(c->body + off, rest);
		if (!n && ((body_done && !blank(c->body + off, rest)) || rest > GW_BODY_MAX))
			n = rest;	/* cut short, or too long: the parser says so */
		if (!n)
			break;
		deliver(c, c->body + off, n);
		off += n;
	}
	if (c->discard) {
		c->body_len = 0;
	} else {
		memmove(c->body, c->body + off, c->body_len - off);
		c->body_len -= off;
	}
	if (body_done && c->call && !c->discard) {
		c->discard = 1;
		grpc_local_half_close(c->call);
	}
}
