/* A seeded simulation of 3- and 5-member Raft clusters: messages are delivered in random
 * order, dropped and duplicated, members are cut off, crash and restart, take snapshots,
 * change membership and hand over leadership, and allocations fail. After every step the
 * checks of rafttest.c hold (election safety, leader completeness, state machine safety,
 * linearizable read indexes; log matching every 50 steps); at the end the network heals
 * and every member must apply a last entry. A failure names its seed:
 * `raft_sim_test SEED [MEMBERS]` runs that one alone, printing every ready and message.
 * CABIN_RAFT_SEEDS sets how many seeds each size runs (default 1000). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../kv/raft_int.h"
#include "../testutil.h"
#include "rafttest.h"

static uint64_t rng;

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

/* Allocations fail at random, one in `fail_one_in` (0: never). */
static unsigned fail_one_in;
static uint64_t alloc_failures;

static void *flaky(void *ctx, void *p, size_t size)
{
	(void)ctx;
	if (size == 0) {
		free(p);
		return NULL;
	}
	if (fail_one_in && below(fail_one_in) == 0) {
		alloc_failures++;
		return NULL;
	}
	return realloc(p, size);
}

static const struct raft_alloc flaky_alloc = {flaky, NULL};

struct sim {
	struct rt_net net;
	int n;
	uint64_t proposals;
	bool verbose;
};

static uint64_t random_node(struct sim *s)
{
	return 1 + below((unsigned)s->n);
}

static void propose(struct sim *s, uint64_t id)
{
	uint8_t data[8];
	uint64_t v = ++s->proposals;

	if (!s->net.node[id].r)
		return;
	memcpy(data, &v, sizeof(v));
	raft_propose(s->net.node[id].r, RAFT_ENTRY_NORMAL, data, sizeof(data));
	rt_observe(&s->net, id);
}

static void change_members(struct sim *s)
{
	uint64_t id = rt_leader(&s->net), who = random_node(s);
	uint8_t head[RAFT_CONF_HEAD];
	struct raft *r;

	if (!id || !(r = s->net.node[id].r))
		return;
	struct raft_progress *pr = raft_pr(r, who);
	enum raft_conf_op op;
	unsigned voters = 0;
	for (unsigned i = 0; i < r->n_prs; i++)
		voters += !r->prs[i].learner;
	if (!pr)
		op = below(2) ? RAFT_CONF_ADD_LEARNER : RAFT_CONF_ADD_VOTER;
	else if (pr->learner)
		op = below(2) ? RAFT_CONF_ADD_VOTER : RAFT_CONF_REMOVE;
	else if (voters > 3 && who != id)
		op = RAFT_CONF_REMOVE; /* keep a quorum that can survive one more fault */
	else
		op = RAFT_CONF_UPDATE;
	if (!pr && !s->net.node[who].started)
		rt_start(&s->net, who, 0, 0); /* a new member starts empty */
	raft_conf_head(head, op, who);
	raft_propose(r, RAFT_ENTRY_CONF, head, sizeof(head));
	rt_observe(&s->net, id);
}

static void shuffle_cuts(struct sim *s)
{
	memset(s->net.cut, 0, sizeof(s->net.cut));
	if (below(3) == 0)
		return; /* healed */
	/* a random split into two sides, or one member cut off one way only */
	if (below(4) == 0) {
		uint64_t a = random_node(s), b = random_node(s);
		s->net.cut[a][b] = true;
		return;
	}
	bool side[RT_MAX + 1];
	for (int i = 1; i <= s->n; i++)
		side[i] = below(2);
	for (int a = 1; a <= s->n; a++)
		for (int b = 1; b <= s->n; b++)
			s->net.cut[a][b] = side[a] != side[b];
}

static void step(struct sim *s)
{
	struct rt_net *net = &s->net;
	unsigned dice = below(1000);
	uint64_t id = random_node(s);

	if (dice < 400 && net->nq) {
		size_t k = below((unsigned)net->nq);
		unsigned fate = below(100);
		if (fate < 5) {
			rt_drop(net, k);
		} else if (fate < 10) {
			rt_dup(net, k); /* the copy stays queued for later */
			rt_deliver(net, k);
		} else {
			rt_deliver(net, k);
		}
	} else if (dice < 600) {
		if (net->node[id].r) {
			raft_tick(net->node[id].r);
			rt_observe(net, id);
		}
	} else if (dice < 800) {
		rt_ready(net, id);
	} else if (dice < 880) {
		propose(s, id);
	} else if (dice < 910) {
		rt_read(net, id);
	} else if (dice < 925) {
		shuffle_cuts(s);
	} else if (dice < 935) {
		if (net->node[id].r)
			rt_crash(net, id);
	} else if (dice < 960) {
		if (!net->node[id].r && net->node[id].started)
			rt_restart(net, id);
	} else if (dice < 975) {
		rt_snapshot(net, id, below(8));
	} else if (dice < 985) {
		change_members(s);
	} else if (dice < 990) {
		if (net->node[id].r)
			raft_transfer(net->node[id].r, random_node(s));
	} else if (net->node[id].r) {
		raft_campaign(net->node[id].r);
		rt_observe(net, id);
	}
}

/* Heals everything and runs until a last entry is applied by every member of the leader's
 * configuration. Returns 0 or -1 (no progress: a liveness failure). */
