/* The in-memory Raft cluster of rafttest.h: storage, state machines and the network are
 * plain arrays; every ready is checked against what the whole cluster has seen. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../kv/raft_int.h"
#include "rafttest.h"

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		abort();
	return p;
}

static void violation(struct rt_net *net, const char *fmt, ...)
{
	va_list ap;

	net->violations++;
	if (net->why[0])
		return; /* keep the first */
	va_start(ap, fmt);
	vsnprintf(net->why, sizeof(net->why), fmt, ap);
	va_end(ap);
}

uint64_t rt_entry_hash(const struct raft_entry *e)
{
	uint64_t h = 1469598103934665603ULL ^ e->type;

	for (uint32_t i = 0; i < e->len; i++)
		h = (h ^ e->data[i]) * 1099511628211ULL;
	return h | 1; /* 0 means "not applied" */
}

static void copy_entry(struct raft_entry *dst, const struct raft_entry *src)
{
	*dst = *src;
	dst->data = NULL;
	if (src->len) {
		dst->data = xrealloc(NULL, src->len);
		memcpy(dst->data, src->data, src->len);
	}
}

static uint64_t *copy_vals(const uint64_t *vals, uint64_t n)
{
	uint64_t *v = xrealloc(NULL, (n + 1) * sizeof(*v));
	memcpy(v, vals, (n + 1) * sizeof(*v));
	return v;
}

void rt_init(struct rt_net *net, int n, const struct raft_config *cfg)
{
	memset(net, 0, sizeof(*net));
	net->n = n;
	for (int i = 1; i <= n; i++) {
		struct rt_node *nd = &net->node[i];
		nd->id = (uint64_t)i;
		nd->cfg = *cfg;
		nd->cfg.id = (uint64_t)i;
		nd->cfg.seed = cfg->seed * 31 + (uint64_t)i;
		nd->vals = xrealloc(NULL, 64 * sizeof(*nd->vals));
		nd->capvals = 64;
		nd->vals[0] = 0;
		nd->shown_role = -1;
	}
}

static void free_log(struct rt_node *nd, size_t from)
{
	for (size_t k = from; k < nd->nlog; k++)
		free(nd->log[k].data);
	nd->nlog = from;
}

static void free_msg(struct rt_msg *m)
{
	for (size_t k = 0; k < m->m.n_entries; k++)
		free(m->m.entries[k].data);
	free(m->m.entries);
	free(m->vals);
}

void rt_free(struct rt_net *net)
{
	for (int i = 1; i <= net->n; i++) {
		struct rt_node *nd = &net->node[i];
		raft_free(nd->r);
		free_log(nd, 0);
		free(nd->log);
		free(nd->vals);
		free(nd->snap_vals);
		free(nd->pending_vals);
	}
	for (size_t k = 0; k < net->nq; k++)
		free_msg(&net->q[k]);
	free(net->q);
	free(net->gvals);
	free(net->leaders);
	free(net->read_floor);
	memset(net, 0, sizeof(*net));
}

static struct raft_config node_cfg(struct rt_net *net, struct rt_node *nd)
{
	struct raft_config c = nd->cfg;

	c.alloc = net->alloc;
	c.seed += nd->restarts * 1000003;
	return c;
}

int rt_start(struct rt_net *net, uint64_t id, int voters, int learners)
{
	struct rt_node *nd = &net->node[id];
	struct raft_config c = node_cfg(net, nd);
	int rc = raft_new(&c, &nd->r);

	nd->started = rc == 0;
	nd->boot_voters = voters;
	nd->boot_learners = learners;
	if (rc < 0 || voters == 0)
		return rc;
	struct raft_entry e[RAFT_MAX_MEMBERS];
	uint8_t head[RAFT_MAX_MEMBERS][RAFT_CONF_HEAD];
	int n = voters + learners;
	for (int k = 0; k < n; k++) {
		raft_conf_head(head[k], k < voters ? RAFT_CONF_ADD_VOTER : RAFT_CONF_ADD_LEARNER,
			       (uint64_t)k + 1);
		e[k] = (struct raft_entry){.type = RAFT_ENTRY_CONF, .len = RAFT_CONF_HEAD,
					   .data = head[k]};
	}
	rc = raft_bootstrap(nd->r, e, (size_t)n);
	if (rc < 0) {
		raft_free(nd->r);
		nd->r = NULL;
	}
	return rc;
}

