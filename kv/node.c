/* A member's Raft shell (see node.h): ticks from a loop timer, readies carried out once per
 * turn, and the log compacted behind the state machine. A ready whose log write failed
 * stays handed out and is written again at the next turn; nothing of it goes out before. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "node.h"
#include "rlog.h"

#define KEEP_ENTRIES 5000	/* kept after a compaction for followers a little behind
				 * (at most the entries between compactions) */
#define COMPACT_EVERY 10000	/* entries between compactions, at most */
#define HOLD_MAX 100000		/* entries a live follower may hold a compaction back */
#define ALONE_EVERY 1000	/* ... for a voter alone */

struct kv_node {
	struct ev_loop *loop;
	struct raft *r;
	struct rlog *log;
	struct node_cbs cb;
	unsigned heartbeat_ms;
	long tick_timer;
	bool out;			/* a ready handed out, not yet carried out */
	bool appended;			/* its records are in the log's pending buffer */
	struct raft_ready rd;
	int err;
	uint64_t compact_every;
	enum raft_role role;
	uint64_t lead, term;
	bool staged;			/* the handed-out snapshot is installed */
	bool stopped;			/* after a snapshot: the member restarts */
};

static void tick(struct ev_loop *loop, void *arg)
{
	struct kv_node *n = arg;
	long id = ev_timer(loop, n->heartbeat_ms, tick, n);

	n->tick_timer = id > 0 ? id : 0;
	if (!n->tick_timer)
		log_warnx("kv: raft: cannot set the tick timer: out of memory");
	raft_tick(n->r);
}

static int start_core(struct kv_node *n, const struct node_opts *o, struct rlog_boot *b,
		      char *err, size_t errlen)
{
	struct raft_config c;
	int rc;

	raft_config_defaults(&c);
	c.id = o->id;
	c.seed = o->seed ^ o->id;
	c.heartbeat_tick = 1;
	c.election_tick = o->election_ms / (o->heartbeat_ms ? o->heartbeat_ms : 1);
	if (c.election_tick < 2)
		c.election_tick = 2;
	if ((rc = raft_new(&c, &n->r)) < 0) {
		snprintf(err, errlen, "raft: %s", rc == -ENOMEM ? "out of memory" : "bad settings");
		return rc;
	}
	if (b->fresh) {
		if (o->n_bootstrap && (rc = raft_bootstrap(n->r, o->bootstrap, o->n_bootstrap)) < 0)
			snprintf(err, errlen, "raft: cannot start the cluster: %s",
				 rc == -ENOMEM ? "out of memory" : "bad member list");
		return rc;
	}
	uint64_t last = b->snap.index + b->n;
	struct raft_boot boot = {.hs = b->hs, .snap = b->snap, .ents = b->ents, .n = b->n,
				 .applied = o->applied};
	/* the state machine may be ahead of the log (it came with a leader's snapshot) or,
	 * never, behind its snapshot */
	if (boot.applied > last)
		boot.applied = last;
	if (boot.applied < b->snap.index) {
		snprintf(err, errlen, "raft: the store is at entry %llu but the Raft log starts "
			 "after %llu: the data directory is damaged",
			 (unsigned long long)o->applied, (unsigned long long)b->snap.index);
		return -EINVAL;
	}
	/* a crash may keep a hard state whose commit is past the entries that made it:
	 * commit needs no durability, the entries are what counts */
	if (boot.hs.commit > last)
		boot.hs.commit = last;
	if (boot.hs.commit < boot.applied)
		boot.hs.commit = boot.applied;
	if ((rc = raft_restart(n->r, &boot)) < 0)
		snprintf(err, errlen, "raft: the log does not fit together (%s)",
			 rc == -ENOMEM ? "out of memory" : "hard state, snapshot and entries");
	return rc;
}

