/* An in-memory cluster of Raft cores for the transcript tests and the simulation: each
 * member with the storage a crash keeps and a state machine (the hash of every applied
 * entry), a queue of messages between them, cuts between members, and the safety checks
 * of the Raft paper run on every ready. */
#ifndef CABIN_RAFTTEST_H
#define CABIN_RAFTTEST_H

#include <stdbool.h>
#include <stdint.h>

#include "../../../kv/raft.h"
#include "../transcript.h"

#define RT_MAX 8

struct rt_node {
	uint64_t id;
	struct raft *r;			/* NULL while down or not yet started */
	struct raft_config cfg;
	/* what survives a crash */
	struct raft_hard_state hs;
	struct raft_snap_meta snap;
	uint64_t *snap_vals, snap_applied;	/* the state machine kept with snap */
	struct raft_entry *log;			/* the entries after snap.index */
	size_t nlog, caplog;
	/* the state machine: vals[i] is the hash of entry i as applied */
	uint64_t *vals, applied;
	size_t capvals;
	uint64_t reads;				/* linearizable reads answered */
	uint64_t last_read_index, last_read_ctx;
	uint64_t restarts;
	bool started;				/* rt_start ran: it may restart */
	int boot_voters, boot_learners;		/* how it started */
	uint64_t *pending_vals, pending_applied;	/* came with the last MsgSnap */
	int shown_role;				/* the soft state last printed */
	uint64_t shown_lead, shown_term;
};

struct rt_msg {
	struct raft_msg m;			/* entries and their data owned */
	uint64_t *vals, applied;		/* MsgSnap: the sender's state machine */
};

struct rt_net {
	struct rt_node node[RT_MAX + 1];	/* by id, 1..n */
	int n;
	struct rt_msg *q;
	size_t nq, capq;
	bool cut[RT_MAX + 1][RT_MAX + 1];
	struct tr_out *out;			/* where readies and messages print; NULL: silent */
	const struct raft_alloc *alloc;		/* for every core; NULL: libc */
	/* what the checks know: the hash of each entry applied anywhere, the leader of each
	 * term seen */
	uint64_t *gvals;
	size_t ngvals, capg;
	uint64_t *leaders;
	size_t nleaders;
	uint64_t *read_floor;			/* by read ctx: the commit when asked */
	size_t nfloor;
	int violations;
	char why[512];
};

/* A network of members 1..n (not started): cfg is the template for every one. */
void rt_init(struct rt_net *net, int n, const struct raft_config *cfg);
void rt_free(struct rt_net *net);
/* Starts member id: a new cluster of voters 1..voters (and learners after them up to
 * voters+learners) when voters > 0, else empty, to be added by the others. 0 or rc. */
int rt_start(struct rt_net *net, uint64_t id, int voters, int learners);
/* Crashes member id (what was not handed to storage is lost) / restarts it from storage. */
void rt_crash(struct rt_net *net, uint64_t id);
int rt_restart(struct rt_net *net, uint64_t id);
/* Handles one ready of member id, if it has one: persists, queues messages, applies.
 * Returns whether it had one. */
bool rt_ready(struct rt_net *net, uint64_t id);
/* Delivers queued message k (removed from the queue): stepped into its member unless that
 * is down or cut off from the sender. */
void rt_deliver(struct rt_net *net, size_t k);
void rt_drop(struct rt_net *net, size_t k);
/* Queues a copy of message k at the end. */
void rt_dup(struct rt_net *net, size_t k);
/* Runs readies and deliveries until no member has anything to do (or max rounds). Returns
 * the rounds run. */
int rt_stabilize(struct rt_net *net, int max_rounds);
/* The state machine's snapshot at member id: raft_snapshot plus storage, then compacts the
 * core's log keeping `keep` entries. 0 or rc. */
int rt_snapshot(struct rt_net *net, uint64_t id, uint64_t keep);
/* Checks that any two live members' logs agree up to every index where they hold entries
 * of the same term (log matching). Counts violations. */
void rt_check_logs(struct rt_net *net);

/* Asks member id for a linearizable read; its answer is checked against the highest commit
 * index any member knew when asked. Returns raft_read_index's code. */
int rt_read(struct rt_net *net, uint64_t id);
/* Runs the per-operation checks on member id (election safety, leader completeness);
 * the rt_ functions call it themselves, tests call it after stepping a core directly. */
void rt_observe(struct rt_net *net, uint64_t id);

void rt_print_msg(struct tr_out *o, const struct raft_msg *m);
uint64_t rt_entry_hash(const struct raft_entry *e);
/* The id of the member that is leader of the highest term among live members, or 0. */
uint64_t rt_leader(const struct rt_net *net);

#endif
