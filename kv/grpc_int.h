/* Internals of the gRPC server shared by its files: the call, connection and server
 * structs (grpc.c) and the per-method statistics (grpc_stats.c). */
#ifndef CABIN_GRPC_INT_H
#define CABIN_GRPC_INT_H

#include <nghttp2/nghttp2.h>

#include "grpc.h"

#define LISTEN_MAX 8
#define HDRS_MAX 16
#define READ_CHUNK 65536

struct hdr {
	char *name, *value;
};

struct conn;

struct grpc_call {
	struct conn *conn;		/* NULL for a local call */
	struct grpc_server *srv;
	uint64_t t0_ns;			/* when the method was found, for its histogram */
	void *ctx;			/* the server's, for the method */
	grpc_local_msg_fn *local_msg;	/* a local call's sinks (the JSON gateway) */
	grpc_local_end_fn *local_end;
	void *local_arg;
	size_t local_pending;		/* grpc_local_set_pending: the sink's unsent bytes */
	int32_t id;
	const struct grpc_method *m;
	char path[128];
	char content_type[64];
	struct hdr hdrs[HDRS_MAX];
	int n_hdrs;
	uint8_t *in;			/* an incomplete request message */
	size_t in_len, in_cap;
	uint8_t *out;			/* framed responses not yet taken by nghttp2 */
	size_t out_len, out_off, out_cap;
	int started;			/* response HEADERS submitted */
	int finished;			/* grpc_finish called */
	int status;
	char *message;
	void *data;
	grpc_defer_gone_fn *defer_gone;	/* grpc_call_defer */
	void *defer_arg;
	struct grpc_call *prev, *next;
};

#define H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define H2_PREFACE_LEN 24

struct conn {
	struct grpc_server *s;
	struct tport *t;		/* the socket, plain or TLS; NULL once handed over */
	long hs_timer;			/* a TLS client's first bytes are due */
	int is_h2;			/* the client's first bytes were the HTTP/2 preface */
	uint8_t sniff[H2_PREFACE_LEN];	/* those bytes until then */
	size_t n_sniff;
	nghttp2_session *h2;
	uint8_t *w;			/* bytes for the socket */
	size_t w_len, w_off, w_cap;
	int in_recv;			/* inside nghttp2 callbacks: flush afterwards */
	long flush_timer;		/* a flush is due at the next loop turn */
	uint32_t watching;		/* the events asked of the loop */
	int dead;
	struct grpc_call *calls;
	struct conn *prev, *next;
};

struct grpc_server {
	struct ev_loop *loop;
	const struct grpc_method *methods;
	size_t n_methods;
	void *ctx;
	int lfd[LISTEN_MAX];
	struct tport_tls *ltls[LISTEN_MAX];	/* each listener's TLS settings, or NULL */
	int n_lfd;
	struct conn *conns;
	struct method_stats *stats;	/* one per method */
	grpc_http1_fn *http1;		/* who takes connections that are not HTTP/2 */
	void *http1_arg;
	struct grpc_call *spare;	/* ended calls of connections, kept with their buffers
					 * for the next ones (linked through next) */
	size_t n_spare;
};

/* One method's statistics; the histogram's buckets are in grpc_stats.c. */
#define GRPC_N_BUCKETS 11
struct method_stats {
	uint64_t started;
	uint64_t handled[GRPC_UNAUTHENTICATED + 1];
	uint64_t bucket[GRPC_N_BUCKETS];	/* not cumulative; summed when written */
	double sum;
};

/* grpc_call.c: a zeroed call for a connection of s (NULL: out of memory); a call's end as
 * its method sees it (on_gone, the deferred gone) before it is freed, and the freeing
 * (also unlinking it from its connection; a connection's call may be kept for the next);
 * the kept calls freed, with the server. */
struct grpc_call *grpc_call_new(struct grpc_server *s);
void grpc_call_gone(struct grpc_call *call);
void grpc_call_free(struct grpc_call *call);
void grpc_spares_free(struct grpc_server *s);

/* grpc_stats.c: a call's method started / ended with a status (counters and the latency
 * histogram behind grpc_server_metrics). No-ops for a call without a method. */
void grpc_stats_start(struct grpc_call *call);
void grpc_stats_end(struct grpc_call *call, enum grpc_status st);

#endif