int node_open(struct ev_loop *loop, const char *dir, const struct node_opts *o,
	      const struct node_cbs *cb, struct kv_node **out, char *err, size_t errlen)
{
	struct kv_node *n = calloc(1, sizeof(*n));
	struct rlog_boot b;
	int rc;

	if (!n) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	n->loop = loop;
	n->cb = *cb;
	n->heartbeat_ms = o->heartbeat_ms ? o->heartbeat_ms : 100;
	n->compact_every = o->snapshot_count && o->snapshot_count < COMPACT_EVERY
				   ? o->snapshot_count : COMPACT_EVERY;
	n->role = RAFT_FOLLOWER;
	if ((rc = rlog_open(dir, &n->log, &b, err, errlen)) < 0) {
		free(n);
		return rc;
	}
	rc = start_core(n, o, &b, err, errlen);
	if (!rc && b.fresh) {
		log_info("kv: raft: %s: a new log", dir);
	} else if (!rc) {
		struct raft_status st;
		raft_status(n->r, &st);
		log_info("kv: raft: %s: term %llu, entries %llu to %llu, committed %llu, snapshot "
			 "at %llu", dir, (unsigned long long)st.term,
			 (unsigned long long)st.first_index, (unsigned long long)st.last_index,
			 (unsigned long long)st.commit, (unsigned long long)st.snap.index);
	}
	rlog_boot_free(&b);
	if (rc < 0) {
		node_close(n);
		return rc;
	}
	/* the committed membership entries take effect when applied: apply them now */
	if ((rc = node_process(n, 0)) < 0) {
		snprintf(err, errlen, "raft: cannot write the log in %s: %s", dir, strerror(-rc));
		node_close(n);
		return rc;
	}
	struct raft_status st;
	raft_status(n->r, &st);
	if (st.conf.n == 1 && st.conf.id[0] == o->id && !st.conf.learner[0]) {
		raft_campaign(n->r);	/* alone: no one to wait for */
	} else {
		/* etcd's initial election tick advance: the first election comes after one
		 * tick or a few, not a whole timeout, unless a leader speaks first */
		for (unsigned i = 1; i < o->election_ms / n->heartbeat_ms; i++)
			raft_tick(n->r);
	}
	if (loop) {
		long id = ev_timer(loop, n->heartbeat_ms, tick, n);
		n->tick_timer = id > 0 ? id : 0;
	}
	*out = n;
	return 0;
}

void node_close(struct kv_node *n)
{
	if (!n)
		return;
	if (n->tick_timer)
		ev_cancel(n->loop, n->tick_timer);
	raft_free(n->r);
	rlog_close(n->log);
	free(n);
}

int node_propose(struct kv_node *n, uint8_t type, const void *data, size_t len)
{
	if (len > UINT32_MAX)
		return -EINVAL;
	return raft_propose(n->r, type, data, (uint32_t)len);
}

int node_read_index(struct kv_node *n, uint64_t ctx)
{
	return raft_read_index(n->r, ctx);
}

int node_transfer(struct kv_node *n, uint64_t to)
{
	return raft_transfer(n->r, to);
}

int node_step(struct kv_node *n, const struct raft_msg *m)
{
	return raft_step(n->r, m);
}

void node_report(struct kv_node *n, uint64_t id)
{
	raft_report_unreachable(n->r, id);
}

void node_report_snapshot(struct kv_node *n, uint64_t id, bool ok)
{
	raft_report_snapshot(n->r, id, ok);
}

int node_snapshot(struct kv_node *n, uint64_t index, struct raft_snap_meta *meta)
{
	struct raft_status st;
	int rc = raft_snapshot(n->r, index, meta);

	if (rc == -EALREADY) {	/* the core has it already (nothing applied since) */
		raft_status(n->r, &st);
		if (st.snap.index != index)
			return -EAGAIN;
		*meta = st.snap;
		return 0;
	}
	if (rc < 0)
		return rc;
	if ((rc = rlog_put_snap(n->log, meta)) < 0 || (rc = rlog_sync(n->log)) < 0)
		return rc;
	return 0;
}

bool node_stopped(const struct kv_node *n)
{
	return n->stopped;
}

void node_peer_gone(struct kv_node *n, uint64_t id)
{
	raft_leader_lost(n->r, id);
}

/* Makes the batch's log records durable. */
static int persist(struct kv_node *n)
{
	int rc = 0;

	if (!n->appended && !(rc = rlog_append(n->log, &n->rd)))
		n->appended = true;
	if (!rc)
		rc = rlog_sync(n->log);
	if (rc) {
		if (!n->err)
			log_warnx("kv: raft: cannot write the log: %s; retrying", strerror(-rc));
		n->err = rc;
		return rc;
	}
	if (n->err)
		log_warnx("kv: raft: the log is written again");
	n->err = 0;
	return 0;
}

