/* The leader's side of the Raft core: each follower's progress (probing for where its log
 * matches, then replicating with a window of messages in flight, or waiting on a snapshot),
 * commitment by quorum, heartbeats that confirm linearizable reads, and handing over. */
#include <errno.h>
#include <string.h>

#include "raft_int.h"

static void pr_probe(struct raft_progress *pr)
{
	uint64_t next = pr->match + 1;

	if (pr->state == RAFT_PR_SNAPSHOT && pr->pending_snap + 1 > next)
		next = pr->pending_snap + 1;
	pr->state = RAFT_PR_PROBE;
	pr->next = next;
	pr->probe_sent = false;
	pr->pending_snap = 0;
	pr->infl_start = pr->infl_n = 0;
}

static void pr_replicate(struct raft_progress *pr)
{
	pr->state = RAFT_PR_REPLICATE;
	pr->next = pr->match + 1;
	pr->probe_sent = false;
	pr->pending_snap = 0;
	pr->infl_start = pr->infl_n = 0;
}

static bool pr_paused(const struct raft *r, const struct raft_progress *pr)
{
	switch (pr->state) {
	case RAFT_PR_PROBE:
		return pr->probe_sent;
	case RAFT_PR_REPLICATE:
		return pr->infl_n >= r->cfg.max_inflight;
	default:
		return true;
	}
}

/* The follower has everything up to n. Returns whether that is news. */
static bool pr_update(struct raft_progress *pr, uint64_t n)
{
	bool news = false;

	if (pr->match < n) {
		pr->match = n;
		pr->probe_sent = false;
		news = true;
	}
	if (pr->next < n + 1)
		pr->next = n + 1;
	return news;
}

/* The follower refused entries after `rejected`; hint is where to try next. Returns false
 * for a stale refusal. */
static bool pr_decrease(struct raft_progress *pr, uint64_t rejected, uint64_t hint)
{
	if (pr->state == RAFT_PR_REPLICATE) {
		if (rejected <= pr->match)
			return false;
		pr->next = pr->match + 1;
		return true;
	}
	if (pr->next - 1 != rejected)
		return false;
	pr->next = rejected < hint + 1 ? rejected : hint + 1;
	if (pr->next < 1)
		pr->next = 1;
	pr->probe_sent = false;
	return true;
}

static void infl_free_to(struct raft *r, struct raft_progress *pr, uint64_t to)
{
	while (pr->infl_n && pr->infl[pr->infl_start] <= to) {
		pr->infl_start = (pr->infl_start + 1) % r->cfg.max_inflight;
		pr->infl_n--;
	}
}

void raft_pr_reset(struct raft *r)
{
	uint64_t last = raft_last_index(r);

	for (unsigned i = 0; i < r->n_prs; i++) {
		struct raft_progress *pr = &r->prs[i];
		uint64_t id = pr->id;
		bool learner = pr->learner;
		memset(pr, 0, offsetof(struct raft_progress, infl));
		pr->id = id;
		pr->learner = learner;
		pr->next = last + 1;
		if (id == r->id)
			pr->match = last;
	}
}

unsigned raft_quorum(const struct raft *r)
{
	unsigned voters = 0;

	for (unsigned i = 0; i < r->n_prs; i++)
		voters += !r->prs[i].learner;
	return voters / 2 + 1;
}

static void send_snapshot(struct raft *r, struct raft_progress *pr)
{
	struct raft_msg m = {.type = RAFT_MSG_SNAP, .to = pr->id, .snap = r->snap};

	pr->state = RAFT_PR_SNAPSHOT;
	pr->pending_snap = r->snap.index;
	raft_send(r, &m);
}

/* Sends pr what follows its next index, or the snapshot if that is compacted. Returns
 * whether a message went out. */
