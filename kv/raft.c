/* The Raft core's roles: the term rules every message passes, elections (pre-vote, and
 * the leader lease that check-quorum gives), and what followers and candidates do with
 * messages. The leader's side is in raft_repl.c, membership in raft_conf.c, the ready
 * batch and restarts in raft_ready.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "raft_int.h"

static void *libc_fn(void *ctx, void *p, size_t size)
{
	(void)ctx;
	if (size == 0) {
		free(p);
		return NULL;
	}
	return realloc(p, size);
}

void *raft_mem(struct raft *r, void *p, size_t size)
{
	return r->alloc.fn(r->alloc.ctx, p, size);
}

int raft_vec_grow(struct raft *r, struct raft_vec *v, size_t elem, size_t more)
{
	if (v->n + more <= v->cap)
		return 0;
	size_t cap = v->cap ? v->cap * 2 : 8;
	while (cap < v->n + more)
		cap *= 2;
	void *p = raft_mem(r, v->p, cap * elem);
	if (!p)
		return -ENOMEM;
	v->p = p;
	v->cap = cap;
	return 0;
}

/* Messages queued and readies handed out point into the log's data. A block dropped now
 * is freed at the advance after the next ready: every message or ready that can point to
 * it was made before the drop, so it is handed out by that ready at the latest and done
 * with at that advance. The caller made room in the graveyard. */
void raft_free_data(struct raft *r, uint8_t *data)
{
	if (data)
		((uint8_t **)r->graveyard.p)[r->graveyard.n++] = data;
}

static const char *const msg_names[] = {
	[RAFT_MSG_APP] = "MsgApp",
	[RAFT_MSG_APP_RESP] = "MsgAppResp",
	[RAFT_MSG_VOTE] = "MsgVote",
	[RAFT_MSG_VOTE_RESP] = "MsgVoteResp",
	[RAFT_MSG_PREVOTE] = "MsgPreVote",
	[RAFT_MSG_PREVOTE_RESP] = "MsgPreVoteResp",
	[RAFT_MSG_HEARTBEAT] = "MsgHeartbeat",
	[RAFT_MSG_HEARTBEAT_RESP] = "MsgHeartbeatResp",
	[RAFT_MSG_SNAP] = "MsgSnap",
	[RAFT_MSG_TIMEOUT_NOW] = "MsgTimeoutNow",
	[RAFT_MSG_PROP] = "MsgProp",
	[RAFT_MSG_READ_INDEX] = "MsgReadIndex",
	[RAFT_MSG_READ_INDEX_RESP] = "MsgReadIndexResp",
	[RAFT_MSG_TRANSFER] = "MsgTransferLeader",
};

const char *raft_msg_name(int type)
{
	if (type < RAFT_MSG_APP || type > RAFT_MSG_LAST)
		return "?";
	return msg_names[type];
}

/* Proposals, read requests and transfer requests travel to the leader without a term:
 * whoever leads when they arrive acts on them. */
static bool termless(int type)
{
	return type == RAFT_MSG_PROP || type == RAFT_MSG_READ_INDEX || type == RAFT_MSG_TRANSFER;
}

static bool is_vote(int type)
{
	return type == RAFT_MSG_VOTE || type == RAFT_MSG_PREVOTE || type == RAFT_MSG_VOTE_RESP ||
	       type == RAFT_MSG_PREVOTE_RESP;
}

/* Queues m (its entries array, if any, becomes the outbox's). A message that cannot be
 * queued is lost, which Raft is built to survive. */
void raft_send(struct raft *r, struct raft_msg *m)
{
	m->from = r->id;
	if (termless(m->type))
		m->term = 0;
	else if (!is_vote(m->type))
		m->term = r->term;
	if (raft_vec_grow(r, &r->msgs, sizeof(*m), 1) < 0) {
		raft_mem(r, m->entries, 0);
		return;
	}
	((struct raft_msg *)r->msgs.p)[r->msgs.n++] = *m;
}

