/* A gRPC server on the ev loop: HTTP/2 (h2c with prior knowledge) through nghttp2's server
 * session, one per connection, the 5-byte gRPC message framing, and calls handed to a
 * method table. Unary and streaming methods look the same to a handler: it gets each
 * request message, sends any number of responses, and finishes the call with a status. */
#ifndef CABIN_GRPC_H
#define CABIN_GRPC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../lib/ev.h"
#include "tport.h"

#define GRPC_MSG_MAX ((size_t)2 << 20)	/* larger request messages: RESOURCE_EXHAUSTED */

enum grpc_status {
	GRPC_OK = 0,
	GRPC_CANCELLED = 1,
	GRPC_UNKNOWN = 2,
	GRPC_INVALID_ARGUMENT = 3,
	GRPC_DEADLINE_EXCEEDED = 4,
	GRPC_NOT_FOUND = 5,
	GRPC_ALREADY_EXISTS = 6,
	GRPC_PERMISSION_DENIED = 7,
	GRPC_RESOURCE_EXHAUSTED = 8,
	GRPC_FAILED_PRECONDITION = 9,
	GRPC_ABORTED = 10,
	GRPC_OUT_OF_RANGE = 11,
	GRPC_UNIMPLEMENTED = 12,
	GRPC_INTERNAL = 13,
	GRPC_UNAVAILABLE = 14,
	GRPC_DATA_LOSS = 15,
	GRPC_UNAUTHENTICATED = 16,
};

struct grpc_server;
struct grpc_call;

/* One method. on_message gets each request message (msg is valid only during the call).
 * on_half_close (may be NULL) runs when the client has sent its last message; a call
 * still unfinished then, without one, ends with INTERNAL. on_gone (may be NULL) runs when
 * the call ends before the handler finished it (client reset, connection lost): drop any
 * reference to the call there. After grpc_finish the call must not be used again. */
struct grpc_method {
	const char *path;	/* "/etcdserverpb.KV/Range" */
	void (*on_message)(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx);
	void (*on_half_close)(struct grpc_call *call, void *ctx);
	void (*on_gone)(struct grpc_call *call, void *ctx);
};

/* A server on loop answering methods[n] (the table and ctx must outlive the server).
 * Returns NULL with errno set. */
struct grpc_server *grpc_server_new(struct ev_loop *loop, const struct grpc_method *methods,
				    size_t n, void *ctx);
/* Listens on host:port (an IPv4/IPv6 literal, "localhost" or a name getaddrinfo knows;
 * port 0 picks one), serving TLS with tls's settings unless it is NULL (tls must outlive
 * s). Returns the port bound, or -errno (-EADDRINUSE...). May be called for several
 * addresses. */
int grpc_server_listen(struct grpc_server *s, const char *host, int port,
		       struct tport_tls *tls);
/* Writes the methods' counters and latency histograms as Prometheus text to f
 * (grpc_server_started_total, grpc_server_handled_total{grpc_code},
 * grpc_server_handling_seconds). */
void grpc_server_metrics(const struct grpc_server *s, FILE *f);
/* Closes every connection (calls get on_gone) and the listeners, and frees s. */
void grpc_server_free(struct grpc_server *s);

/* Connections whose first bytes are not the HTTP/2 preface go to fn, with the bytes read
 * so far (head, n; borrowed for the call): fn owns the transport t (unwatched) from then
 * on. Without a handler such connections are closed. */
typedef void grpc_http1_fn(struct grpc_server *s, struct tport *t, const uint8_t *head,
			   size_t n, void *arg);
void grpc_server_set_http1(struct grpc_server *s, grpc_http1_fn *fn, void *arg);

/* Local calls: a method run without HTTP/2, for the JSON gateway. The method's responses
 * go to on_msg and its end to on_end (message "" for none, not percent-encoded); on_end
 * may free the call with grpc_local_free. Returns NULL for an unknown path or no memory. */
typedef void grpc_local_msg_fn(void *arg, const uint8_t *msg, size_t len);
typedef void grpc_local_end_fn(void *arg, enum grpc_status status, const char *message);
struct grpc_call *grpc_local_call(struct grpc_server *s, const char *path,
				  grpc_local_msg_fn *on_msg, grpc_local_end_fn *on_end, void *arg);
/* The same for a method not served (no server: no counters, no loop): a Raft entry
 * applied on a member that no client waits on. arg NULL: the sinks get the call itself. */
struct grpc_call *grpc_method_call(const struct grpc_method *m, void *ctx,
				   grpc_local_msg_fn *on_msg, grpc_local_end_fn *on_end, void *arg);
/* Hands the method one request message, or the client's end of the stream. */
void grpc_local_deliver(struct grpc_call *call, const uint8_t *msg, size_t len);
void grpc_local_half_close(struct grpc_call *call);
/* Ends a local call: the method's on_gone if it has not finished, then frees it. */
void grpc_local_free(struct grpc_call *call);
/* The bytes the local call's sink has taken and not yet passed on (a gateway client that
 * does not read): what grpc_call_pending reports for the call, so that a streaming method
 * holds back as it does for a slow HTTP/2 client. */
void grpc_local_set_pending(struct grpc_call *call, size_t bytes);

/* Queues one response message (copied). Returns 0, -ENOMEM, or -EPIPE if the call has
 * already finished or its stream is gone. */
int grpc_send(struct grpc_call *call, const uint8_t *msg, size_t len);
/* Ends the call: the queued messages, then trailers with status and message (NULL or ""
 * for none; percent-encoded as gRPC wants). */
void grpc_finish(struct grpc_call *call, enum grpc_status status, const char *message);
/* A request header (metadata) of the call, e.g. "hasleader"; NULL if absent. Names are
 * lower case. */
const char *grpc_call_header(const struct grpc_call *call, const char *name);
void grpc_call_set_data(struct grpc_call *call, void *data);
void *grpc_call_data(const struct grpc_call *call);
/* The ctx the call's server (or local call) was given: the method's ctx. */
void *grpc_call_ctx(const struct grpc_call *call);
/* The handler answers the call later, from outside its callbacks (a reply held until the
 * log is durable): the client's half-close no longer ends it with "no response", and if the
 * call goes away first, gone(call, arg) runs (before the method's on_gone), after which
 * the call must not be used. gone NULL undoes it. */
typedef void grpc_defer_gone_fn(struct grpc_call *call, void *arg);
void grpc_call_defer(struct grpc_call *call, grpc_defer_gone_fn *gone, void *arg);
/* Bytes of response messages (framing included) queued on the call that HTTP/2 has not
 * taken yet: the client's flow-control window or a slow socket holds them back. A stream
 * that keeps sending watches it to notice a client that does not read. For a local call,
 * what its sink last said with grpc_local_set_pending. */
size_t grpc_call_pending(const struct grpc_call *call);
/* The loop the call's server runs on, for a method's timers. */
struct ev_loop *grpc_call_loop(const struct grpc_call *call);

#endif
