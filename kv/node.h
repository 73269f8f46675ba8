/* A member's Raft shell: the pure core (kv/raft.h) driven by the event loop, its log on disk
 * (kv/rlog.h), and the application behind callbacks. Once per loop turn (from the
 * before-sleep hook) every ready batch is carried out in the order the core asks: the hard
 * state and entries made durable with one fdatasync, then the messages handed to the
 * transport, then the committed entries applied. */
#ifndef CABIN_KV_NODE_H
#define CABIN_KV_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/ev.h"
#include "raft.h"

struct node_cbs {
	/* A committed entry, in log order (e borrowed for the call). */
	void (*apply)(void *ctx, const struct raft_entry *e);
	/* The entries up to index have been applied (once per batch). */
	void (*applied)(void *ctx, uint64_t index);
	/* A linearizable read asked with node_read_index may go on once index is applied. */
	void (*read)(void *ctx, uint64_t index, uint64_t rctx);
	/* A message for a peer (borrowed for the call); NULL: a member on its own. */
	void (*send)(void *ctx, const struct raft_msg *m);
	/* The leader or the term changed. */
	void (*role)(void *ctx, enum raft_role role, uint64_t lead, uint64_t term);
	/* A snapshot taken from the leader is to be installed (m borrowed for the call),
	 * before anything of its batch is durable. Return 0 once the state machine's state
	 * at m->index is staged durably: the node then writes its log's snapshot record,
	 * sends the batch's messages and stops. A negative return stops it with nothing
	 * written. Either way the shell then restarts the member from disk (node_close,
	 * node_open), the state machine taking up the staged state if the log says so. */
	int (*install)(void *ctx, const struct raft_snap_meta *m);
	void *ctx;
};

struct node_opts {
	uint64_t id;
	unsigned heartbeat_ms, election_ms;	/* etcd's flags: 100 and 1000 */
	uint64_t applied;			/* the Raft index the state machine is at */
	const struct raft_entry *bootstrap;	/* a new cluster's members: CONF entries */
	size_t n_bootstrap;			/* (0: join a cluster that exists) */
	uint64_t snapshot_count;		/* entries between compactions of the log */
	uint64_t seed;
};

struct kv_node;

/* Opens the Raft log in dir (created for a new member, which bootstraps when o gives the
 * members) and starts the core, ticking on loop. Returns 0 with *out (node_close), or a
 * negative code with err saying what failed (a corrupt log: the file and offset). */
int node_open(struct ev_loop *loop, const char *dir, const struct node_opts *o,
	      const struct node_cbs *cb, struct kv_node **out, char *err, size_t errlen);
void node_close(struct kv_node *n);

/* As raft_propose / raft_read_index / raft_transfer / raft_step. */
int node_propose(struct kv_node *n, uint8_t type, const void *data, size_t len);
int node_read_index(struct kv_node *n, uint64_t ctx);
int node_transfer(struct kv_node *n, uint64_t to);
int node_step(struct kv_node *n, const struct raft_msg *m);
/* The state machine's state at index (its applied index or before) is durable as a
 * snapshot, to send to a member behind the log: the core records it (the MsgSnaps to
 * come say it covers index) and so does the log. Returns 0 with *meta; -EAGAIN (a
 * membership change applied after index: take a newer one), -EINVAL, -errno. */
int node_snapshot(struct kv_node *n, uint64_t index, struct raft_snap_meta *meta);
/* Stopped after a snapshot's installation (see node_cbs.install). */
bool node_stopped(const struct kv_node *n);
/* A message to member id could not go out. */
void node_report(struct kv_node *n, uint64_t id);
/* The sending of a snapshot to member id ended: all of it is on its way (ok), or not. */
void node_report_snapshot(struct kv_node *n, uint64_t id, bool ok);
/* Member id's connection to this one ended (raft_leader_lost). */
void node_peer_gone(struct kv_node *n, uint64_t id);

/* Carries out the ready batches (from the before-sleep hook). durable: the index up to
 * which the state machine's own log is durable, up to which the Raft log may be
 * compacted. Returns 0, or a negative code when the Raft log could not be written: nothing
 * of that batch went out, and it is tried again at the next call. */
int node_process(struct kv_node *n, uint64_t durable);
bool node_busy(const struct kv_node *n);

void node_status(const struct kv_node *n, struct raft_status *st);
uint64_t node_leader(const struct kv_node *n);
/* This member leads and is the only voter: what it applied is all there is (a
 * linearizable read needs no round of heartbeats). */
bool node_alone(const struct kv_node *n);
uint64_t node_term(const struct kv_node *n);
/* The Raft log's counters since start: fdatasyncs and record bytes written. */
void node_log_counters(const struct kv_node *n, uint64_t *syncs, uint64_t *bytes);

#endif