static void reply(struct raft *r, const struct raft_msg *to, uint8_t type, struct raft_msg *m)
{
	m->type = type;
	m->to = to->from;
	raft_send(r, m);
}

static uint64_t rnd(struct raft *r)
{
	uint64_t z = (r->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void raft_config_defaults(struct raft_config *c)
{
	memset(c, 0, sizeof(*c));
	c->election_tick = 10;
	c->heartbeat_tick = 1;
	c->pre_vote = true;
	c->check_quorum = true;
	c->max_msg_bytes = 1 << 20;
	c->max_inflight = 256;
	c->max_apply_bytes = 64 << 20;
}

int raft_new(const struct raft_config *c, struct raft **out)
{
	struct raft_alloc a = {libc_fn, NULL};

	if (c->alloc)
		a = *c->alloc;
	if (!c->id || !c->election_tick || !c->heartbeat_tick ||
	    c->heartbeat_tick >= c->election_tick || !c->max_inflight ||
	    c->max_inflight > RAFT_MAX_INFLIGHT)
		return -EINVAL;
	struct raft *r = a.fn(a.ctx, NULL, sizeof(*r));
	if (!r)
		return -ENOMEM;
	memset(r, 0, sizeof(*r));
	r->alloc = a;
	r->prs = raft_mem(r, NULL, RAFT_MAX_MEMBERS * sizeof(*r->prs));
	if (!r->prs) {
		a.fn(a.ctx, r, 0);
		return -ENOMEM;
	}
	r->cfg = *c;
	r->cfg.alloc = NULL;
	r->id = c->id;
	r->rng = c->seed ^ (c->id * 0x2545f4914f6cdd1dULL);
	r->log.unstable = 1;
	raft_become_follower(r, 0, 0);
	*out = r;
	return 0;
}

static void free_msgs(struct raft *r, struct raft_vec *v)
{
	for (size_t i = 0; i < v->n; i++)
		raft_mem(r, ((struct raft_msg *)v->p)[i].entries, 0);
	v->n = 0;
}

void raft_free(struct raft *r)
{
	if (!r)
		return;
	raft_advance(r);
	free_msgs(r, &r->msgs);
	for (size_t i = 0; i < r->graveyard.n; i++)
		raft_mem(r, ((uint8_t **)r->graveyard.p)[i], 0);
	raft_log_free(r);
	struct raft_vec *vecs[] = {&r->reads_pending, &r->reads, &r->msgs, &r->out_msgs,
				   &r->out_reads, &r->out_ents, &r->out_committed, &r->graveyard,
				   &r->graveyard_out};
	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++)
		raft_mem(r, vecs[i]->p, 0);
	raft_mem(r, r->prs, 0);
	r->alloc.fn(r->alloc.ctx, r, 0);
}

/* ---- roles ---------------------------------------------------------------------------- */

static void reset(struct raft *r, uint64_t term)
{
	if (r->term != term) {
		r->term = term;
		r->vote = 0;
	}
	r->lead = 0;
	r->election_elapsed = r->heartbeat_elapsed = 0;
	r->timeout = r->cfg.election_tick + (unsigned)(rnd(r) % r->cfg.election_tick);
	r->transferee = 0;
	r->pending_conf = 0;
	raft_pr_reset(r);
	raft_reads_drop(r);
}

void raft_become_follower(struct raft *r, uint64_t term, uint64_t lead)
{
	reset(r, term);
	r->lead = lead;
	r->role = RAFT_FOLLOWER;
}

/* A pre-candidate changes neither its term nor its vote: it only asks. */
static void become_precandidate(struct raft *r)
{
	for (unsigned i = 0; i < r->n_prs; i++)
		r->prs[i].vote = 0;
	r->lead = 0;
	r->role = RAFT_PRECANDIDATE;
}

static void become_candidate(struct raft *r)
{
	reset(r, r->term + 1);
	r->vote = r->id;
	r->role = RAFT_CANDIDATE;
}

static void become_leader(struct raft *r)
{
	reset(r, r->term);
	r->lead = r->id;
	r->role = RAFT_LEADER;
	struct raft_progress *self = raft_pr(r, r->id);
	if (self) {
		self->state = RAFT_PR_REPLICATE;
		self->recent_active = true;
	}
	/* Entries of earlier terms commit only under one of this term: append it now. A
	 * CONF entry still in the log may not be applied yet; count it as pending. */
	r->pending_conf = raft_last_index(r);
	if (raft_leader_propose(r, RAFT_ENTRY_NORMAL, NULL, 0) < 0)
		raft_become_follower(r, r->term, 0); /* no memory to lead with */
}

enum poll_result { POLL_PENDING, POLL_WON, POLL_LOST };

static enum poll_result poll(struct raft *r, uint64_t id, bool granted)
{
	struct raft_progress *pr = raft_pr(r, id);
	unsigned yes = 0, missing = 0, q = raft_quorum(r);

	if (pr && !pr->learner && pr->vote == 0)
		pr->vote = granted ? 1 : -1;
	for (unsigned i = 0; i < r->n_prs; i++) {
		if (r->prs[i].learner)
			continue;
		yes += r->prs[i].vote == 1;
		missing += r->prs[i].vote == 0;
	}
	if (yes >= q)
		return POLL_WON;
	return yes + missing >= q ? POLL_PENDING : POLL_LOST;
}

static void campaign(struct raft *r, bool pre, bool transfer)
{
	uint8_t type = pre ? RAFT_MSG_PREVOTE : RAFT_MSG_VOTE;
	uint64_t term;

	if (pre) {
		become_precandidate(r);
		term = r->term + 1;
	} else {
		become_candidate(r);
		term = r->term;
	}
	if (poll(r, r->id, true) == POLL_WON) {
		if (pre)
			campaign(r, false, transfer);
		else
			become_leader(r);
		return;
	}
	for (unsigned i = 0; i < r->n_prs; i++) {
		struct raft_progress *pr = &r->prs[i];
		if (pr->learner || pr->id == r->id)
			continue;
		struct raft_msg m = {.type = type, .to = pr->id, .term = term,
				     .index = raft_last_index(r), .log_term = raft_last_term(r),
				     .ctx = transfer};
		raft_send(r, &m);
	}
}

/* A member with committed CONF entries not yet applied does not know its voters yet. */
static bool conf_pending(const struct raft *r)
{
	for (uint64_t i = r->log.applied + 1; i <= r->log.committed; i++) {
		const struct raft_entry *e = raft_entry_at(r, i);
		if (e && e->type == RAFT_ENTRY_CONF)
			return true;
	}
	return false;
}

static void hup(struct raft *r, bool transfer)
{
	if (r->role == RAFT_LEADER || !raft_promotable(r) || conf_pending(r))
		return;
	campaign(r, r->cfg.pre_vote && !transfer, transfer);
}

void raft_campaign(struct raft *r)
{
	hup(r, false);
}

void raft_tick(struct raft *r)
{
	if (r->role != RAFT_LEADER) {
		r->election_elapsed++;
		if (raft_promotable(r) && r->election_elapsed >= r->timeout) {
			r->election_elapsed = 0;
			hup(r, false);
		}
		return;
	}
	r->heartbeat_elapsed++;
	r->election_elapsed++;
	if (r->election_elapsed >= r->cfg.election_tick) {
		r->election_elapsed = 0;
		if (r->cfg.check_quorum) {
			unsigned active = 0;
			for (unsigned i = 0; i < r->n_prs; i++) {
				struct raft_progress *pr = &r->prs[i];
				if (!pr->learner && (pr->recent_active || pr->id == r->id))
					active++;
				if (pr->id != r->id)
					pr->recent_active = false;
			}
			if (active < raft_quorum(r)) {
				raft_become_follower(r, r->term, 0);
				return;
			}
		}
		r->transferee = 0; /* a handover not done in an election timeout is off */
	}
	if (r->heartbeat_elapsed >= r->cfg.heartbeat_tick) {
		r->heartbeat_elapsed = 0;
		raft_bcast_heartbeat(r);
	}
}

/* ---- messages -------------------------------------------------------------------------- */

static int validate(const struct raft *r, const struct raft_msg *m)
{
	if (m->type < RAFT_MSG_APP || m->type > RAFT_MSG_LAST || m->to != r->id || !m->from ||
	    m->from == r->id)
		return -EINVAL;
	if (termless(m->type) ? m->term != 0 : m->term == 0)
		return -EINVAL;
	if (m->n_entries && m->type != RAFT_MSG_APP && m->type != RAFT_MSG_PROP)
		return -EINVAL;
	for (size_t k = 0; k < m->n_entries; k++) {
		const struct raft_entry *e = &m->entries[k];
		if (e->type > RAFT_ENTRY_CONF || (e->len && !e->data))
			return -EINVAL;
		if (m->type == RAFT_MSG_APP &&
		    (e->index != m->index + 1 + k || e->term > m->term ||
		     e->term < (k ? m->entries[k - 1].term : m->log_term)))
			return -EINVAL;
	}
	if (m->type == RAFT_MSG_SNAP && (m->snap.index == 0 || m->snap.conf.n > RAFT_MAX_MEMBERS))
		return -EINVAL;
	return 0;
}

static void handle_append(struct raft *r, const struct raft_msg *m)
{
	struct raft_msg resp = {0};
	uint64_t last;

	if (m->index < r->log.committed) {
		resp.index = r->log.committed;
		reply(r, m, RAFT_MSG_APP_RESP, &resp);
		return;
	}
	int rc = raft_log_maybe_append(r, m->index, m->log_term, m->commit, m->entries,
				       m->n_entries, &last);
	if (rc < 0)
		return;
	if (rc == 1) {
		resp.index = last;
	} else {
		uint64_t hint = m->index < raft_last_index(r) ? m->index : raft_last_index(r);
		hint = raft_conflict_by_term(r, hint, m->log_term);
		resp.reject = true;
		resp.index = m->index;
		resp.hint = hint;
		resp.log_term = raft_term(r, hint);
	}
	reply(r, m, RAFT_MSG_APP_RESP, &resp);
}

static void handle_heartbeat(struct raft *r, const struct raft_msg *m)
{
	struct raft_msg resp = {.ctx = m->ctx};

	raft_commit_to(r, m->commit);
	reply(r, m, RAFT_MSG_HEARTBEAT_RESP, &resp);
}

/* Takes the leader's snapshot unless the log already has what it covers. */
static bool restore(struct raft *r, const struct raft_snap_meta *s)
{
	if (s->index <= r->log.committed)
		return false;
	if (raft_term(r, s->index) == s->term) {
		raft_commit_to(r, s->index); /* the log has it: just commit */
		return false;
	}
	if (raft_log_reset(r, s->index, s->term) < 0)
		return false;
	r->snap = *s;
	r->snap_new = true;
	raft_conf_set(r, &s->conf);
	r->conf_index = s->index;
	return true;
}

static void handle_snapshot(struct raft *r, const struct raft_msg *m)
{
	struct raft_msg resp = {0};

	resp.index = restore(r, &m->snap) ? raft_last_index(r) : r->log.committed;
	reply(r, m, RAFT_MSG_APP_RESP, &resp);
}

/* Passes a termless request on to the leader, entries and all. */
static int forward(struct raft *r, const struct raft_msg *m)
{
	struct raft_msg f = *m;
	size_t bytes = 0;

	if (!r->lead)
		return -EAGAIN;
	for (size_t k = 0; k < m->n_entries; k++)
		bytes += m->entries[k].len;
	f.entries = NULL;
	if (m->n_entries) {
		f.entries = raft_mem(r, NULL, m->n_entries * sizeof(*f.entries) + bytes);
		if (!f.entries)
			return -ENOMEM;
		uint8_t *p = (uint8_t *)(f.entries + m->n_entries);
		for (size_t k = 0; k < m->n_entries; k++) {
			f.entries[k] = m->entries[k];
			f.entries[k].data = m->entries[k].len ? p : NULL;
			if (m->entries[k].len)
				memcpy(p, m->entries[k].data, m->entries[k].len);
			p += m->entries[k].len;
		}
	}
	f.to = r->lead;
	raft_send(r, &f);
	return 0;
}

static int step_follower(struct raft *r, const struct raft_msg *m)
{
	switch (m->type) {
	case RAFT_MSG_PROP:
	case RAFT_MSG_READ_INDEX:
	case RAFT_MSG_TRANSFER:
		return forward(r, m);
	case RAFT_MSG_APP:
	case RAFT_MSG_HEARTBEAT:
	case RAFT_MSG_SNAP:
		r->election_elapsed = 0;
		r->lead = m->from;
		if (m->type == RAFT_MSG_APP)
			handle_append(r, m);
		else if (m->type == RAFT_MSG_HEARTBEAT)
			handle_heartbeat(r, m);
		else
			handle_snapshot(r, m);
		return 0;
	case RAFT_MSG_TIMEOUT_NOW:
		hup(r, true); /* a handover: no pre-vote, and leases do not stop it */
		return 0;
	case RAFT_MSG_READ_INDEX_RESP:
		if (raft_vec_grow(r, &r->reads, sizeof(struct raft_read), 1) < 0)
			return -ENOMEM;
		((struct raft_read *)r->reads.p)[r->reads.n++] =
			(struct raft_read){m->index, m->ctx};
		return 0;
	}
	return 0;
}

static int step_candidate(struct raft *r, const struct raft_msg *m)
{
	uint8_t want = r->role == RAFT_PRECANDIDATE ? RAFT_MSG_PREVOTE_RESP : RAFT_MSG_VOTE_RESP;

	switch (m->type) {
	case RAFT_MSG_PROP:
	case RAFT_MSG_READ_INDEX:
	case RAFT_MSG_TRANSFER:
		return -EAGAIN;
	case RAFT_MSG_APP:
	case RAFT_MSG_HEARTBEAT:
	case RAFT_MSG_SNAP:
		raft_become_follower(r, m->term, m->from);
		return step_follower(r, m);
	}
	if (m->type != want)
		return 0;
	switch (poll(r, m->from, !m->reject)) {
	case POLL_WON:
		if (r->role == RAFT_PRECANDIDATE)
			campaign(r, false, false);
		else
			become_leader(r);
		break;
	case POLL_LOST:
		raft_become_follower(r, r->term, 0);
		break;
	case POLL_PENDING:
		break;
	}
	return 0;
}

static void step_vote(struct raft *r, const struct raft_msg *m)
{
	bool pre = m->type == RAFT_MSG_PREVOTE;
	bool can = r->vote == m->from || (r->vote == 0 && r->lead == 0) ||
		   (pre && m->term > r->term);
	struct raft_msg resp = {0};
	uint8_t type = pre ? RAFT_MSG_PREVOTE_RESP : RAFT_MSG_VOTE_RESP;

	if (can && raft_up_to_date(r, m->index, m->log_term)) {
		/* a granted pre-vote carries the term asked about, so the asker does
		 * not take it for news of a newer term */
		resp.term = m->term;
		if (!pre) {
			r->election_elapsed = 0;
			r->vote = m->from;
		}
	} else {
		resp.term = r->term;
		resp.reject = true;
	}
	reply(r, m, type, &resp);
}

int raft_step(struct raft *r, const struct raft_msg *m)
{
	int rc = validate(r, m);
	if (rc < 0)
		return rc;
	if (m->term > r->term) {
		if (m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PREVOTE) {
			bool force = m->type == RAFT_MSG_VOTE && m->ctx == 1;
			bool lease = r->cfg.check_quorum && r->lead &&
				     r->election_elapsed < r->cfg.election_tick;
			if (!force && lease)
				return 0; /* a leader is alive: no elections for now */
		}
		if (m->type == RAFT_MSG_PREVOTE ||
		    (m->type == RAFT_MSG_PREVOTE_RESP && !m->reject)) {
			/* asking, or told yes: no term changes yet */
		} else if (m->type == RAFT_MSG_APP || m->type == RAFT_MSG_HEARTBEAT ||
			   m->type == RAFT_MSG_SNAP) {
			raft_become_follower(r, m->term, m->from);
		} else {
			raft_become_follower(r, m->term, 0);
		}
	} else if (m->term && m->term < r->term) {
		struct raft_msg resp = {0};
		if ((r->cfg.check_quorum || r->cfg.pre_vote) &&
		    (m->type == RAFT_MSG_HEARTBEAT || m->type == RAFT_MSG_APP)) {
			/* tell a leader cut off by a partition that the term moved on:
			 * with these options it is the only way it learns */
			reply(r, m, RAFT_MSG_APP_RESP, &resp);
		} else if (m->type == RAFT_MSG_PREVOTE) {
			resp.term = r->term;
			resp.reject = true;
			reply(r, m, RAFT_MSG_PREVOTE_RESP, &resp);
		}
		return 0;
	}
	if (m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PREVOTE) {
		step_vote(r, m);
		return 0;
	}
	switch (r->role) {
	case RAFT_LEADER:
		raft_step_leader(r, m);
		return 0;
	case RAFT_FOLLOWER:
		return step_follower(r, m);
	default:
		return step_candidate(r, m);
	}
}

/* ---- the application's requests ------------------------------------------------------- */

int raft_propose(struct raft *r, uint8_t type, const void *data, uint32_t len)
{
	enum raft_conf_op op;
	uint64_t id;

	if (type > RAFT_ENTRY_CONF || (type == RAFT_ENTRY_CONF &&
				      raft_conf_parse(data, len, &op, &id) < 0))
		return -EINVAL;
	if (r->removed)
		return -EPERM;
	if (r->role == RAFT_LEADER)
		return raft_leader_propose(r, type, data, len);
	if (r->role != RAFT_FOLLOWER)
		return -EAGAIN;
	struct raft_entry e = {.type = type, .len = len, .data = (uint8_t *)data};
	struct raft_msg m = {.type = RAFT_MSG_PROP, .from = r->id, .n_entries = 1, .entries = &e};
	return forward(r, &m);
}

int raft_read_index(struct raft *r, uint64_t ctx)
{
	if (r->role == RAFT_LEADER) {
		raft_leader_read_index(r, r->id, ctx);
		return 0;
	}
	if (r->role != RAFT_FOLLOWER)
		return -EAGAIN;
	struct raft_msg m = {.type = RAFT_MSG_READ_INDEX, .from = r->id, .ctx = ctx};
	return forward(r, &m);
}

int raft_transfer(struct raft *r, uint64_t to)
{
	if (r->role == RAFT_LEADER)
		return raft_leader_transfer(r, to);
	if (r->role != RAFT_FOLLOWER)
		return -EAGAIN;
	struct raft_msg m = {.type = RAFT_MSG_TRANSFER, .from = r->id, .index = to};
	return forward(r, &m);
}

void raft_leader_lost(struct raft *r, uint64_t id)
{
	if (r->role != RAFT_FOLLOWER || !id || r->lead != id)
		return;
	r->lead = 0;	/* no lease: pre-votes are granted */
	r->election_elapsed = r->timeout ? r->timeout - 1 : 0;
}
