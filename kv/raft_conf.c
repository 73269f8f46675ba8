/* The Raft core's membership: one change at a time, in effect once its CONF entry is
 * applied (etcd's rule), each member with the progress the leader keeps for it. */
#include <errno.h>
#include <string.h>

#include "raft_int.h"

void raft_conf_head(uint8_t *buf, enum raft_conf_op op, uint64_t id)
{
	buf[0] = (uint8_t)op;
	for (int i = 0; i < 8; i++)
		buf[1 + i] = (uint8_t)(id >> (8 * i));
}

int raft_conf_parse(const uint8_t *data, size_t len, enum raft_conf_op *op, uint64_t *id)
{
	if (len < RAFT_CONF_HEAD || !data || data[0] > RAFT_CONF_REFUSED)
		return -EINVAL;
	*op = (enum raft_conf_op)data[0];
	*id = 0;
	for (int i = 0; i < 8; i++)
		*id |= (uint64_t)data[1 + i] << (8 * i);
	return *id ? 0 : -EINVAL;
}

struct raft_progress *raft_pr(struct raft *r, uint64_t id)
{
	for (unsigned i = 0; i < r->n_prs; i++)
		if (r->prs[i].id == id)
			return &r->prs[i];
	return NULL;
}

bool raft_promotable(const struct raft *r)
{
	for (unsigned i = 0; i < r->n_prs; i++)
		if (r->prs[i].id == r->id)
			return !r->prs[i].learner && !r->removed;
	return false;
}

int raft_conf_add(struct raft *r, uint64_t id, bool learner)
{
	if (r->n_prs == RAFT_MAX_MEMBERS)
		return -ENOSPC;
	struct raft_progress *pr = &r->prs[r->n_prs++];
	memset(pr, 0, offsetof(struct raft_progress, infl));
	pr->id = id;
	pr->learner = learner;
	pr->next = raft_last_index(r) + 1;
	/* heard from or not, a new member must not make check-quorum depose the leader
	 * before it had a chance to answer */
	pr->recent_active = true;
	if (id == r->id)
		pr->match = raft_last_index(r);
	return 0;
}

static void conf_remove(struct raft *r, uint64_t id)
{
	struct raft_progress *pr = raft_pr(r, id);

	if (!pr)
		return;
	size_t k = (size_t)(pr - r->prs);
	memmove(pr, pr + 1, (r->n_prs - k - 1) * sizeof(*pr));
	r->n_prs--;
	if (id == r->id) {
		r->removed = true;
		if (r->role != RAFT_FOLLOWER)
			raft_become_follower(r, r->term, 0);
	}
}

void raft_conf_apply(struct raft *r, const struct raft_entry *e)
{
	enum raft_conf_op op;
	uint64_t id;

	if (e->index <= r->conf_index)
		return;
	r->conf_index = e->index;
	if (raft_conf_parse(e->data, e->len, &op, &id) < 0)
		return;
	struct raft_progress *pr = raft_pr(r, id);
	switch (op) {
	case RAFT_CONF_ADD_VOTER:
		if (pr)
			pr->learner = false;
		else
			raft_conf_add(r, id, false);
		if (id == r->id)
			r->removed = false;
		break;
	case RAFT_CONF_ADD_LEARNER:
		if (!pr)
			raft_conf_add(r, id, true); /* a voter is not demoted */
		break;
	case RAFT_CONF_REMOVE:
		conf_remove(r, id);
		break;
	case RAFT_CONF_UPDATE:
	case RAFT_CONF_REFUSED:
		return;
	}
	if (r->role != RAFT_LEADER)
		return;
	if (r->transferee && !raft_pr(r, r->transferee))
		r->transferee = 0;
	/* the quorum changed: what it has may be committed now, reads confirmed */
	if (raft_maybe_commit(r)) {
		raft_release_pending_reads(r);
		raft_bcast_append(r);
	} else {
		for (unsigned i = 0; i < r->n_prs; i++)
			raft_send_append(r, &r->prs[i], false);
	}
	raft_confirm_reads(r);
}

void raft_conf_set(struct raft *r, const struct raft_conf *c)
{
	r->n_prs = 0;
	r->removed = false;
	for (uint32_t i = 0; i < c->n && i < RAFT_MAX_MEMBERS; i++)
		raft_conf_add(r, c->id[i], c->learner[i]);
}

void raft_conf_get(const struct raft *r, struct raft_conf *c)
{
	memset(c, 0, sizeof(*c));
	for (unsigned i = 0; i < r->n_prs; i++) {
		c->id[c->n] = r->prs[i].id;
		c->learner[c->n++] = r->prs[i].learner;
	}
}