void rt_crash(struct rt_net *net, uint64_t id)
{
	struct rt_node *nd = &net->node[id];

	if (net->out)
		tr_printf(net->out, "%llu: crash (state machine back to %llu)\n",
			  (unsigned long long)id, (unsigned long long)nd->snap_applied);
	raft_free(nd->r);
	nd->r = NULL;
	/* the state machine comes back from the snapshot kept with the log */
	free(nd->vals);
	nd->applied = nd->snap_applied;
	nd->capvals = nd->applied + 64;
	nd->vals = xrealloc(NULL, nd->capvals * sizeof(*nd->vals));
	memset(nd->vals, 0, nd->capvals * sizeof(*nd->vals));
	if (nd->snap_vals)
		memcpy(nd->vals, nd->snap_vals, (nd->applied + 1) * sizeof(*nd->vals));
	free(nd->pending_vals);
	nd->pending_vals = NULL;
	nd->shown_role = -1;
}

int rt_restart(struct rt_net *net, uint64_t id)
{
	struct rt_node *nd = &net->node[id];
	struct raft_config c;
	uint64_t last = nd->snap.index + nd->nlog;
	struct raft_boot b = {.hs = nd->hs, .snap = nd->snap, .ents = nd->log, .n = nd->nlog,
			      .applied = nd->applied < last ? nd->applied : last};
	int rc;

	nd->restarts++;
	/* nothing durable yet: start as the first time, as etcd does without a WAL (an
	 * empty member that was one of the first would learn a partial membership from the
	 * first entries alone and could elect itself) */
	if (nd->hs.term == 0 && nd->nlog == 0 && nd->snap.index == 0)
		return rt_start(net, id, nd->boot_voters, nd->boot_learners);
	c = node_cfg(net, nd);
	if (b.applied < nd->snap.index)
		b.applied = nd->snap.index;
	if ((rc = raft_new(&c, &nd->r)) < 0)
		return rc;
	if ((rc = raft_restart(nd->r, &b)) < 0) {
		raft_free(nd->r);
		nd->r = NULL;
	}
	return rc;
}

/* ---- printing ------------------------------------------------------------------------- */

static const char *const conf_ops[] = {"add-voter", "add-learner", "remove", "update",
					"refused"};

static void print_entry(struct tr_out *o, const struct raft_entry *e)
{
	enum raft_conf_op op;
	uint64_t id;
	bool text = true;

	tr_printf(o, "%llu/%llu", (unsigned long long)e->term, (unsigned long long)e->index);
	if (e->type == RAFT_ENTRY_CONF && raft_conf_parse(e->data, e->len, &op, &id) == 0) {
		tr_printf(o, " conf %s %llu", conf_ops[op], (unsigned long long)id);
		return;
	}
	for (uint32_t i = 0; i < e->len; i++)
		text = text && isprint(e->data[i]) && e->data[i] != '"';
	if (!e->len)
		return;
	if (text)
		tr_printf(o, " \"%.*s\"", (int)e->len, (const char *)e->data);
	else
		tr_printf(o, " %u bytes", e->len);
}

static void print_entries(struct tr_out *o, const struct raft_entry *e, size_t n)
{
	tr_printf(o, " [");
	for (size_t k = 0; k < n; k++) {
		if (k)
			tr_printf(o, ", ");
		print_entry(o, &e[k]);
	}
	tr_printf(o, "]");
}

