/* The Raft core's insides, shared by its files: the log, each follower's progress as the
 * leader sees it, the read-index rounds, the outbox. */
#ifndef CABIN_KV_RAFT_INT_H
#define CABIN_KV_RAFT_INT_H

#include "raft.h"

/* The entries held in memory: those after (off_index, off_term), up to the last. */
struct raft_log {
	struct raft_entry *e;		/* e[start .. start+n): indexes off_index+1 on */
	size_t start, n, cap;
	uint64_t off_index, off_term;
	uint64_t committed;
	uint64_t applied;		/* the state machine has it */
	uint64_t applying;		/* handed out to apply, up to here */
	uint64_t unstable;		/* first index not known durable */
};

struct raft_progress {
	uint64_t id, match, next;
	uint8_t state;			/* enum raft_pr_state */
	bool learner, probe_sent, recent_active;
	int8_t vote;			/* in this election: 1 granted, -1 refused */
	uint64_t pending_snap;		/* the snapshot's index, in RAFT_PR_SNAPSHOT */
	uint64_t read_ack;		/* the latest read round it answered */
	unsigned infl_start, infl_n;	/* the last index of each MsgApp in flight */
	uint64_t infl[RAFT_MAX_INFLIGHT];
};

/* A read waiting for its round to be confirmed by a quorum (round 0: waiting for the
 * leader's first commit in its term, as the index is not known before). */
struct raft_pending_read {
	uint64_t from, ctx, index, round;
};

struct raft_vec {
	void *p;
	size_t n, cap;
};

struct raft {
	struct raft_config cfg;
	struct raft_alloc alloc;
	uint64_t id, term, vote, lead;
	enum raft_role role;
	struct raft_log log;
	struct raft_snap_meta snap;		/* the latest snapshot */
	bool snap_new;				/* taken from a leader, to hand out */

	struct raft_progress *prs;		/* the members, RAFT_MAX_MEMBERS slots */
	unsigned n_prs;
	uint64_t conf_index;			/* the last CONF entry applied */
	uint64_t pending_conf;			/* a leader's last CONF entry proposed */
	bool removed;				/* this member was removed */

	unsigned election_elapsed, heartbeat_elapsed, timeout;
	uint64_t rng;
	uint64_t transferee;

	struct raft_vec reads_pending;		/* struct raft_pending_read */
	uint64_t read_round;
	struct raft_vec reads;			/* struct raft_read: answered, local */
	struct raft_vec msgs;			/* struct raft_msg */

	/* what the outstanding ready handed out */
	bool ready_out;
	struct raft_ready rd;
	struct raft_snap_meta out_snap;
	struct raft_vec out_msgs, out_reads, out_ents, out_committed;
	uint64_t out_last_index, out_last_term;	/* the last entry given to persist */
	uint64_t out_applying;
	struct raft_hard_state prev_hs;
	struct raft_vec graveyard;		/* data dropped since the last ready */
	struct raft_vec graveyard_out;		/* ... before it: freed at advance */
};

/* raft.c */
void *raft_mem(struct raft *r, void *p, size_t size);
int raft_vec_grow(struct raft *r, struct raft_vec *v, size_t elem, size_t more);
void raft_send(struct raft *r, struct raft_msg *m);
void raft_become_follower(struct raft *r, uint64_t term, uint64_t lead);
void raft_step_leader(struct raft *r, const struct raft_msg *m);
int raft_leader_propose(struct raft *r, uint8_t type, const void *data, uint32_t len);
int raft_leader_transfer(struct raft *r, uint64_t to);
struct raft_progress *raft_pr(struct raft *r, uint64_t id);
unsigned raft_quorum(const struct raft *r);
void raft_free_data(struct raft *r, uint8_t *data);

/* raft_log.c */
uint64_t raft_last_index(const struct raft *r);
uint64_t raft_last_term(const struct raft *r);
/* The term of entry i, or 0 if it is not held (compacted or beyond the end). */
uint64_t raft_term(const struct raft *r, uint64_t i);
const struct raft_entry *raft_entry_at(const struct raft *r, uint64_t i);
bool raft_up_to_date(const struct raft *r, uint64_t index, uint64_t term);
/* Appends copies of ents (consecutive), first truncating everything from ents[0].index.
 * Returns 0 or -ENOMEM with nothing changed. */
int raft_log_append(struct raft *r, const struct raft_entry *ents, size_t n);
/* Follower: appends what of ents after (index, term) is new and commits up to commit.
 * Returns 1 with *last the message's last index, 0 if (index, term) does not match,
 * -EINVAL if it would rewrite a committed entry, -ENOMEM. */
int raft_log_maybe_append(struct raft *r, uint64_t index, uint64_t term, uint64_t commit,
			  const struct raft_entry *ents, size_t n, uint64_t *last);
void raft_commit_to(struct raft *r, uint64_t commit);
/* The first index at or before i whose term is at most term (etcd's findConflictByTerm). */
uint64_t raft_conflict_by_term(const struct raft *r, uint64_t i, uint64_t term);
/* Entries from lo, as many as fit max_bytes (at least one); *n set. NULL if lo is not held. */
const struct raft_entry *raft_log_slice(const struct raft *r, uint64_t lo, size_t max_bytes,
					size_t *n);
/* Replaces the whole log with a snapshot's starting point. Returns 0 or -ENOMEM. */
int raft_log_reset(struct raft *r, uint64_t index, uint64_t term);
void raft_log_free(struct raft *r);

/* raft_repl.c: the leader's side */
void raft_pr_reset(struct raft *r);
void raft_bcast_append(struct raft *r);
void raft_bcast_heartbeat(struct raft *r);
bool raft_send_append(struct raft *r, struct raft_progress *pr, bool if_empty);
bool raft_maybe_commit(struct raft *r);
void raft_leader_app_resp(struct raft *r, const struct raft_msg *m, struct raft_progress *pr);
void raft_leader_hb_resp(struct raft *r, const struct raft_msg *m, struct raft_progress *pr);
void raft_leader_read_index(struct raft *r, uint64_t from, uint64_t ctx);
void raft_release_pending_reads(struct raft *r);
void raft_confirm_reads(struct raft *r);
void raft_reads_drop(struct raft *r);
void raft_send_timeout_now(struct raft *r, uint64_t to);

/* raft_conf.c */
int raft_conf_add(struct raft *r, uint64_t id, bool learner);
void raft_conf_apply(struct raft *r, const struct raft_entry *e);
void raft_conf_set(struct raft *r, const struct raft_conf *c);
void raft_conf_get(const struct raft *r, struct raft_conf *c);
bool raft_promotable(const struct raft *r);

#endif