bool raft_send_append(struct raft *r, struct raft_progress *pr, bool if_empty)
{
	if (pr_paused(r, pr) || pr->id == r->id)
		return false;
	uint64_t prev = pr->next - 1, prev_term = raft_term(r, prev);
	size_t n;
	const struct raft_entry *ents = raft_log_slice(r, pr->next, r->cfg.max_msg_bytes, &n);

	if ((prev_term == 0 && prev != 0) || !ents) {
		/* compacted away: only a snapshot will do, once the follower is heard */
		if (!pr->recent_active || r->snap.index == 0)
			return false;
		send_snapshot(r, pr);
		return true;
	}
	if (n == 0 && !if_empty)
		return false;
	struct raft_msg m = {.type = RAFT_MSG_APP, .to = pr->id, .index = prev,
			     .log_term = prev_term, .commit = r->log.committed, .n_entries = n};
	if (n) {
		m.entries = raft_mem(r, NULL, n * sizeof(*m.entries));
		if (!m.entries)
			return false;
		memcpy(m.entries, ents, n * sizeof(*m.entries));
		uint64_t last = ents[n - 1].index;
		if (pr->state == RAFT_PR_REPLICATE) {
			pr->next = last + 1;
			unsigned k = (pr->infl_start + pr->infl_n++) % r->cfg.max_inflight;
			pr->infl[k] = last;
		} else {
			pr->probe_sent = true;
		}
	}
	raft_send(r, &m);
	return true;
}

void raft_bcast_append(struct raft *r)
{
	for (unsigned i = 0; i < r->n_prs; i++)
		raft_send_append(r, &r->prs[i], true);
}

static void send_heartbeat(struct raft *r, struct raft_progress *pr)
{
	/* a follower may lack entries up to our commit: commit only what it matched */
	uint64_t commit = pr->match < r->log.committed ? pr->match : r->log.committed;
	struct raft_msg m = {.type = RAFT_MSG_HEARTBEAT, .to = pr->id, .commit = commit,
			     .ctx = r->read_round};

	raft_send(r, &m);
}

void raft_bcast_heartbeat(struct raft *r)
{
	for (unsigned i = 0; i < r->n_prs; i++)
		if (r->prs[i].id != r->id)
			send_heartbeat(r, &r->prs[i]);
}

bool raft_maybe_commit(struct raft *r)
{
	uint64_t m[RAFT_MAX_MEMBERS];
	unsigned n = 0;

	for (unsigned i = 0; i < r->n_prs; i++)
		if (!r->prs[i].learner)
			m[n++] = r->prs[i].match;
	if (n == 0)
		return false;
	/* the quorum-th highest match: sort descending (n is small) */
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && m[j - 1] < m[j]; j--) {
			uint64_t t = m[j];
			m[j] = m[j - 1];
			m[j - 1] = t;
		}
	uint64_t idx = m[raft_quorum(r) - 1];
	/* only an entry of our own term commits by counting (Raft paper, 5.4.2) */
	if (idx <= r->log.committed || raft_term(r, idx) != r->term)
		return false;
	r->log.committed = idx;
	return true;
}

void raft_send_timeout_now(struct raft *r, uint64_t to)
{
	struct raft_msg m = {.type = RAFT_MSG_TIMEOUT_NOW, .to = to};

	raft_send(r, &m);
}

void raft_leader_app_resp(struct raft *r, const struct raft_msg *m, struct raft_progress *pr)
{
	pr->recent_active = true;
	if (m->reject) {
		uint64_t hint = m->hint;
		if (m->log_term > 0)
			hint = raft_conflict_by_term(r, m->hint, m->log_term);
		if (pr_decrease(pr, m->index, hint)) {
			if (pr->state == RAFT_PR_REPLICATE)
				pr_probe(pr);
			raft_send_append(r, pr, true);
		}
		return;
	}
	bool was_paused = pr_paused(r, pr);
	if (!pr_update(pr, m->index))
		return;
	if (pr->state == RAFT_PR_PROBE) {
		pr_replicate(pr);
	} else if (pr->state == RAFT_PR_SNAPSHOT && pr->match >= pr->pending_snap) {
		pr_probe(pr);
		pr_replicate(pr);
	} else if (pr->state == RAFT_PR_REPLICATE) {
		infl_free_to(r, pr, m->index);
	}
	if (raft_maybe_commit(r)) {
		raft_release_pending_reads(r);
		raft_bcast_append(r);
	} else if (was_paused) {
		raft_send_append(r, pr, true);
	}
	while (raft_send_append(r, pr, false))
		;
	if (pr->id == r->transferee && pr->match == raft_last_index(r))
		raft_send_timeout_now(r, pr->id);
}