static void print_conf(struct tr_out *o, const struct raft_conf *c)
{
	tr_printf(o, " conf=");
	for (uint32_t i = 0; i < c->n; i++)
		tr_printf(o, "%s%llu%s", i ? "," : "", (unsigned long long)c->id[i],
			  c->learner[i] ? "L" : "");
}

void rt_print_msg(struct tr_out *o, const struct raft_msg *m)
{
	tr_printf(o, "%llu->%llu %s", (unsigned long long)m->from, (unsigned long long)m->to,
		  raft_msg_name(m->type));
	if (m->term)
		tr_printf(o, " term=%llu", (unsigned long long)m->term);
	switch (m->type) {
	case RAFT_MSG_APP:
		tr_printf(o, " log=%llu/%llu commit=%llu", (unsigned long long)m->log_term,
			  (unsigned long long)m->index, (unsigned long long)m->commit);
		if (m->n_entries)
			print_entries(o, m->entries, m->n_entries);
		break;
	case RAFT_MSG_APP_RESP:
		tr_printf(o, " index=%llu", (unsigned long long)m->index);
		if (m->reject)
			tr_printf(o, " reject hint=%llu/%llu", (unsigned long long)m->log_term,
				  (unsigned long long)m->hint);
		break;
	case RAFT_MSG_VOTE:
	case RAFT_MSG_PREVOTE:
		tr_printf(o, " last=%llu/%llu%s", (unsigned long long)m->log_term,
			  (unsigned long long)m->index, m->ctx ? " transfer" : "");
		break;
	case RAFT_MSG_VOTE_RESP:
	case RAFT_MSG_PREVOTE_RESP:
		tr_printf(o, "%s", m->reject ? " reject" : "");
		break;
	case RAFT_MSG_HEARTBEAT:
		tr_printf(o, " commit=%llu", (unsigned long long)m->commit);
		/* fall through */
	case RAFT_MSG_HEARTBEAT_RESP:
		if (m->ctx)
			tr_printf(o, " round=%llu", (unsigned long long)m->ctx);
		break;
	case RAFT_MSG_SNAP:
		tr_printf(o, " snap=%llu/%llu", (unsigned long long)m->snap.term,
			  (unsigned long long)m->snap.index);
		print_conf(o, &m->snap.conf);
		break;
	case RAFT_MSG_PROP:
		print_entries(o, m->entries, m->n_entries);
		break;
	case RAFT_MSG_READ_INDEX:
		tr_printf(o, " ctx=%llu", (unsigned long long)m->ctx);
		break;
	case RAFT_MSG_READ_INDEX_RESP:
		tr_printf(o, " index=%llu ctx=%llu", (unsigned long long)m->index,
			  (unsigned long long)m->ctx);
		break;
	case RAFT_MSG_TRANSFER:
		tr_printf(o, " to=%llu", (unsigned long long)m->index);
		break;
	}
}

static const char *const roles[] = {"follower", "pre-candidate", "candidate", "leader"};

/* ---- checks --------------------------------------------------------------------------- */

static uint64_t max_commit(const struct rt_net *net)
{
	uint64_t c = 0;

	for (int i = 1; i <= net->n; i++)
		if (net->node[i].r && net->node[i].r->log.committed > c)
			c = net->node[i].r->log.committed;
	return c;
}

