/* The Raft log's file shell against a real directory: a new log, entries and hard state
 * read back after a reopen, a new leader's entries replacing the old ones, a leader's
 * snapshot resetting the log, segments cut and deleted once a snapshot covers them, a torn
 * tail cut off and written over, and a corrupt middle record or a missing segment refused
 * with the file and offset named. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../../kv/rlog.h"
#include "../testutil.h"

static char root[64];

static const char *newdir(const char *name)
{
	static char d[128];
	snprintf(d, sizeof(d), "%s/%s", root, name);
	return d;
}

/* The .rlog files of dir: how many, the first and last names. */
static int count(const char *dir, char *first, char *last)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort), k = 0;

	for (int i = 0; i < n; i++) {
		size_t l = strlen(names[i]->d_name);
		if (l > 5 && strcmp(names[i]->d_name + l - 5, ".rlog") == 0) {
			if (!k++ && first)
				snprintf(first, 256, "%s/%s", dir, names[i]->d_name);
			if (last)
				snprintf(last, 256, "%s/%s", dir, names[i]->d_name);
		}
		free(names[i]);
	}
	free(names);
	return k;
}

static struct raft_entry ent(uint64_t term, uint64_t index, const char *data)
{
	return (struct raft_entry){.term = term, .index = index, .type = RAFT_ENTRY_NORMAL,
				   .len = (uint32_t)strlen(data), .data = (uint8_t *)data};
}

/* Persists hs (if term > 0) and entries as one ready, synced. */
static int persist(struct rlog *l, uint64_t term, uint64_t vote, uint64_t commit,
		   const struct raft_entry *e, size_t n)
{
	struct raft_ready rd = {.hs_changed = term > 0, .hs = {term, vote, commit},
				.entries = e, .n_entries = n};
	int rc = rlog_append(l, &rd);
	return rc ? rc : rlog_sync(l);
}

static struct rlog *reopen(struct rlog *l, const char *dir, struct rlog_boot *b)
{
	char err[512] = "";

	rlog_close(l);
	rlog_boot_free(b);
	int rc = rlog_open(dir, &l, b, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "reopen %s: %s\n", dir, err);
		return NULL;
	}
	return l;
}

static bool data_is(const struct raft_entry *e, const char *s)
{
	return e->len == strlen(s) && memcmp(e->data, s, e->len) == 0;
}

static void test_fresh_and_reopen(void)
{
	const char *dir = newdir("basic");
	struct rlog_boot b;
	struct rlog *l;
	char err[256];

	TU_EQ_INT(rlog_open(dir, &l, &b, err, sizeof(err)), 0);
	TU_CHECK(b.fresh && b.n == 0 && b.hs.term == 0);
	TU_EQ_INT(count(dir, NULL, NULL), 1);
	struct raft_entry e[] = {ent(1, 1, "a"), ent(1, 2, "bb"), ent(1, 3, ""), ent(2, 4, "d")};
	TU_EQ_INT(persist(l, 2, 7, 3, e, 4), 0);
	/* a new leader of term 3 replaces entries 3 and 4 */
	struct raft_entry f[] = {ent(3, 3, "c3"), ent(3, 4, "d3"), ent(3, 5, "e3")};
	TU_EQ_INT(persist(l, 3, 0, 3, f, 3), 0);
	l = reopen(l, dir, &b);
	TU_CHECK(l && !b.fresh);
	TU_EQ_INT(b.hs.term, 3);
	TU_EQ_INT(b.hs.vote, 0);
	TU_EQ_INT(b.hs.commit, 3);
	TU_EQ_INT(b.n, 5);
	if (b.n == 5) {
		TU_CHECK(data_is(&b.ents[0], "a") && data_is(&b.ents[1], "bb"));
		TU_CHECK(data_is(&b.ents[2], "c3") && b.ents[2].term == 3);
		TU_CHECK(data_is(&b.ents[4], "e3") && b.ents[4].index == 5);
	}
	/* appends after a reopen go on where the log ended */
	struct raft_entry g = ent(3, 6, "f");
	TU_EQ_INT(persist(l, 0, 0, 0, &g, 1), 0);
	l = reopen(l, dir, &b);
	TU_EQ_INT(b.n, 6);
	rlog_close(l);
	rlog_boot_free(&b);
}