static void carry_out(struct kv_node *n)
{
	const struct raft_ready *rd = &n->rd;

	for (size_t k = 0; k < rd->n_msgs && n->cb.send; k++)
		n->cb.send(n->cb.ctx, &rd->msgs[k]);
	if (rd->snap) {	/* the store is staged; the member restarts to take it up */
		n->stopped = true;
		return;
	}
	for (size_t k = 0; k < rd->n_committed; k++)
		n->cb.apply(n->cb.ctx, &rd->committed[k]);
	if (rd->n_committed && n->cb.applied)
		n->cb.applied(n->cb.ctx, rd->committed[rd->n_committed - 1].index);
	for (size_t k = 0; k < rd->n_reads && n->cb.read; k++)
		n->cb.read(n->cb.ctx, rd->reads[k].index, rd->reads[k].ctx);
	if (rd->role != n->role || rd->lead != n->lead || rd->term != n->term) {
		n->role = rd->role;
		n->lead = rd->lead;
		n->term = rd->term;
		if (n->cb.role)
			n->cb.role(n->cb.ctx, rd->role, rd->lead, rd->term);
	}
}

/* The state machine's log is durable up to `durable`: a snapshot there lets the Raft log
 * drop what comes before (but for KEEP_ENTRIES, for followers a little behind; one
 * down, or alive but further behind than HOLD_MAX, gets a snapshot of the store). */
static void compact(struct kv_node *n, uint64_t durable)
{
	struct raft_status st;
	struct raft_snap_meta m;

	raft_status(n->r, &st);
	if (durable > st.applied)
		durable = st.applied;
	/* a follower that answers but lags (a slow disk, a busy machine) catches up from
	 * the log rather than by a snapshot, unless it is more than HOLD_MAX behind; one
	 * not heard from recently (down) holds nothing back */
	if (st.role == RAFT_LEADER)
		for (uint32_t i = 0; i < st.conf.n; i++)
			if (st.conf.id[i] != st.id && st.pr[i].recent_active &&
			    st.pr[i].match < durable && durable - st.pr[i].match <= HOLD_MAX)
				durable = st.pr[i].match;
	/* a voter alone has no follower to keep entries for (one added later gets a
	 * snapshot): it compacts often and keeps nothing */
	bool alone = node_alone(n);
	uint64_t every = alone && n->compact_every > ALONE_EVERY ? ALONE_EVERY : n->compact_every;
	if (durable < st.snap.index + every || raft_snapshot(n->r, durable, &m) < 0)
		return;
	if (rlog_put_snap(n->log, &m) < 0 || rlog_sync(n->log) < 0)
		return;
	uint64_t room = alone ? 0 : every < KEEP_ENTRIES ? every : KEEP_ENTRIES;
	uint64_t keep = m.index > room ? m.index - room : 0;
	raft_compact(n->r, keep);
	rlog_compact(n->log, keep);
}

int node_process(struct kv_node *n, uint64_t durable)
{
	int rc;

	for (;;) {
		if (n->stopped)
			return 0;
		if (!n->out) {
			if (!raft_has_ready(n->r))
				break;
			if ((rc = raft_ready(n->r, &n->rd)) < 0)
				return rc;
			n->out = true;
			n->appended = false;
			n->staged = false;
		}
		if (n->rd.snap && !n->staged) {
			if (!n->cb.install || n->cb.install(n->cb.ctx, n->rd.snap) < 0) {
				n->stopped = true;
				return 0;
			}
			n->staged = true;
		}
		if ((rc = persist(n)) < 0)
			return rc;
		carry_out(n);
		if (n->stopped)
			return 0;
		raft_advance(n->r);
		n->out = false;
	}
	compact(n, durable);
	return 0;
}

bool node_busy(const struct kv_node *n)
{
	return !n->stopped && (n->out || raft_has_ready(n->r));
}

void node_status(const struct kv_node *n, struct raft_status *st)
{
	raft_status(n->r, st);
}

uint64_t node_leader(const struct kv_node *n)
{
	struct raft_status st;
	raft_status(n->r, &st);
	return st.lead;
}

void node_log_counters(const struct kv_node *n, uint64_t *syncs, uint64_t *bytes)
{
	struct rlog_stats st;

	rlog_stats(n->log, &st);
	*syncs = st.syncs;
	*bytes = st.bytes;
}

bool node_alone(const struct kv_node *n)
{
	struct raft_status st;
	unsigned voters = 0;

	raft_status(n->r, &st);
	for (uint32_t i = 0; i < st.conf.n; i++)
		voters += !st.conf.learner[i];
	return st.role == RAFT_LEADER && voters == 1;
}

uint64_t node_term(const struct kv_node *n)
{
	struct raft_status st;
	raft_status(n->r, &st);
	return st.term;
}