void rt_observe(struct rt_net *net, uint64_t id)
{
	struct raft *r = net->node[id].r;

	if (!r || r->role != RAFT_LEADER)
		return;
	if (r->term >= net->nleaders) {
		size_t n = (size_t)r->term * 2 + 8;
		net->leaders = xrealloc(net->leaders, n * sizeof(*net->leaders));
		memset(net->leaders + net->nleaders, 0, (n - net->nleaders) * sizeof(uint64_t));
		net->nleaders = n;
	}
	if (net->leaders[r->term] == id)
		return;
	if (net->leaders[r->term]) {
		violation(net, "election safety: %llu and %llu both lead term %llu",
			  (unsigned long long)net->leaders[r->term], (unsigned long long)id,
			  (unsigned long long)r->term);
		return;
	}
	net->leaders[r->term] = id;
	/* leader completeness: every entry applied anywhere is in the new leader's log */
	for (uint64_t i = r->log.off_index + 1; i < net->ngvals; i++) {
		const struct raft_entry *e = raft_entry_at(r, i);
		if (!net->gvals[i])
			continue;
		if (!e || rt_entry_hash(e) != net->gvals[i]) {
			violation(net, "leader completeness: %llu leads term %llu without "
				  "committed entry %llu", (unsigned long long)id,
				  (unsigned long long)r->term, (unsigned long long)i);
			return;
		}
	}
}

static void apply(struct rt_net *net, struct rt_node *nd, const struct raft_entry *e)
{
	if (e->index <= nd->applied)
		return; /* the state machine has it from a snapshot */
	if (e->index != nd->applied + 1) {
		violation(net, "member %llu applies %llu after %llu", (unsigned long long)nd->id,
			  (unsigned long long)e->index, (unsigned long long)nd->applied);
		return;
	}
	if (e->index + 1 >= nd->capvals) {
		nd->capvals = (size_t)e->index * 2 + 8;
		nd->vals = xrealloc(nd->vals, nd->capvals * sizeof(*nd->vals));
	}
	uint64_t h = rt_entry_hash(e);
	nd->vals[e->index] = h;
	nd->applied = e->index;
	if (e->index >= net->capg) {
		size_t n = (size_t)e->index * 2 + 8;
		net->gvals = xrealloc(net->gvals, n * sizeof(*net->gvals));
		memset(net->gvals + net->capg, 0, (n - net->capg) * sizeof(uint64_t));
		net->capg = n;
	}
	if (!net->gvals[e->index])
		net->gvals[e->index] = h;
	else if (net->gvals[e->index] != h)
		violation(net, "state machine safety: member %llu applies another entry %llu",
			  (unsigned long long)nd->id, (unsigned long long)e->index);
	if (e->index >= net->ngvals)
		net->ngvals = e->index + 1;
}

void rt_check_logs(struct rt_net *net)
{
	for (int a = 1; a <= net->n; a++)
		for (int b = a + 1; b <= net->n; b++) {
			struct raft *ra = net->node[a].r, *rb = net->node[b].r;
			if (!ra || !rb)
				continue;
			uint64_t lo = ra->log.off_index > rb->log.off_index ? ra->log.off_index
									    : rb->log.off_index;
			uint64_t hi = raft_last_index(ra) < raft_last_index(rb) ? raft_last_index(ra)
										: raft_last_index(rb);
			uint64_t top = 0;
			for (uint64_t i = hi; i > lo && !top; i--)
				if (raft_term(ra, i) == raft_term(rb, i))
					top = i;
			for (uint64_t i = lo + 1; i <= top; i++)
				if (raft_term(ra, i) != raft_term(rb, i) ||
				    rt_entry_hash(raft_entry_at(ra, i)) !=
					    rt_entry_hash(raft_entry_at(rb, i))) {
					violation(net, "log matching: members %d and %d agree at %llu "
						  "but not at %llu", a, b, (unsigned long long)top,
						  (unsigned long long)i);
					return;
				}
		}
}

int rt_read(struct rt_net *net, uint64_t id)
{
	struct raft *r = net->node[id].r;
	uint64_t ctx = net->nfloor + 1;

	if (!r)
		return -1;
	net->read_floor = xrealloc(net->read_floor, (ctx + 1) * sizeof(*net->read_floor));
	net->read_floor[ctx] = max_commit(net);
	net->nfloor = ctx;
	int rc = raft_read_index(r, ctx);
	rt_observe(net, id);
	return rc;
}

/* ---- readies and messages ------------------------------------------------------------- */

