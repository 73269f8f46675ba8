/* The Raft core's boundary with its shell: the ready batch handed out and advanced, the
 * first start of a cluster and a restart from what was made durable, snapshots, status. */
#include <errno.h>
#include <string.h>

#include "raft_int.h"

static struct raft_hard_state hard_state(const struct raft *r)
{
	return (struct raft_hard_state){r->term, r->vote, r->log.committed};
}

static bool hs_equal(struct raft_hard_state a, struct raft_hard_state b)
{
	return a.term == b.term && a.vote == b.vote && a.commit == b.commit;
}

bool raft_has_ready(const struct raft *r)
{
	if (r->ready_out)
		return false;
	return r->msgs.n || r->reads.n || r->snap_new || !hs_equal(hard_state(r), r->prev_hs) ||
	       raft_last_index(r) >= r->log.unstable || r->log.committed > r->log.applying;
}

/* Copies the entries lo..hi (held) into v, at most max_bytes of data but at least one. */
static int copy_entries(struct raft *r, struct raft_vec *v, uint64_t lo, uint64_t hi,
			size_t max_bytes)
{
	size_t n = 0, bytes = 0;

	v->n = 0;
	if (lo > hi)
		return 0;
	for (uint64_t i = lo; i <= hi; i++, n++) {
		bytes += raft_entry_at(r, i)->len;
		if (n > 0 && bytes > max_bytes)
			break;
	}
	if (raft_vec_grow(r, v, sizeof(struct raft_entry), n) < 0)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++)
		((struct raft_entry *)v->p)[k] = *raft_entry_at(r, lo + k);
	v->n = n;
	return 0;
}

static void swap(struct raft_vec *a, struct raft_vec *b)
{
	struct raft_vec t = *a;
	*a = *b;
	*b = t;
}

int raft_ready(struct raft *r, struct raft_ready *rd)
{
	struct raft_ready *o = &r->rd;
	uint64_t last = raft_last_index(r);

	if (r->ready_out)
		return -EBUSY;
	if (copy_entries(r, &r->out_ents, r->log.unstable, last, SIZE_MAX) < 0 ||
	    copy_entries(r, &r->out_committed, r->log.applying + 1, r->log.committed,
			 r->cfg.max_apply_bytes) < 0)
		return -ENOMEM;
	memset(o, 0, sizeof(*o));
	o->role = r->role;
	o->lead = r->lead;
	o->term = r->term;
	o->hs = hard_state(r);
	o->hs_changed = !hs_equal(o->hs, r->prev_hs);
	if (r->snap_new) {
		r->out_snap = r->snap;
		o->snap = &r->out_snap;
		r->snap_new = false;
	}
	o->entries = r->out_ents.p;
	o->n_entries = r->out_ents.n;
	r->out_last_index = r->out_ents.n ? last : 0;
	r->out_last_term = r->out_ents.n ? raft_term(r, last) : 0;
	o->committed = r->out_committed.p;
	o->n_committed = r->out_committed.n;
	if (o->n_committed)
		r->log.applying = o->committed[o->n_committed - 1].index;
	r->out_applying = r->log.applying;
	swap(&r->msgs, &r->out_msgs);
	o->msgs = r->out_msgs.p;
	o->n_msgs = r->out_msgs.n;
	swap(&r->reads, &r->out_reads);
	swap(&r->graveyard, &r->graveyard_out);
	o->reads = r->out_reads.p;
	o->n_reads = r->out_reads.n;
	r->ready_out = true;
	*rd = *o;
	return 0;
}

void raft_advance(struct raft *r)
{
	if (!r->ready_out)
		return;
	struct raft_ready *o = &r->rd;

	/* durable up to the last entry handed out, if the log still holds that entry: a
	 * truncation since then will have lowered `unstable` to be written again */
	if (r->out_last_index && raft_term(r, r->out_last_index) == r->out_last_term &&
	    r->out_last_index >= r->log.unstable)
		r->log.unstable = r->out_last_index + 1;
	for (size_t k = 0; k < o->n_committed; k++)
		if (o->committed[k].type == RAFT_ENTRY_CONF)
			raft_conf_apply(r, &o->committed[k]);
	if (o->snap && o->snap->index > r->log.applied)
		r->log.applied = o->snap->index;
	if (r->out_applying > r->log.applied)
		r->log.applied = r->out_applying;
	r->prev_hs = o->hs;
	for (size_t i = 0; i < r->out_msgs.n; i++)
		raft_mem(r, ((struct raft_msg *)r->out_msgs.p)[i].entries, 0);
	r->out_msgs.n = r->out_reads.n = r->out_ents.n = r->out_committed.n = 0;
	r->ready_out = false;
	for (size_t i = 0; i < r->graveyard_out.n; i++)
		raft_mem(r, ((uint8_t **)r->graveyard_out.p)[i], 0);
	r->graveyard_out.n = 0;
	memset(o, 0, sizeof(*o));
}

