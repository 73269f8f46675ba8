/* A Raft consensus core in the manner of etcd-io/raft: messages, proposals and ticks go in,
 * a ready batch of actions comes out. It does no I/O, reads no clock and draws randomness
 * only from the seed it is given, so tests drive it message by message.
 *
 * The shell's loop: feed raft_step() the peers' messages, raft_tick() every heartbeat
 * interval divided by heartbeat_tick, then while raft_has_ready(): raft_ready(), make the
 * hard state, snapshot and entries durable, send the messages, apply the committed entries
 * in order, raft_advance(). Messages must not leave before what the same batch asks to
 * persist is durable: a vote or an acknowledgement sent before it would be forgotten by a
 * crash. Steps and ticks may come between raft_ready() and raft_advance(). */
#ifndef CABIN_KV_RAFT_H
#define CABIN_KV_RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RAFT_MAX_MEMBERS 32
#define RAFT_MAX_INFLIGHT 512

enum raft_role { RAFT_FOLLOWER, RAFT_PRECANDIDATE, RAFT_CANDIDATE, RAFT_LEADER };

enum raft_entry_type { RAFT_ENTRY_NORMAL = 0, RAFT_ENTRY_CONF = 1 };

struct raft_entry {
	uint64_t term, index;
	uint8_t type;		/* enum raft_entry_type */
	uint32_t len;
	uint8_t *data;		/* len bytes; owned by whoever holds the entry (see each use) */
};

/* A CONF entry's data starts with the change (1 byte) and the member's id (8 bytes,
 * little-endian); the rest is the application's (etcd's member record). One change at a
 * time; it takes effect in the core when the entry is applied. */
enum raft_conf_op {
	RAFT_CONF_ADD_VOTER = 0,	/* a new voter, or a learner promoted */
	RAFT_CONF_ADD_LEARNER = 1,
	RAFT_CONF_REMOVE = 2,
	RAFT_CONF_UPDATE = 3,		/* the application's data only */
	RAFT_CONF_REFUSED = 4,		/* a promotion the leader refused: changes nothing */
};
#define RAFT_CONF_HEAD 9

/* Writes a CONF entry's head into buf (RAFT_CONF_HEAD bytes). */
void raft_conf_head(uint8_t *buf, enum raft_conf_op op, uint64_t id);
/* Reads it back: 0, or -EINVAL if data is shorter than the head or the op unknown. */
int raft_conf_parse(const uint8_t *data, size_t len, enum raft_conf_op *op, uint64_t *id);

/* The members: voters and learners, in no particular order. */
struct raft_conf {
	uint32_t n;
	uint64_t id[RAFT_MAX_MEMBERS];
	uint8_t learner[RAFT_MAX_MEMBERS];
};

/* What a snapshot covers: the state after applying every entry up to index. */
struct raft_snap_meta {
	uint64_t index, term;
	struct raft_conf conf;
};

/* What must survive a crash besides the log. */
struct raft_hard_state {
	uint64_t term, vote, commit;
};

enum raft_msg_type {
	RAFT_MSG_APP = 1,	/* entries after (index, log_term); the leader's commit */
	RAFT_MSG_APP_RESP,	/* index: the last entry matched, or the rejected index with
				 * the follower's hint and the term there */
	RAFT_MSG_VOTE,		/* for term; the candidate's last (index, log_term); ctx 1:
				 * a leadership transfer, which no leader lease stops */
	RAFT_MSG_VOTE_RESP,
	RAFT_MSG_PREVOTE,	/* would you vote in term? (no one's term changes) */
	RAFT_MSG_PREVOTE_RESP,
	RAFT_MSG_HEARTBEAT,	/* commit (at most the follower's match); ctx: read round */
	RAFT_MSG_HEARTBEAT_RESP,
	RAFT_MSG_SNAP,		/* snap: the shell sends its state machine with it */
	RAFT_MSG_TIMEOUT_NOW,	/* campaign now: the leader hands over */
	RAFT_MSG_PROP,		/* entries proposed at a follower, for the leader */
	RAFT_MSG_READ_INDEX,	/* ctx: the asker's; for the leader */
	RAFT_MSG_READ_INDEX_RESP, /* index: read once applied; ctx echoed */
	RAFT_MSG_TRANSFER,	/* to the leader: hand leadership to `index` */
};
#define RAFT_MSG_LAST RAFT_MSG_TRANSFER