/* ---- linearizable reads --------------------------------------------------------------- */

#define PENDING(r) ((struct raft_pending_read *)(r)->reads_pending.p)

static void answer(struct raft *r, uint64_t from, uint64_t index, uint64_t ctx)
{
	if (from == r->id) {
		if (raft_vec_grow(r, &r->reads, sizeof(struct raft_read), 1) == 0)
			((struct raft_read *)r->reads.p)[r->reads.n++] =
				(struct raft_read){index, ctx};
		return;
	}
	struct raft_msg m = {.type = RAFT_MSG_READ_INDEX_RESP, .to = from, .index = index,
			     .ctx = ctx};
	raft_send(r, &m);
}

/* Answers the reads whose round a quorum of voters has confirmed: they were leader then. */
void raft_confirm_reads(struct raft *r)
{
	size_t done = 0;

	if (!r->reads_pending.n)
		return;

	while (done < r->reads_pending.n) {
		struct raft_pending_read *p = &PENDING(r)[done];
		unsigned acks = 0;
		if (p->round == 0)
			break;
		for (unsigned i = 0; i < r->n_prs; i++)
			acks += !r->prs[i].learner && r->prs[i].read_ack >= p->round;
		if (acks < raft_quorum(r))
			break;
		answer(r, p->from, p->index, p->ctx);
		done++;
	}
	memmove(PENDING(r), PENDING(r) + done,
		(r->reads_pending.n - done) * sizeof(struct raft_pending_read));
	r->reads_pending.n -= done;
}

/* Starts a round of heartbeats for every read not yet in one. */
static void start_round(struct raft *r)
{
	struct raft_progress *self = raft_pr(r, r->id);
	bool any = false;

	for (size_t i = 0; i < r->reads_pending.n; i++) {
		if (PENDING(r)[i].round)
			continue;
		if (!any)
			r->read_round++;
		any = true;
		PENDING(r)[i].round = r->read_round;
		PENDING(r)[i].index = r->log.committed;
	}
	if (!any)
		return;
	if (self)
		self->read_ack = r->read_round;
	raft_confirm_reads(r);
	raft_bcast_heartbeat(r);
}

void raft_leader_read_index(struct raft *r, uint64_t from, uint64_t ctx)
{
	if (raft_quorum(r) == 1 && raft_pr(r, r->id) && !raft_pr(r, r->id)->learner) {
		answer(r, from, r->log.committed, ctx);
		return;
	}
	if (raft_vec_grow(r, &r->reads_pending, sizeof(struct raft_pending_read), 1) < 0)
		return;
	PENDING(r)[r->reads_pending.n++] = (struct raft_pending_read){from, ctx, 0, 0};
	/* until an entry of this term commits, the commit index may lag the last leader's */
	if (raft_term(r, r->log.committed) == r->term)
		start_round(r);
}

void raft_release_pending_reads(struct raft *r)
{
	if (r->reads_pending.n && raft_term(r, r->log.committed) == r->term)
		start_round(r);
}

void raft_reads_drop(struct raft *r)
{
	r->reads_pending.n = 0;
}

void raft_leader_hb_resp(struct raft *r, const struct raft_msg *m, struct raft_progress *pr)
{
	pr->recent_active = true;
	pr->probe_sent = false;
	if (pr->state == RAFT_PR_REPLICATE && pr->infl_n >= r->cfg.max_inflight) {
		pr->infl_start = (pr->infl_start + 1) % r->cfg.max_inflight;
		pr->infl_n--;
	}
	if (pr->match < raft_last_index(r))
		raft_send_append(r, pr, true);
	if (m->ctx > pr->read_ack && m->ctx <= r->read_round) {
		pr->read_ack = m->ctx;
		raft_confirm_reads(r);
	}
}

