/* Internals of the etcd services over Raft, shared by kv/svc_raft.c (proposals, waiting
 * clients, reads, applying) and kv/svc_raft_node.c (peers, membership, start and stop).
 * Not an API. */
#ifndef CABIN_KV_SVC_RAFT_INT_H
#define CABIN_KV_SVC_RAFT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node.h"
#include "peer.h"
#include "svc_int.h"

#define BUCKETS 1024
#define WAIT_MS 7000		/* etcd's request timeout: 5 s + 2 election timeouts */
#define SWEEP_MS 500

/* A client waiting for its entry to be applied. */
struct waiter {
	struct waiter *next;
	struct svc_raft *sr;
	struct grpc_call *call;
	uint64_t seq, deadline;
	enum svc_answer answer;
};

struct svc_raft {
	struct kv_service *svc;
	struct kv_node *node;
	struct ev_loop *loop;
	uint64_t seq;
	struct waiter *bucket[BUCKETS];
	size_t waiting;
	struct reader *reads;		/* linearizable reads, newest first */
	uint64_t read_round;		/* the last ReadIndex asked (its ctx) */
	bool read_asked;		/* reads without a round wait for the next */
	long sweep_timer;
	long retry_timer;
	struct peer_net *net;		/* NULL: a member on its own, no peer port */
	struct tport_tls *tls_in, *tls_out;	/* --peer-* TLS (NULL: plain) */
	bool published;			/* the table has this member's client URLs */
	int err;			/* the Raft log cannot be written */
	uint64_t lead;			/* the leader as last known */
	uint64_t applied;
	/* snapshots (svc_raft_snap.c) */
	uint64_t snap_want[RAFT_MAX_MEMBERS];	/* members Raft asked a snapshot for */
	unsigned n_want;
	struct snap_out *outs;		/* snapshots being sent */
	long snap_timer;
	struct snap_in *in;		/* one being received (NULL: none) */
	bool restarting;
	bool removed;			/* ... to stop: removed from the cluster */
	long restart_timer;
	char dir[512];			/* DATA_DIR */
};

/* A linearizable read: the request (copied), then the index it may run at once that is
 * applied (0 until the leader said). */
struct reader {
	struct reader *next;
	struct svc_raft *sr;
	struct grpc_call *call;
	uint64_t round, index, deadline;
	void (*run)(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx);
	size_t len;
	uint8_t msg[];
};

/* svc_raft.c */
struct waiter *svcr_take(struct svc_raft *sr, uint64_t seq);
struct waiter *svcr_waiter_new(struct svc_raft *sr, struct grpc_call *call,
			       enum svc_answer answer);
void svcr_waiter_add(struct svc_raft *sr, struct waiter *w);
/* A waiter done without its answer: the client hears why (a keepalive's stream stays). */
void svcr_waiter_fail(struct waiter *w, enum grpc_status st, const char *why);
void svcr_fail_waiters(struct svc_raft *sr, enum grpc_status st, const char *why);
void svcr_fail_propose(struct grpc_call *call, int rc);
/* The timer that fails what waited too long, and publishes this member's URLs. */
void svcr_sweep(struct ev_loop *loop, void *arg);
size_t svcr_keepalives(struct svc_raft *sr, struct grpc_call *call, bool forget);
void svcr_run_reads(struct svc_raft *sr, const char *why);
void svcr_ask_reads(struct svc_raft *sr);
/* node.h's callbacks */
void svcr_apply(void *ctx, const struct raft_entry *e);
void svcr_applied(void *ctx, uint64_t index);
void svcr_role(void *ctx, enum raft_role r, uint64_t lead, uint64_t term);
void svcr_read_answered(void *ctx, uint64_t index, uint64_t round);

/* svc_raft_node.c */
void svcr_publish(struct svc_raft *sr);

/* svc_raft_snap.c. want: Raft asks for a snapshot to member id (from its MsgSnap). The
 * pieces and the MsgSnap of one coming in; a peer's connection down (a snapshot to it
 * starts again when Raft asks). install: node_cbs.install. pump: after each batch. */
void svcr_snap_want(struct svc_raft *sr, uint64_t id);
void svcr_snap_piece(void *ctx, uint64_t from, const struct peer_snap *s);
void svcr_snap_msg(struct svc_raft *sr, const struct raft_msg *m);
void svcr_snap_down(struct svc_raft *sr, uint64_t id);
int svcr_snap_install(void *ctx, const struct raft_snap_meta *m);
void svcr_snap_after(struct svc_raft *sr);
void svcr_snap_stop(struct svc_raft *sr);
/* This member's removal was applied: it stops serving (from a timer). */
void svcr_removed(struct svc_raft *sr);

#endif
