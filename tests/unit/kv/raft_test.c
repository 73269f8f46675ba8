/* Transcript tests of the Raft core (the .txt files of tests/unit/kv/testdata/raft): each command
 * drives the in-memory cluster of rafttest.h and prints the readies and messages it causes.
 * CABIN_UPDATE_GOLDEN=1 rewrites the expected output after a deliberate change.
 *
 *   cluster n=N [voters=V] [learners=L] [prevote=0] [checkquorum=0] [inflight=N]
 *           [maxmsg=BYTES] [election=T]        N members; 1..V (default N) and the next L
 *                                              bootstrapped, the rest started empty
 *   campaign ID | tick ID [n=N] | elapse ID    (elapse: an election timeout of ticks)
 *   propose ID DATA | propose-conf ID OP NODE  (OP: add-voter add-learner remove update)
 *   read ID | transfer ID TO
 *   ready ID | deliver [from=ID] [to=ID] | drop [from=ID] [to=ID] | stabilize
 *   run n=N                                    N rounds of a tick for every member and
 *                                              stabilize, heartbeats not printed
 *   cut A B | isolate ID | heal | crash ID | restart ID | snapshot ID [keep=N]
 *   status ID | log ID | check | leader-lost ID LEADER
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../../kv/raft_int.h"
#include "../testutil.h"
#include "rafttest.h"

struct ctx {
	struct rt_net net;
	bool live;
};

static uint64_t num(const char *s)
{
	return s ? strtoull(s, NULL, 10) : 0;
}

static uint64_t node_arg(struct ctx *c, const struct tr_args *a, int i)
{
	uint64_t id = i < a->n ? num(a->k[i]) : 0;
	return id >= 1 && id <= (uint64_t)c->net.n ? id : 0;
}

static const char *errname(int rc)
{
	switch (rc) {
	case 0:
		return "ok";
	case -EAGAIN:
		return "EAGAIN";
	case -EBUSY:
		return "EBUSY";
	case -EINVAL:
		return "EINVAL";
	case -EPERM:
		return "EPERM";
	case -ENOMEM:
		return "ENOMEM";
	}
	return "error";
}

static int cmd_cluster(struct ctx *c, const struct tr_args *a, struct tr_out *o)
{
	struct raft_config cfg;
	int n = (int)num(tr_arg(a, "n"));
	const char *v = tr_arg(a, "voters");
	int voters = v ? (int)num(v) : n, learners = (int)num(tr_arg(a, "learners"));

	if (n < 1 || n > RT_MAX || voters + learners > n)
		return -1;
	if (c->live)
		rt_free(&c->net);
	raft_config_defaults(&cfg);
	cfg.seed = 1;
	if (tr_arg(a, "prevote"))
		cfg.pre_vote = num(tr_arg(a, "prevote"));
	if (tr_arg(a, "checkquorum"))
		cfg.check_quorum = num(tr_arg(a, "checkquorum"));
	if (tr_arg(a, "inflight"))
		cfg.max_inflight = (unsigned)num(tr_arg(a, "inflight"));
	if (tr_arg(a, "maxmsg"))
		cfg.max_msg_bytes = num(tr_arg(a, "maxmsg"));
	if (tr_arg(a, "election"))
		cfg.election_tick = (unsigned)num(tr_arg(a, "election"));
	rt_init(&c->net, n, &cfg);
	c->live = true;
	for (int i = 1; i <= n; i++)
		if (rt_start(&c->net, (uint64_t)i, i <= voters + learners ? voters : 0,
			     learners) < 0)
			return -1;
	rt_stabilize(&c->net, 10); /* the bootstrap entries, quietly */
	c->net.out = o;
	tr_printf(o, "ok\n");
	return 0;
}