static int settle(struct sim *s)
{
	struct rt_net *net = &s->net;

	fail_one_in = 0;
	memset(net->cut, 0, sizeof(net->cut));
	for (int i = 1; i <= s->n; i++) {
		if (net->node[i].r)
			continue;
		if (net->node[i].started)
			rt_restart(net, (uint64_t)i);
		else
			rt_start(net, (uint64_t)i, 0, 0); /* added, but its start had failed */
	}
	uint64_t target = 0;
	for (int round = 0; round < 3000; round++) {
		rt_stabilize(net, 50);
		uint64_t lead = rt_leader(net);
		/* (again if a change of leader lost the entry) */
		if (lead && raft_last_index(net->node[lead].r) < target)
			target = 0;
		if (lead && !target && net->node[lead].r->log.committed >= 1) {
			propose(s, lead);
			target = raft_last_index(net->node[lead].r);
			continue;
		}
		if (lead && target) {
			struct raft *r = net->node[lead].r;
			bool done = true;
			for (unsigned i = 0; i < r->n_prs; i++) {
				struct rt_node *nd = &net->node[r->prs[i].id];
				done = done && nd->r && nd->applied >= target;
			}
			if (done)
				return 0;
		}
		for (int i = 1; i <= s->n; i++)
			if (net->node[i].r) {
				raft_tick(net->node[i].r);
				rt_observe(net, (uint64_t)i);
			}
	}
	return -1;
}

static int run(uint64_t seed, int n, bool verbose, struct tr_out *out)
{
	struct sim s = {.n = n, .verbose = verbose};
	struct raft_config cfg;

	rng = seed * 0x5851f42d4c957f2dULL + (uint64_t)n;
	raft_config_defaults(&cfg);
	cfg.seed = seed;
	cfg.pre_vote = below(4) != 0;
	cfg.check_quorum = below(4) != 0;
	cfg.max_inflight = 1 + below(8);
	cfg.max_msg_bytes = 8u << below(6);
	cfg.max_apply_bytes = 8u << below(8);
	fail_one_in = below(3) == 0 ? 200 + below(800) : 0;
	rt_init(&s.net, n, &cfg);
	s.net.alloc = &flaky_alloc;
	s.net.out = verbose ? out : NULL;
	/* most runs start with every member; some with three, the rest joining later */
	int voters = n == 5 && below(2) ? 3 : n;
	for (int i = 1; i <= voters; i++)
		while (rt_start(&s.net, (uint64_t)i, voters, 0) < 0)
			;
	int steps = 3000;
	for (int k = 0; k < steps && !s.net.violations; k++) {
		step(&s);
		if (k % 50 == 0)
			rt_check_logs(&s.net);
	}
	int rc = 0;
	if (!s.net.violations && settle(&s) < 0) {
		snprintf(s.net.why, sizeof(s.net.why), "no progress after healing");
		s.net.violations++;
	}
	rt_check_logs(&s.net);
	if (s.net.violations && verbose) {
		static const char *const roles[] = {"follower", "pre-candidate", "candidate",
						    "leader"};
		for (int i = 1; i <= n; i++) {
			struct raft *r = s.net.node[i].r;
			struct raft_status st;
			if (!r) {
				tr_printf(out, "%d: down\n", i);
				continue;
			}
			raft_status(r, &st);
			tr_printf(out, "%d: %s term=%llu lead=%llu commit=%llu applied=%llu "
				  "log=%llu..%llu snap=%llu sm=%llu removed=%d conf_index=%llu "
				  "pending_conf=%llu members:", i, roles[st.role],
				  (unsigned long long)st.term, (unsigned long long)st.lead,
				  (unsigned long long)st.commit, (unsigned long long)st.applied,
				  (unsigned long long)st.first_index,
				  (unsigned long long)st.last_index, (unsigned long long)st.snap.index,
				  (unsigned long long)s.net.node[i].applied, r->removed,
				  (unsigned long long)r->conf_index,
				  (unsigned long long)r->pending_conf);
			for (uint32_t k = 0; k < st.conf.n; k++)
				tr_printf(out, " %llu%s(m%llu n%llu s%d)",
					  (unsigned long long)st.conf.id[k], st.conf.learner[k] ? "L" : "",
					  (unsigned long long)st.pr[k].match,
					  (unsigned long long)st.pr[k].next, st.pr[k].state);
			tr_printf(out, "\n");
		}
	}
	if (s.net.violations) {
		fprintf(stderr, "FAIL seed %llu with %d members: %s\n", (unsigned long long)seed,
			n, s.net.why);
		rc = -1;
	}
	rt_free(&s.net);
	return rc;
}

int main(int argc, char **argv)
{
	struct tr_out out = {0};

	if (argc > 1) {
		uint64_t seed = strtoull(argv[1], NULL, 10);
		int n = argc > 2 ? atoi(argv[2]) : 3;
		int rc = run(seed, n, true, &out);
		if (out.s)
			fputs(out.s, stdout);
		free(out.s);
		return rc < 0;
	}
	const char *env = getenv("CABIN_RAFT_SEEDS");
	unsigned seeds = env ? (unsigned)atoi(env) : 1000;
	int sizes[] = {3, 5};
	for (int z = 0; z < 2; z++) {
		unsigned failed = 0;
		for (uint64_t seed = 1; seed <= seeds; seed++)
			if (run(seed, sizes[z], false, NULL) < 0 && ++failed >= 5)
				break;
		tu_failures += failed;
		printf("%s %u seeds with %d members (%llu allocations failed)\n",
		       failed ? "FAIL" : "ok", seeds, sizes[z],
		       (unsigned long long)alloc_failures);
	}
	TU_EXIT();
}
