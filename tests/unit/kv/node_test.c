/* The Raft shell on a real directory, without a loop: a new member bootstraps and
 * applies its membership entries; a restart gives back the entries after the applied
 * index; a log whose hard state says more is committed than its entries reach (a crash
 * kept the hard state and lost the entries' tail) still starts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../kv/node.h"
#include "../../../kv/rlog.h"
#include "../testutil.h"

static char root[64];
static int applied_n;
static uint64_t last_applied;

static void on_apply(void *ctx, const struct raft_entry *e)
{
	(void)ctx;
	applied_n++;
	last_applied = e->index;
}

static const struct node_cbs cbs = {.apply = on_apply};

static struct node_opts opts(uint64_t applied)
{
	return (struct node_opts){.id = 7, .heartbeat_ms = 100, .election_ms = 1000,
				  .applied = applied, .seed = 1};
}

static void test_bootstrap_and_restart(void)
{
	char dir[128], err[256];
	uint8_t head[RAFT_CONF_HEAD];
	struct raft_entry boot = {.type = RAFT_ENTRY_CONF, .len = sizeof(head), .data = head};
	struct node_opts o = opts(0);
	struct kv_node *n;

	snprintf(dir, sizeof(dir), "%s/boot", root);
	raft_conf_head(head, RAFT_CONF_ADD_VOTER, 7);
	o.bootstrap = &boot;
	o.n_bootstrap = 1;
	applied_n = 0;
	TU_EQ_INT(node_open(NULL, dir, &o, &cbs, &n, err, sizeof(err)), 0);
	TU_EQ_INT(applied_n, 1);		/* the membership entry, at once */
	TU_EQ_INT(node_leader(n), 7);		/* alone: leads at once */
	TU_EQ_INT(node_propose(n, RAFT_ENTRY_NORMAL, "x", 1), 0);
	TU_EQ_INT(node_process(n, 0), 0);
	TU_EQ_INT(last_applied, 3);		/* 2 is the leader's empty entry */
	node_close(n);
	/* the state machine says it holds up to 2: entry 3 comes back */
	applied_n = 0;
	o = opts(2);
	TU_EQ_INT(node_open(NULL, dir, &o, &cbs, &n, err, sizeof(err)), 0);
	TU_EQ_INT(applied_n, 1);
	TU_EQ_INT(last_applied, 3);
	node_close(n);
}

static void test_commit_past_entries(void)
{
	char dir[128], err[256];
	struct rlog *l;
	struct rlog_boot b;
	uint8_t head[RAFT_CONF_HEAD];
	struct raft_entry e[2] = {
		{.term = 1, .index = 1, .type = RAFT_ENTRY_CONF, .len = sizeof(head), .data = head},
		{.term = 2, .index = 2},
	};
	struct raft_ready rd = {.hs_changed = true, .hs = {2, 7, 5}, .entries = e, .n_entries = 2};
	struct kv_node *n;
	struct node_opts o = opts(0);

	snprintf(dir, sizeof(dir), "%s/torn", root);
	raft_conf_head(head, RAFT_CONF_ADD_VOTER, 7);
	TU_EQ_INT(rlog_open(dir, &l, &b, err, sizeof(err)), 0);
	TU_EQ_INT(rlog_append(l, &rd), 0);	/* commit 5, entries up to 2 */
	TU_EQ_INT(rlog_sync(l), 0);
	rlog_close(l);
	rlog_boot_free(&b);
	applied_n = 0;
	TU_EQ_INT(node_open(NULL, dir, &o, &cbs, &n, err, sizeof(err)), 0);
	if (n) {
		TU_EQ_INT(applied_n, 2);
		node_close(n);
	} else {
		fprintf(stderr, "node_open: %s\n", err);
	}
}

int main(void)
{
	snprintf(root, sizeof(root), "/tmp/node_test.XXXXXX");
	if (!mkdtemp(root))
		return 1;
	TU_RUN(test_bootstrap_and_restart);
	TU_RUN(test_commit_past_entries);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		return 1;
	TU_EXIT();
}