static void print_status(struct ctx *c, uint64_t id, struct tr_out *o)
{
	static const char *const roles[] = {"follower", "pre-candidate", "candidate", "leader"};
	static const char *const prs[] = {"probe", "replicate", "snapshot"};
	struct raft_status st;

	if (!c->net.node[id].r) {
		tr_printf(o, "%llu: down\n", (unsigned long long)id);
		return;
	}
	raft_status(c->net.node[id].r, &st);
	tr_printf(o, "%llu: %s term=%llu vote=%llu lead=%llu commit=%llu applied=%llu "
		  "log=%llu..%llu snap=%llu\n", (unsigned long long)id, roles[st.role],
		  (unsigned long long)st.term, (unsigned long long)st.vote,
		  (unsigned long long)st.lead, (unsigned long long)st.commit,
		  (unsigned long long)st.applied, (unsigned long long)st.first_index,
		  (unsigned long long)st.last_index, (unsigned long long)st.snap.index);
	for (uint32_t i = 0; i < st.conf.n; i++) {
		tr_printf(o, "  %llu%s", (unsigned long long)st.conf.id[i],
			  st.conf.learner[i] ? " learner" : "");
		if (st.role == RAFT_LEADER)
			tr_printf(o, " match=%llu next=%llu %s%s", (unsigned long long)st.pr[i].match,
				  (unsigned long long)st.pr[i].next, prs[st.pr[i].state],
				  st.pr[i].recent_active ? " active" : "");
		tr_printf(o, "\n");
	}
}

static void print_log(struct ctx *c, uint64_t id, struct tr_out *o)
{
	struct raft *r = c->net.node[id].r;

	if (!r)
		return;
	for (uint64_t i = r->log.off_index + 1; i <= raft_last_index(r); i++) {
		const struct raft_entry *e = raft_entry_at(r, i);
		tr_printf(o, "%llu/%llu%s\n", (unsigned long long)e->term,
			  (unsigned long long)e->index,
			  e->type == RAFT_ENTRY_CONF ? " conf" : (e->len ? " normal" : " empty"));
	}
}

/* Delivers or drops the queued messages matching from=/to=, printing each. */
static void move_msgs(struct ctx *c, const struct tr_args *a, struct tr_out *o, bool drop)
{
	uint64_t from = num(tr_arg(a, "from")), to = num(tr_arg(a, "to"));
	size_t k = 0;
	size_t n = c->net.nq;

	/* only what was queued before: what the deliveries cause waits for the next command */
	while (k < c->net.nq && n > 0) {
		const struct raft_msg *m = &c->net.q[k].m;
		n--;
		if ((from && m->from != from) || (to && m->to != to)) {
			k++;
			continue;
		}
		tr_printf(o, "%s ", drop ? "drop" : "deliver");
		rt_print_msg(o, m);
		tr_printf(o, "%s\n", !drop && (c->net.cut[m->from][m->to] || !c->net.node[m->to].r)
					     ? " (lost)"
					     : "");
		if (drop)
			rt_drop(&c->net, k);
		else
			rt_deliver(&c->net, k);
	}
}