static void persist_entries(struct rt_node *nd, const struct raft_entry *e, size_t n)
{
	if (n == 0)
		return;
	uint64_t first = e[0].index;
	size_t at = first > nd->snap.index ? (size_t)(first - nd->snap.index - 1) : 0;
	if (at < nd->nlog)
		free_log(nd, at);
	if (nd->nlog + n > nd->caplog) {
		nd->caplog = (nd->nlog + n) * 2;
		nd->log = xrealloc(nd->log, nd->caplog * sizeof(*nd->log));
	}
	for (size_t k = 0; k < n; k++)
		copy_entry(&nd->log[nd->nlog++], &e[k]);
}

static void install_snapshot(struct rt_net *net, struct rt_node *nd,
			     const struct raft_snap_meta *s)
{
	if (!nd->pending_vals) {
		violation(net, "member %llu installs a snapshot it was not sent",
			  (unsigned long long)nd->id);
		return;
	}
	nd->snap = *s;
	free_log(nd, 0);
	free(nd->snap_vals);
	nd->snap_vals = nd->pending_vals;
	nd->snap_applied = nd->pending_applied;
	nd->pending_vals = NULL;
	if (nd->snap_applied >= nd->capvals) {
		nd->capvals = (size_t)nd->snap_applied * 2 + 8;
		nd->vals = xrealloc(nd->vals, nd->capvals * sizeof(*nd->vals));
	}
	memcpy(nd->vals, nd->snap_vals, (nd->snap_applied + 1) * sizeof(*nd->vals));
	nd->applied = nd->snap_applied;
	if (net->out)
		tr_printf(net->out, "%llu: state machine at %llu\n", (unsigned long long)nd->id,
			  (unsigned long long)nd->applied);
}

static void queue(struct rt_net *net, const struct raft_msg *m)
{
	struct rt_node *from = &net->node[m->from];

	if (net->nq == net->capq) {
		net->capq = net->capq ? net->capq * 2 : 64;
		net->q = xrealloc(net->q, net->capq * sizeof(*net->q));
	}
	struct rt_msg *q = &net->q[net->nq++];
	memset(q, 0, sizeof(*q));
	q->m = *m;
	q->m.entries = NULL;
	if (m->n_entries) {
		q->m.entries = xrealloc(NULL, m->n_entries * sizeof(*m->entries));
		for (size_t k = 0; k < m->n_entries; k++)
			copy_entry(&q->m.entries[k], &m->entries[k]);
	}
	if (m->type == RAFT_MSG_SNAP) {
		if (from->applied < m->snap.index)
			violation(net, "member %llu sends a snapshot at %llu holding only %llu",
				  (unsigned long long)m->from, (unsigned long long)m->snap.index,
				  (unsigned long long)from->applied);
		q->vals = copy_vals(from->vals, from->applied);
		q->applied = from->applied;
	}
}

static void show_soft(struct rt_net *net, struct rt_node *nd, const struct raft_ready *rd)
{
	if (!net->out || ((int)rd->role == nd->shown_role && rd->lead == nd->shown_lead &&
			  rd->term == nd->shown_term))
		return;
	tr_printf(net->out, "%llu: %s term=%llu lead=%llu\n", (unsigned long long)nd->id,
		  roles[rd->role], (unsigned long long)rd->term, (unsigned long long)rd->lead);
	nd->shown_role = (int)rd->role;
	nd->shown_lead = rd->lead;
	nd->shown_term = rd->term;
}