struct raft_msg {
	uint8_t type;		/* enum raft_msg_type */
	bool reject;
	uint64_t from, to, term;
	uint64_t index, log_term, commit, hint, ctx;
	struct raft_snap_meta snap;
	size_t n_entries;
	struct raft_entry *entries;
};

/* The message type's name ("MsgApp"...), or "?" */
const char *raft_msg_name(int type);

/* Allocation as realloc (size 0 frees and returns NULL); ctx is passed through. */
struct raft_alloc {
	void *(*fn)(void *ctx, void *ptr, size_t size);
	void *ctx;
};

struct raft_config {
	uint64_t id;			/* this member, not 0 */
	unsigned election_tick;		/* ticks without a leader before campaigning (10) */
	unsigned heartbeat_tick;	/* ticks between a leader's heartbeats (1) */
	uint64_t seed;			/* for the randomised election timeouts */
	bool pre_vote;			/* ask before disrupting a term (etcd: on) */
	bool check_quorum;		/* a leader out of touch with a quorum steps down; a
					 * member that hears a leader grants no votes */
	size_t max_msg_bytes;		/* entry bytes per MsgApp, at least one entry (1 MiB) */
	unsigned max_inflight;		/* MsgApps in flight per follower (1..RAFT_MAX_INFLIGHT) */
	size_t max_apply_bytes;		/* committed entry bytes per ready, at least one (64 MiB) */
	const struct raft_alloc *alloc;	/* copied; NULL: libc */
};

/* Sets the defaults noted above; the caller sets id and seed. */
void raft_config_defaults(struct raft_config *c);

struct raft;

/* A new member with an empty log and no members known. Returns 0 with *out set (the
 * caller's, for raft_free), -EINVAL for a bad config, -ENOMEM. */
int raft_new(const struct raft_config *c, struct raft **out);
void raft_free(struct raft *r);

/* Starts a new cluster: entries 1..n at term 1, committed, each a CONF entry (borrowed;
 * data copied) adding one initial member. Every initial member must bootstrap with the
 * same entries. Only on a new member. Returns 0, -EINVAL, -ENOMEM. */
int raft_bootstrap(struct raft *r, const struct raft_entry *confs, size_t n);

/* What a member had made durable, to continue from after a restart. */
struct raft_boot {
	struct raft_hard_state hs;
	struct raft_snap_meta snap;	/* the latest snapshot; index 0 if none */
	const struct raft_entry *ents;	/* the log after snap.index, in order (borrowed) */
	size_t n;
	uint64_t applied;		/* what the state machine holds (>= snap.index) */
};
/* Only on a new member. Entries after applied up to hs.commit come back to be applied.
 * Returns 0, -EINVAL if the parts do not fit together, -ENOMEM. */
int raft_restart(struct raft *r, const struct raft_boot *b);

/* A message from a peer (borrowed; entries copied). Returns 0 when taken or ignored as
 * Raft ignores stale messages, -EINVAL if it is malformed (not for this member, entries
 * out of sequence...), -ENOMEM (the message is lost; Raft recovers). */
int raft_step(struct raft *r, const struct raft_msg *m);
void raft_tick(struct raft *r);
/* Starts an election now, if this member may vote. */
void raft_campaign(struct raft *r);