static void test_leader_snapshot(void)
{
	const char *dir = newdir("reset");
	struct rlog_boot b;
	struct rlog *l;
	char err[256];

	TU_EQ_INT(rlog_open(dir, &l, &b, err, sizeof(err)), 0);
	struct raft_entry e[] = {ent(1, 1, "a"), ent(1, 2, "b"), ent(2, 3, "stale")};
	TU_EQ_INT(persist(l, 2, 1, 2, e, 3), 0);
	/* a leader's snapshot at 2 with term 3: entry 3 (of term 2) must not survive it */
	struct raft_snap_meta s = {.index = 2, .term = 3, .conf = {.n = 2, .id = {1, 9},
								     .learner = {0, 1}}};
	struct raft_entry f = ent(4, 3, "new");
	struct raft_ready rd = {.hs_changed = true, .hs = {4, 0, 2}, .snap = &s,
				.entries = &f, .n_entries = 1};
	TU_EQ_INT(rlog_append(l, &rd), 0);
	TU_EQ_INT(rlog_sync(l), 0);
	l = reopen(l, dir, &b);
	TU_EQ_INT(b.snap.index, 2);
	TU_EQ_INT(b.snap.term, 3);
	TU_EQ_INT(b.snap.conf.n, 2);
	TU_CHECK(b.snap.conf.id[1] == 9 && b.snap.conf.learner[1] == 1);
	TU_EQ_INT(b.n, 1);
	TU_CHECK(b.n == 1 && data_is(&b.ents[0], "new") && b.ents[0].index == 3);
	rlog_close(l);
	rlog_boot_free(&b);
}

static void test_segments_and_compaction(void)
{
	const char *dir = newdir("segs");
	struct rlog_boot b;
	struct rlog *l;
	char err[256], first[256], data[1000];

	memset(data, 'x', sizeof(data) - 1);
	data[sizeof(data) - 1] = '\0';
	TU_EQ_INT(rlog_open(dir, &l, &b, err, sizeof(err)), 0);
	rlog_set_segment_max(l, 8000);
	for (uint64_t i = 1; i <= 60; i++) {
		struct raft_entry e = ent(1, i, data);
		TU_EQ_INT(persist(l, i == 1 ? 1 : 0, 1, 0, &e, 1), 0);
	}
	int segs = count(dir, NULL, NULL);
	TU_CHECK(segs >= 7);
	/* nothing goes before a snapshot covers it */
	struct raft_snap_meta s = {.index = 30, .term = 1, .conf = {.n = 1, .id = {1}}};
	TU_EQ_INT(rlog_put_snap(l, &s), 0);
	TU_EQ_INT(rlog_sync(l), 0);
	int gone = rlog_compact(l, 30);
	TU_CHECK(gone >= 2);
	TU_EQ_INT(count(dir, first, NULL), segs - gone);
	l = reopen(l, dir, &b);
	TU_EQ_INT(b.snap.index, 30);
	TU_EQ_INT(b.hs.term, 1);
	TU_EQ_INT(b.n, 30);
	TU_CHECK(b.n == 30 && b.ents[0].index == 31 && b.ents[29].index == 60);
	/* compacting again to the same point deletes nothing more */
	TU_EQ_INT(rlog_compact(l, 30), 0);
	rlog_close(l);
	rlog_boot_free(&b);
}