static void show_ready(struct rt_net *net, struct rt_node *nd, const struct raft_ready *rd)
{
	struct tr_out *o = net->out;
	unsigned long long id = (unsigned long long)nd->id;

	show_soft(net, nd, rd);
	if (!o)
		return;
	if (rd->hs_changed)
		tr_printf(o, "%llu: hs term=%llu vote=%llu commit=%llu\n", id,
			  (unsigned long long)rd->hs.term, (unsigned long long)rd->hs.vote,
			  (unsigned long long)rd->hs.commit);
	if (rd->snap) {
		tr_printf(o, "%llu: install snap=%llu/%llu", id,
			  (unsigned long long)rd->snap->term, (unsigned long long)rd->snap->index);
		print_conf(o, &rd->snap->conf);
		tr_printf(o, "\n");
	}
	for (size_t k = 0; k < rd->n_entries; k++) {
		tr_printf(o, "%llu: append ", id);
		print_entry(o, &rd->entries[k]);
		tr_printf(o, "\n");
	}
	for (size_t k = 0; k < rd->n_msgs; k++) {
		tr_printf(o, "%llu: send ", id);
		rt_print_msg(o, &rd->msgs[k]);
		tr_printf(o, "\n");
	}
	for (size_t k = 0; k < rd->n_committed; k++) {
		tr_printf(o, "%llu: apply ", id);
		print_entry(o, &rd->committed[k]);
		tr_printf(o, "\n");
	}
	for (size_t k = 0; k < rd->n_reads; k++)
		tr_printf(o, "%llu: read index=%llu ctx=%llu\n", id,
			  (unsigned long long)rd->reads[k].index,
			  (unsigned long long)rd->reads[k].ctx);
}

static void check_read(struct rt_net *net, struct rt_node *nd, const struct raft_read *rr)
{
	nd->reads++;
	nd->last_read_index = rr->index;
	nd->last_read_ctx = rr->ctx;
	if (rr->ctx >= 1 && rr->ctx <= net->nfloor && rr->index < net->read_floor[rr->ctx])
		violation(net, "linearizable read: member %llu reads at %llu, but %llu was "
			  "committed when it asked", (unsigned long long)nd->id,
			  (unsigned long long)rr->index,
			  (unsigned long long)net->read_floor[rr->ctx]);
}

bool rt_ready(struct rt_net *net, uint64_t id)
{
	struct rt_node *nd = &net->node[id];
	struct raft_ready rd;

	if (!nd->r || !raft_has_ready(nd->r) || raft_ready(nd->r, &rd) < 0)
		return false;
	show_ready(net, nd, &rd);
	nd->hs = rd.hs;
	if (rd.snap)
		install_snapshot(net, nd, rd.snap);
	persist_entries(nd, rd.entries, rd.n_entries);
	for (size_t k = 0; k < rd.n_msgs; k++)
		queue(net, &rd.msgs[k]);
	for (size_t k = 0; k < rd.n_committed; k++)
		apply(net, nd, &rd.committed[k]);
	for (size_t k = 0; k < rd.n_reads; k++)
		check_read(net, nd, &rd.reads[k]);
	raft_advance(nd->r);
	rt_observe(net, id);
	return true;
}

/* The shell tells the leader how sending a snapshot went, as a stream would. */
static void snap_report(struct rt_net *net, const struct raft_msg *m, bool ok)
{
	struct raft *from = net->node[m->from].r;

	if (m->type == RAFT_MSG_SNAP && from) {
		raft_report_snapshot(from, m->to, ok);
		rt_observe(net, m->from);
	}
}

void rt_drop(struct rt_net *net, size_t k)
{
	snap_report(net, &net->q[k].m, false);
	free_msg(&net->q[k]);
	memmove(&net->q[k], &net->q[k + 1], (net->nq - k - 1) * sizeof(*net->q));
	net->nq--;
}

void rt_dup(struct rt_net *net, size_t k)
{
	if (net->nq == net->capq) {
		net->capq = net->capq * 2;
		net->q = xrealloc(net->q, net->capq * sizeof(*net->q));
	}
	struct rt_msg *src = &net->q[k], *q = &net->q[net->nq++];
	*q = *src;
	if (src->m.n_entries) {
		q->m.entries = xrealloc(NULL, src->m.n_entries * sizeof(*q->m.entries));
		for (size_t i = 0; i < src->m.n_entries; i++)
			copy_entry(&q->m.entries[i], &src->m.entries[i]);
	}
	if (src->vals)
		q->vals = copy_vals(src->vals, src->applied);
}