/* ---- the leader's step ---------------------------------------------------------------- */

/* etcd's rule for promoting a learner, which its leader checks wherever the request came
 * in: the learner has at least 90% of the leader's committed log. */
static bool promotion_refused(struct raft *r, const void *data, uint32_t len)
{
	enum raft_conf_op op;
	uint64_t id;

	if (raft_conf_parse(data, len, &op, &id) < 0 || op != RAFT_CONF_ADD_VOTER)
		return false;
	struct raft_progress *pr = raft_pr(r, id);
	return pr && pr->learner && pr->match < r->log.committed - r->log.committed / 10;
}

int raft_leader_propose(struct raft *r, uint8_t type, const void *data, uint32_t len)
{
	struct raft_progress *self = raft_pr(r, r->id);
	uint64_t index = raft_last_index(r) + 1;

	if (r->transferee)
		return -EBUSY;
	if (type == RAFT_ENTRY_CONF && r->pending_conf > r->log.applied)
		return -EBUSY;
	struct raft_entry e = {.term = r->term, .index = index, .type = type, .len = len,
			       .data = (uint8_t *)data};
	bool refused = type == RAFT_ENTRY_CONF && promotion_refused(r, data, len);
	if (raft_log_append(r, &e, 1) < 0)
		return -ENOMEM;
	if (refused)	/* it goes through the log all the same, to tell its proposer */
		raft_entry_at(r, index)->data[0] = RAFT_CONF_REFUSED;
	if (type == RAFT_ENTRY_CONF)
		r->pending_conf = index;
	if (self)
		pr_update(self, index);
	raft_maybe_commit(r);
	raft_bcast_append(r);
	return 0;
}

int raft_leader_transfer(struct raft *r, uint64_t to)
{
	struct raft_progress *pr = raft_pr(r, to);

	if (!pr || pr->learner)
		return -EINVAL;
	if (r->transferee == to)
		return 0;
	r->transferee = 0;
	if (to == r->id)
		return 0;
	r->election_elapsed = 0; /* it has one election timeout to take over */
	r->transferee = to;
	if (pr->match == raft_last_index(r))
		raft_send_timeout_now(r, to);
	else
		raft_send_append(r, pr, true);
	return 0;
}

void raft_step_leader(struct raft *r, const struct raft_msg *m)
{
	struct raft_progress *pr;

	switch (m->type) {
	case RAFT_MSG_PROP:
		if (r->removed)
			return;
		for (size_t k = 0; k < m->n_entries; k++)
			raft_leader_propose(r, m->entries[k].type, m->entries[k].data,
					    m->entries[k].len);
		return;
	case RAFT_MSG_READ_INDEX:
		raft_leader_read_index(r, m->from, m->ctx);
		return;
	case RAFT_MSG_TRANSFER:
		raft_leader_transfer(r, m->index);
		return;
	case RAFT_MSG_APP_RESP:
		if ((pr = raft_pr(r, m->from)))
			raft_leader_app_resp(r, m, pr);
		return;
	case RAFT_MSG_HEARTBEAT_RESP:
		if ((pr = raft_pr(r, m->from)))
			raft_leader_hb_resp(r, m, pr);
		return;
	}
}

void raft_report_unreachable(struct raft *r, uint64_t id)
{
	struct raft_progress *pr = raft_pr(r, id);

	if (r->role == RAFT_LEADER && pr && pr->state == RAFT_PR_REPLICATE)
		pr_probe(pr);
}

void raft_report_snapshot(struct raft *r, uint64_t id, bool ok)
{
	struct raft_progress *pr = raft_pr(r, id);

	if (r->role != RAFT_LEADER || !pr || pr->state != RAFT_PR_SNAPSHOT)
		return;
	if (!ok)
		pr->pending_snap = 0;
	pr_probe(pr);
	pr->probe_sent = true; /* resume when it answers a heartbeat */
}