/* Proposes an entry (data copied): appended if this is the leader, forwarded to the leader
 * otherwise. Returns 0; -EAGAIN: no leader known; -EBUSY: the leader is handing over, or a
 * CONF entry while another is not yet applied; -EINVAL: a CONF entry without its head;
 * -EPERM: this member was removed; -ENOMEM. Entries may still be lost: the application
 * learns the outcome when it applies them. */
int raft_propose(struct raft *r, uint8_t type, const void *data, uint32_t len);
/* Asks for a linearizable read: a later ready carries (index, ctx); once the state machine
 * has applied index, a read sees every write acknowledged before this call. Returns 0,
 * -EAGAIN (no leader known), -ENOMEM. A lost request is never answered: time it out. */
int raft_read_index(struct raft *r, uint64_t ctx);
/* Asks the leader to hand leadership to member `to`. Returns 0, -EAGAIN, -EINVAL. */
int raft_transfer(struct raft *r, uint64_t to);
/* The shell saw the leader's connection end (its process died, most likely): a follower
 * stops waiting for its heartbeats, grants pre-votes at once and campaigns at the next
 * tick. A leader that is in fact alive wins its followers back with its next heartbeat,
 * or loses an election: slower, never unsafe. Other ids and roles are ignored. */
void raft_leader_lost(struct raft *r, uint64_t id);
/* The shell could not reach a peer / finished sending it a snapshot. */
void raft_report_unreachable(struct raft *r, uint64_t id);
void raft_report_snapshot(struct raft *r, uint64_t id, bool ok);

/* Records that the state machine's state at index (at most the applied index) is durable
 * as a snapshot: *meta says what it covers, for the shell to keep with it. Returns 0;
 * -EALREADY if the core has a snapshot as new (perhaps a leader's, not yet handed out);
 * -EAGAIN if a configuration change was applied after index (take a newer one); -EINVAL
 * if index is beyond the applied one or before the log held in memory. */
int raft_snapshot(struct raft *r, uint64_t index, struct raft_snap_meta *meta);
/* Drops the entries up to index (at most the snapshot's) from memory; a follower needing
 * them gets the snapshot. Returns 0, -EINVAL, -ENOMEM. */
int raft_compact(struct raft *r, uint64_t index);

struct raft_read {
	uint64_t index, ctx;
};

struct raft_ready {
	enum raft_role role;			/* always set, as is lead and term */
	uint64_t lead, term;
	bool hs_changed;
	struct raft_hard_state hs;
	const struct raft_snap_meta *snap;	/* a snapshot taken from the leader: install
						 * its state before applying anything */
	const struct raft_entry *entries;	/* append; entries from entries[0].index on
						 * that the log holds are replaced */
	size_t n_entries;
	const struct raft_msg *msgs;		/* send once the above is durable */
	size_t n_msgs;
	const struct raft_entry *committed;	/* apply, in order */
	size_t n_committed;
	const struct raft_read *reads;		/* linearizable reads answered */
	size_t n_reads;
};

bool raft_has_ready(const struct raft *r);
/* Fills rd with what is to be done; everything in it is the core's, valid until
 * raft_advance(). Returns 0, -EBUSY if the last ready was not advanced, -ENOMEM. */
int raft_ready(struct raft *r, struct raft_ready *rd);
/* The batch of the last raft_ready() is done. */
void raft_advance(struct raft *r);

enum raft_pr_state { RAFT_PR_PROBE, RAFT_PR_REPLICATE, RAFT_PR_SNAPSHOT };

struct raft_status {
	uint64_t id, term, vote, lead, commit, applied, first_index, last_index;
	enum raft_role role;
	uint64_t lead_transferee;
	struct raft_snap_meta snap;
	struct raft_conf conf;
	struct {
		uint64_t match, next;
		enum raft_pr_state state;
		bool recent_active;
	} pr[RAFT_MAX_MEMBERS];			/* by conf's order; a leader's view */
};
void raft_status(const struct raft *r, struct raft_status *st);

#endif