static void test_torn_tail(void)
{
	const char *dir = newdir("torn");
	struct rlog_boot b;
	struct rlog *l;
	char err[256], last[256];

	TU_EQ_INT(rlog_open(dir, &l, &b, err, sizeof(err)), 0);
	struct raft_entry e[] = {ent(1, 1, "one"), ent(1, 2, "two")};
	TU_EQ_INT(persist(l, 1, 1, 1, e, 2), 0);
	struct raft_entry f = ent(1, 3, "three, cut short by a crash");
	TU_EQ_INT(persist(l, 0, 0, 0, &f, 1), 0);
	rlog_close(l);
	/* the last record loses its end */
	count(dir, NULL, last);
	struct stat st;
	stat(last, &st);
	TU_EQ_INT(truncate(last, st.st_size - 5), 0);
	TU_EQ_INT(rlog_open(dir, &l, &b, err, sizeof(err)), 0);
	TU_EQ_INT(b.n, 2);
	struct raft_entry g = ent(2, 3, "again");
	TU_EQ_INT(persist(l, 2, 0, 2, &g, 1), 0);
	l = reopen(l, dir, &b);
	TU_EQ_INT(b.n, 3);
	TU_CHECK(b.n == 3 && data_is(&b.ents[2], "again"));
	TU_EQ_INT(b.hs.term, 2);
	rlog_close(l);
	rlog_boot_free(&b);
}

static void test_corrupt(void)
{
	const char *dir = newdir("corrupt");
	struct rlog_boot b;
	struct rlog *l;
	char err[512], first[256], data[1000];

	memset(data, 'y', sizeof(data) - 1);
	data[sizeof(data) - 1] = '\0';
	TU_EQ_INT(rlog_open(dir, &l, &b, err, sizeof(err)), 0);
	rlog_set_segment_max(l, 4000);
	for (uint64_t i = 1; i <= 12; i++) {
		struct raft_entry e = ent(1, i, data);
		TU_EQ_INT(persist(l, i == 1 ? 1 : 0, 0, 0, &e, 1), 0);
	}
	rlog_close(l);
	TU_CHECK(count(dir, first, NULL) >= 3);
	/* a byte of the first segment's second entry flips: that is no torn tail */
	int fd = open(first, O_RDWR);
	uint8_t x;
	TU_CHECK(pread(fd, &x, 1, 900) == 1);
	x ^= 0x40;
	TU_CHECK(pwrite(fd, &x, 1, 900) == 1);
	close(fd);
	int rc = rlog_open(dir, &l, &b, err, sizeof(err));
	TU_CHECK(rc < 0);
	TU_CHECK(strstr(err, first) && strstr(err, "corrupt record at offset"));
	printf("  refused: %s\n", err);
	/* a missing segment in the middle */
	dir = newdir("missing");
	TU_EQ_INT(rlog_open(dir, &l, &b, err, sizeof(err)), 0);
	rlog_set_segment_max(l, 4000);
	for (uint64_t i = 1; i <= 12; i++) {
		struct raft_entry e = ent(1, i, data);
		TU_EQ_INT(persist(l, 0, 0, 0, &e, 1), 0);
	}
	rlog_close(l);
	char mid[256];
	snprintf(mid, sizeof(mid), "%s/%016llx-%016llx.rlog", dir, 1ULL, 0ULL);
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		if (strncmp(names[i]->d_name, "0000000000000001-", 17) == 0)
			snprintf(mid, sizeof(mid), "%s/%s", dir, names[i]->d_name);
		free(names[i]);
	}
	free(names);
	TU_EQ_INT(unlink(mid), 0);
	rc = rlog_open(dir, &l, &b, err, sizeof(err));
	TU_CHECK(rc < 0 && strstr(err, "missing"));
	printf("  refused: %s\n", err);
}

int main(void)
{
	snprintf(root, sizeof(root), "/tmp/rlog_test.XXXXXX");
	if (!mkdtemp(root))
		return 1;
	TU_RUN(test_fresh_and_reopen);
	TU_RUN(test_leader_snapshot);
	TU_RUN(test_segments_and_compaction);
	TU_RUN(test_torn_tail);
	TU_RUN(test_corrupt);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		return 1;
	TU_EXIT();
}