/* ---- starting ------------------------------------------------------------------------- */

static bool fresh(const struct raft *r)
{
	return r->term == 0 && raft_last_index(r) == 0 && r->n_prs == 0 && !r->ready_out;
}

int raft_bootstrap(struct raft *r, const struct raft_entry *confs, size_t n)
{
	struct raft_entry e[RAFT_MAX_MEMBERS];
	enum raft_conf_op op;
	uint64_t id;

	if (!fresh(r) || n == 0 || n > RAFT_MAX_MEMBERS)
		return -EINVAL;
	for (size_t k = 0; k < n; k++) {
		if (confs[k].type != RAFT_ENTRY_CONF ||
		    raft_conf_parse(confs[k].data, confs[k].len, &op, &id) < 0 ||
		    (op != RAFT_CONF_ADD_VOTER && op != RAFT_CONF_ADD_LEARNER))
			return -EINVAL;
		e[k] = confs[k];
		e[k].term = 1;
		e[k].index = k + 1;
	}
	int rc = raft_log_append(r, e, n);
	if (rc < 0)
		return rc;
	raft_become_follower(r, 1, 0);
	r->log.committed = n;
	return 0;
}

static int check_boot(const struct raft_boot *b)
{
	uint64_t term = b->snap.term;

	if (b->snap.conf.n > RAFT_MAX_MEMBERS || (b->snap.index == 0) != (b->snap.term == 0))
		return -EINVAL;
	for (size_t k = 0; k < b->n; k++) {
		if (b->ents[k].index != b->snap.index + 1 + k || b->ents[k].term < term ||
		    b->ents[k].term > b->hs.term || b->ents[k].type > RAFT_ENTRY_CONF ||
		    (b->ents[k].len && !b->ents[k].data))
			return -EINVAL;
		term = b->ents[k].term;
	}
	uint64_t last = b->snap.index + b->n;
	if (b->hs.commit > last || b->applied < b->snap.index || b->applied > last ||
	    b->hs.term < term)
		return -EINVAL;
	return 0;
}

int raft_restart(struct raft *r, const struct raft_boot *b)
{
	if (!fresh(r) || check_boot(b) < 0)
		return -EINVAL;
	int rc = raft_log_reset(r, b->snap.index, b->snap.term);
	if (rc == 0)
		rc = raft_log_append(r, b->ents, b->n);
	if (rc < 0) {
		raft_log_reset(r, 0, 0);
		return rc;
	}
	raft_become_follower(r, b->hs.term, 0);
	r->vote = b->hs.vote;
	r->snap = b->snap;
	raft_conf_set(r, &b->snap.conf);
	r->conf_index = b->snap.index;
	for (uint64_t i = b->snap.index + 1; i <= b->applied; i++)
		if (raft_entry_at(r, i)->type == RAFT_ENTRY_CONF)
			raft_conf_apply(r, raft_entry_at(r, i));
	/* what the state machine applied was committed, even if the hard state lags */
	r->log.committed = b->hs.commit > b->applied ? b->hs.commit : b->applied;
	r->log.applied = r->log.applying = b->applied;
	r->log.unstable = raft_last_index(r) + 1;
	r->prev_hs = b->hs;
	return 0;
}

/* ---- snapshots and status ------------------------------------------------------------- */

int raft_snapshot(struct raft *r, uint64_t index, struct raft_snap_meta *meta)
{
	if (index > r->log.applied || index < r->log.off_index)
		return -EINVAL;
	if (index <= r->snap.index)
		return -EALREADY; /* the core has one as new (maybe a leader's, not yet installed) */
	if (index < r->conf_index)
		return -EAGAIN;
	r->snap.index = index;
	r->snap.term = raft_term(r, index);
	raft_conf_get(r, &r->snap.conf);
	*meta = r->snap;
	return 0;
}

void raft_status(const struct raft *r, struct raft_status *st)
{
	memset(st, 0, sizeof(*st));
	st->id = r->id;
	st->term = r->term;
	st->vote = r->vote;
	st->lead = r->lead;
	st->commit = r->log.committed;
	st->applied = r->log.applied;
	st->first_index = r->log.off_index + 1;
	st->last_index = raft_last_index(r);
	st->role = r->role;
	st->lead_transferee = r->transferee;
	st->snap = r->snap;
	raft_conf_get(r, &st->conf);
	for (unsigned i = 0; i < r->n_prs; i++) {
		st->pr[i].match = r->prs[i].match;
		st->pr[i].next = r->prs[i].next;
		st->pr[i].state = (enum raft_pr_state)r->prs[i].state;
		st->pr[i].recent_active = r->prs[i].recent_active;
	}
}