/* Ticks every live member and stabilizes, n times; prints all but heartbeats. */
static void run_rounds(struct ctx *c, uint64_t n, struct tr_out *o)
{
	struct tr_out all = {0};

	tr_printf(&all, "%s", "");
	c->net.out = &all;
	for (uint64_t k = 0; k < n; k++) {
		for (int i = 1; i <= c->net.n; i++)
			if (c->net.node[i].r) {
				raft_tick(c->net.node[i].r);
				rt_observe(&c->net, (uint64_t)i);
			}
		rt_stabilize(&c->net, 100);
	}
	for (char *save, *l = strtok_r(all.s, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (!strstr(l, "MsgHeartbeat"))
			tr_printf(o, "%s\n", l);
	free(all.s);
	c->net.out = o;
}

static int cmd_propose_conf(struct ctx *c, const struct tr_args *a, uint64_t id,
			    struct tr_out *o)
{
	static const char *const ops[] = {"add-voter", "add-learner", "remove", "update"};
	uint8_t head[RAFT_CONF_HEAD];
	int op = -1;

	for (int i = 0; i < 4 && a->n > 2; i++)
		if (strcmp(a->k[2], ops[i]) == 0)
			op = i;
	if (op < 0 || a->n < 4)
		return -1;
	raft_conf_head(head, (enum raft_conf_op)op, num(a->k[3]));
	int rc = raft_propose(c->net.node[id].r, RAFT_ENTRY_CONF, head, sizeof(head));
	tr_printf(o, "%s\n", errname(rc));
	return 0;
}

static int command(void *vc, const struct tr_args *a, struct tr_out *o)
{
	struct ctx *c = vc;
	const char *cmd = a->k[0];

	if (strcmp(cmd, "cluster") == 0)
		return cmd_cluster(c, a, o);
	if (!c->live)
		return -1;
	c->net.out = o;
	uint64_t id = node_arg(c, a, 1);
	struct raft *r = id ? c->net.node[id].r : NULL;
	int rc = 0;

	if (strcmp(cmd, "stabilize") == 0) {
		rt_stabilize(&c->net, 100);
	} else if (strcmp(cmd, "run") == 0) {
		run_rounds(c, num(tr_arg(a, "n")), o);
	} else if (strcmp(cmd, "deliver") == 0 || strcmp(cmd, "drop") == 0) {
		move_msgs(c, a, o, cmd[1] == 'r');
	} else if (strcmp(cmd, "heal") == 0) {
		memset(c->net.cut, 0, sizeof(c->net.cut));
		tr_printf(o, "ok\n");
	} else if (strcmp(cmd, "check") == 0) {
		rt_check_logs(&c->net);
		tr_printf(o, "%s\n", c->net.violations ? c->net.why : "ok");
	} else if (strcmp(cmd, "cut") == 0) {
		uint64_t b = node_arg(c, a, 2);
		if (!id || !b)
			return -1;
		c->net.cut[id][b] = c->net.cut[b][id] = true;
		tr_printf(o, "ok\n");
	} else if (strcmp(cmd, "isolate") == 0 && id) {
		for (int i = 1; i <= c->net.n; i++)
			c->net.cut[id][i] = c->net.cut[i][id] = (uint64_t)i != id;
		tr_printf(o, "ok\n");
	} else if (strcmp(cmd, "restart") == 0 && id && !r) {
		tr_printf(o, "%s\n", errname(rt_restart(&c->net, id)));
	} else if (strcmp(cmd, "status") == 0 && id) {
		print_status(c, id, o);
	} else if (!r) {
		return -1;
	} else if (strcmp(cmd, "campaign") == 0) {
		raft_campaign(r);
	} else if (strcmp(cmd, "tick") == 0 || strcmp(cmd, "elapse") == 0) {
		uint64_t n = cmd[0] == 'e' ? r->cfg.election_tick * 2 : num(tr_arg(a, "n"));
		for (uint64_t i = 0; i < (n ? n : 1); i++)
			raft_tick(r);
	} else if (strcmp(cmd, "propose") == 0 && a->n == 3) {
		rc = raft_propose(r, RAFT_ENTRY_NORMAL, a->k[2], (uint32_t)strlen(a->k[2]));
		tr_printf(o, "%s\n", errname(rc));
	} else if (strcmp(cmd, "propose-conf") == 0) {
		return cmd_propose_conf(c, a, id, o);
	} else if (strcmp(cmd, "read") == 0) {
		rc = rt_read(&c->net, id);
		tr_printf(o, "%s ctx=%zu\n", errname(rc), c->net.nfloor);
	} else if (strcmp(cmd, "transfer") == 0 && node_arg(c, a, 2)) {
		tr_printf(o, "%s\n", errname(raft_transfer(r, node_arg(c, a, 2))));
	} else if (strcmp(cmd, "ready") == 0) {
		if (!rt_ready(&c->net, id))
			tr_printf(o, "no ready\n");
	} else if (strcmp(cmd, "leader-lost") == 0 && node_arg(c, a, 2)) {
		raft_leader_lost(r, node_arg(c, a, 2));
	} else if (strcmp(cmd, "crash") == 0) {
		rt_crash(&c->net, id);
		tr_printf(o, "ok\n");
	} else if (strcmp(cmd, "snapshot") == 0) {
		rc = rt_snapshot(&c->net, id, num(tr_arg(a, "keep")));
		tr_printf(o, "%s snap=%llu first=%llu\n", errname(rc),
			  (unsigned long long)c->net.node[id].snap.index,
			  (unsigned long long)r->log.off_index + 1);
	} else if (strcmp(cmd, "log") == 0) {
		print_log(c, id, o);
	} else {
		return -1;
	}
	rt_observe(&c->net, id);
	if (c->net.violations) {
		tr_printf(o, "VIOLATION %s\n", c->net.why);
		c->net.violations = 0;
		c->net.why[0] = '\0';
	}
	if (o->n == 0)
		tr_printf(o, "ok\n");
	return 0;
}

static void reset(void *vc)
{
	struct ctx *c = vc;

	if (c->live)
		rt_free(&c->net);
	c->live = false;
}

int main(int argc, char **argv)
{
	struct ctx c = {0};
	const char *dir = argc > 1 ? argv[1] : "tests/unit/kv/testdata/raft";

	tu_failures += tr_run_dir(dir, command, reset, &c);
	reset(&c);
	TU_EXIT();
}
