/* Internals of the JSON gateway shared by its files: the connection (gateway.c, which
 * owns the socket and the requests) and the streaming routes (gw_stream.c). */
#ifndef CABIN_KV_GW_INT_H
#define CABIN_KV_GW_INT_H

#include <stddef.h>
#include <stdint.h>

#include "gateway.h"
#include "grpc.h"
#include "http1.h"

#define GW_BODY_MAX ((size_t)2 << 20)	/* a unary body, or one object of a stream */
/* Unsent response bytes past which the connection reads no more requests, and past
 * which a stream's client is deemed gone (the watch service holds its events back long
 * before: it sees the same count through grpc_call_pending). */
#define GW_OUT_HIGH ((size_t)256 << 10)
#define GW_OUT_MAX ((size_t)16 << 20)

struct route {
	const char *path;		/* after /v3 (or /v3beta) */
	const char *method;		/* the gRPC method */
	const char *req, *res;		/* message names (jsonpb.c) */
	int stream;			/* body: a request per JSON object; answer: a
					 * {"result": ...} line per response, as they come */
};

struct tport;

struct gw_conn {
	struct gateway *gw;
	struct tport *t;		/* the socket, plain or TLS */
	char *in;			/* bytes read and not yet handled */
	size_t in_len, in_cap;
	char *out;			/* response bytes not yet written */
	size_t out_len, out_off, out_cap;
	struct h1_req req;		/* the request being read or answered */
	struct h1_body body_state;
	int reading_body;		/* req's body is still coming */
	char *body;			/* req's body, decoded, not yet used */
	size_t body_len, body_cap;
	int discard;			/* the rest of the body is not wanted */
	struct grpc_call *call;		/* the method in flight, if any */
	const struct route *route;
	uint8_t *resp;			/* a unary method's response message */
	size_t resp_len;
	int stream;			/* req runs a streaming route */
	int stream_head;		/* its response head is out */
	size_t stream_sent;		/* requests handed to its call */
	int keep_alive;
	uint32_t events;		/* what the loop watches for */
	int in_process;			/* inside process(): it flushes when done */
	int doomed;			/* close at the next kick (not from inside a call) */
	long kick_timer;
	struct gw_conn *prev, *next;
};

struct gateway {
	struct ev_loop *loop;
	struct grpc_server *grpc;
	gw_metrics_fn *metrics;
	void *metrics_arg;
	struct gw_conn *conns;
};

/* gateway.c */
/* Appends to c's output; on no memory the connection is doomed. */
void gw_append(struct gw_conn *c, const char *p, size_t n);
/* A response head: the status line and etcd's CORS headers, then the Content-Type; the
 * caller adds its framing headers and the empty line. */
void gw_head(struct gw_conn *c, int status, const char *reason, const char *type);
/* msg as a JSON string, malloc'd; NULL when out of memory. */
char *gw_quote(const char *msg);
/* etcd's unary error answer: {"error": msg, "message": msg, "code": st}. */
void gw_respond_error(struct gw_conn *c, enum grpc_status st, const char *msg);
int gw_http_status(enum grpc_status st, const char **reason);
/* Writes c's output, or closes it if doomed, at the next loop turn: for code running
 * inside a method's callbacks, where the call must not go away. */
void gw_kick(struct gw_conn *c);
/* The output grew: tells c's call how much is unsent, dooms c past GW_OUT_MAX, kicks. */
void gw_out_grew(struct gw_conn *c);

/* gw_stream.c: a streaming route. start runs the method; feed hands it each complete
 * JSON object of c->body (body_done: no more will come). */
void gw_stream_start(struct gw_conn *c, const struct route *r);
void gw_stream_feed(struct gw_conn *c, int body_done);

#endif