void rt_deliver(struct rt_net *net, size_t k)
{
	struct rt_msg m = net->q[k];
	struct rt_node *to = &net->node[m.m.to];

	memmove(&net->q[k], &net->q[k + 1], (net->nq - k - 1) * sizeof(*net->q));
	net->nq--;
	if (to->r && !net->cut[m.m.from][m.m.to]) {
		raft_step(to->r, &m.m);
		/* the state machine that came with it, if the core took the snapshot (a shell
		 * would keep it under the snapshot's index until the ready asks for it) */
		if (m.m.type == RAFT_MSG_SNAP && to->r->snap_new &&
		    to->r->snap.index == m.m.snap.index) {
			free(to->pending_vals);
			to->pending_vals = m.vals;
			to->pending_applied = m.applied;
			m.vals = NULL;
		}
		rt_observe(net, m.m.to);
		snap_report(net, &m.m, true);
	} else {
		snap_report(net, &m.m, false);
	}
	free_msg(&m);
}

int rt_stabilize(struct rt_net *net, int max_rounds)
{
	int rounds = 0;

	while (rounds < max_rounds) {
		bool any = false;
		for (int i = 1; i <= net->n; i++)
			while (rt_ready(net, (uint64_t)i))
				any = true;
		if (net->nq)
			any = true;
		while (net->nq) {
			if (net->out) {
				tr_printf(net->out, "deliver ");
				rt_print_msg(net->out, &net->q[0].m);
				tr_printf(net->out, "%s\n",
					  net->cut[net->q[0].m.from][net->q[0].m.to] ||
							  !net->node[net->q[0].m.to].r
						  ? " (lost)"
						  : "");
			}
			rt_deliver(net, 0);
			for (int i = 1; i <= net->n; i++)
				while (rt_ready(net, (uint64_t)i))
					;
		}
		if (!any)
			break;
		rounds++;
	}
	return rounds;
}

int rt_snapshot(struct rt_net *net, uint64_t id, uint64_t keep)
{
	struct rt_node *nd = &net->node[id];
	struct raft_snap_meta meta;
	int rc;

	if (!nd->r)
		return -1;
	uint64_t at = nd->r->log.applied; /* the state machine is there too */
	if ((rc = raft_snapshot(nd->r, at, &meta)) < 0)
		return rc == -EALREADY ? 0 : rc;
	/* the state machine's snapshot and the log's new start */
	free(nd->snap_vals);
	nd->snap_vals = copy_vals(nd->vals, nd->applied);
	nd->snap_applied = nd->applied;
	size_t drop = (size_t)(meta.index - nd->snap.index);
	if (drop > nd->nlog) {
		violation(net, "member %llu snapshots at %llu, past its durable log (%llu)",
			  (unsigned long long)id, (unsigned long long)meta.index,
			  (unsigned long long)(nd->snap.index + nd->nlog));
		drop = nd->nlog;
	}
	for (size_t k = 0; k < drop; k++)
		free(nd->log[k].data);
	if (nd->nlog)
		memmove(nd->log, nd->log + drop, (nd->nlog - drop) * sizeof(*nd->log));
	nd->nlog -= drop;
	nd->snap = meta;
	return raft_compact(nd->r, meta.index > keep ? meta.index - keep : 0);
}

uint64_t rt_leader(const struct rt_net *net)
{
	uint64_t best = 0, term = 0;

	for (int i = 1; i <= net->n; i++) {
		const struct raft *r = net->node[i].r;
		if (r && r->role == RAFT_LEADER && r->term >= term) {
			best = (uint64_t)i;
			term = r->term;
		}
	}
	return best;
}
