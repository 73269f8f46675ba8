/* The log's file shell against a real directory: a new member's files, records synced and
 * read back after a reopen, snapshots that delete what they cover, a torn tail cut off, a
 * corrupt middle record and a newer format refused with the file and offset named, a
 * missing segment, leftover temporary files, and a write that fails (file size limit) and
 * then succeeds with nothing lost. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../../kv/wal.h"
#include "../testutil.h"
#include "mvcctest.h"

static char root[64];

/* A fresh data dir under root. */
static const char *newdir(const char *name)
{
	static char d[128];
	snprintf(d, sizeof(d), "%s/%s", root, name);
	mkdir(d, 0700);
	return d;
}

/* How many files in dir end with suffix; the last such name into last. */
static int count(const char *dir, const char *suffix, char *last)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name), sl = strlen(suffix);
		if (l > sl && strcmp(e->d_name + l - sl, suffix) == 0) {
			n++;
			if (last)
				snprintf(last, 256, "%s/%s", dir, e->d_name);
		}
	}
	closedir(d);
	return n;
}

static off_t size_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : -1;
}

struct node {
	struct mvcc *s;
	struct wal_leases l;
	struct wal *w;
	int64_t logged;
};

static int node_open(struct node *n, const char *dir, char *err)
{
	n->s = mvcct_new();
	wal_leases_init(&n->l, NULL);
	err[0] = 0;
	int rc = wal_open(dir, n->s, &n->l, &n->w, err, 512);
	n->logged = mvcc_rev(n->s);
	return rc;
}

static void node_close(struct node *n)
{
	wal_close(n->w);
	mvcc_free(n->s);
	wal_leases_free(&n->l);
	memset(n, 0, sizeof(*n));
}

/* Puts count keys, pulls them into the log and syncs. */
static void node_write(struct node *n, const char *prefix, int count)
{
	for (int i = 0; i < count; i++) {
		char k[32], v[32];
		snprintf(k, sizeof(k), "%s%03d", prefix, i);
		snprintf(v, sizeof(v), "v%d", i);
		TU_EQ_INT(mvcct_put(n->s, k, v), 0);
	}
	TU_EQ_INT(wal_pull(n->s, &n->logged, wal_pending(n->w)), 0);
	TU_EQ_INT(wal_sync(n->w, n->logged), 0);
}

static void same(struct mvcc *a, struct mvcc *b)
{
	struct mvcc_hash ha, hb;
	TU_EQ_INT(mvcc_rev(a), mvcc_rev(b));
	TU_EQ_INT(mvcc_compacted(a), mvcc_compacted(b));
	TU_EQ_INT(mvcc_hash_kv(a, 0, &ha), 0);
	TU_EQ_INT(mvcc_hash_kv(b, 0, &hb), 0);
	TU_EQ_INT(ha.hash, hb.hash);
}

static void test_new_and_reopen(void)
{
	const char *d = newdir("reopen");
	char err[512], wal[256], path[300];
	struct node a, b;

	TU_EQ_INT(node_open(&a, d, err), 0);
	snprintf(path, sizeof(path), "%s/member/wal", d);
	TU_EQ_INT(count(path, ".wal", wal), 1);
	TU_CHECK(strstr(wal, "/0000000000000000-0000000000000001.wal") != NULL);
	node_write(&a, "a", 50);
	TU_EQ_INT(mvcc_compact(a.s, 20), 0);
	TU_EQ_INT(wal_put_compact(wal_pending(a.w), 20), 0);
	TU_EQ_INT(wal_put_lease_grant(wal_pending(a.w), 7, 30), 0);
	TU_EQ_INT(wal_sync(a.w, a.logged), 0);
	TU_EQ_INT(node_open(&b, d, err), 0);
	same(a.s, b.s);
	TU_EQ_INT(b.l.n, 1);
	node_close(&b);
	node_close(&a);
}

/* Room is written ahead in the segment, WAL_AHEAD at a time: the file is longer than its
 * records and ends in zeros. A reopen starts appending after the last record, not at the
 * end of the file, and the records written into the room read back. */
static void test_room_ahead(void)
{
	const char *d = newdir("ahead");
	char err[512], waldir[300], wal[256];
	struct node a, b, c;
	off_t size;

	snprintf(waldir, sizeof(waldir), "%s/member/wal", d);
	TU_EQ_INT(node_open(&a, d, err), 0);
	node_write(&a, "a", 20);
	TU_EQ_INT(count(waldir, ".wal", wal), 1);
	size = size_of(wal);
	TU_EQ_INT(size, (off_t)WAL_AHEAD);
	TU_EQ_INT(node_open(&b, d, err), 0);
	same(a.s, b.s);
	node_close(&a);
	node_write(&b, "b", 20);	/* after the records, in the room ahead */
	TU_EQ_INT(size_of(wal), size);
	TU_EQ_INT(node_open(&c, d, err), 0);
	same(b.s, c.s);
	node_close(&c);
	node_close(&b);
}

static void test_snapshot_prunes(void)
{
	const char *d = newdir("snap");
	char err[512], waldir[300], snapdir[300], last[256];
	struct node a, b;
	struct wal_stats st;

	snprintf(waldir, sizeof(waldir), "%s/member/wal", d);
	snprintf(snapdir, sizeof(snapdir), "%s/member/snap", d);
	TU_EQ_INT(node_open(&a, d, err), 0);
	node_write(&a, "a", 30);
	TU_EQ_INT(wal_snapshot(a.w, a.s, &a.l), 0);
	node_write(&a, "b", 10);
	TU_EQ_INT(wal_snapshot(a.w, a.s, &a.l), 0);
	node_write(&a, "c", 10);
	TU_EQ_INT(count(snapdir, ".snap", last), 1);
	TU_CHECK(strstr(last, "/0000000000000002-0000000000000029.snap") != NULL);
	TU_EQ_INT(count(waldir, ".wal", last), 1);
	TU_CHECK(strstr(last, "/0000000000000002-0000000000000029.wal") != NULL);
	wal_get_stats(a.w, &st);
	TU_EQ_INT(st.snapshots, 2);
	TU_EQ_INT(st.snap_rev, 41);
	TU_EQ_INT(node_open(&b, d, err), 0);
	same(a.s, b.s);
	node_close(&b);
	/* a leftover temporary file goes, an older snapshot left by a cut-short prune too */
	char tmp[400];
	snprintf(tmp, sizeof(tmp), "%s/0000000000000009-0000000000000001.wal.tmp", waldir);
	close(open(tmp, O_CREAT | O_WRONLY, 0600));
	snprintf(tmp, sizeof(tmp), "%s/0000000000000001-0000000000000001.snap", snapdir);
	close(open(tmp, O_CREAT | O_WRONLY, 0600));
	TU_EQ_INT(node_open(&b, d, err), 0);
	TU_EQ_INT(count(waldir, ".tmp", NULL), 0);
	TU_EQ_INT(count(snapdir, ".snap", NULL), 1);
	same(a.s, b.s);
	node_close(&b);
	node_close(&a);
}

/* Where a segment's records end: the zeros written ahead follow. */
static off_t records_end(const char *path)
{
	static uint8_t buf[4 << 20];
	int fd = open(path, O_RDONLY);
	ssize_t n = read(fd, buf, sizeof(buf));
	struct wal_iter it;
	struct wal_rec r;
	const char *why;

	close(fd);
	TU_CHECK(n > 0 && (size_t)n < sizeof(buf));
	TU_EQ_INT(wal_iter_init(&it, buf, (size_t)n, WAL_MAGIC_SEGMENT, false, &why), 0);
	while (wal_next(&it, &r, &why) == 1)
		;
	return (off_t)it.off;
}

/* Half of a record more, as a crash in the middle of a write leaves it: in the room
 * written ahead (round 0) or appended after it (round 1). It is cut off with the zeros. */
static void test_torn_tail_cut(void)
{
	char err[512], waldir[300], wal[256];
	struct node a, b;
	off_t good;
	int fd;

	for (int round = 0; round < 2; round++) {
		const char *d = newdir(round ? "torn1" : "torn0");
		snprintf(waldir, sizeof(waldir), "%s/member/wal", d);
		TU_EQ_INT(node_open(&a, d, err), 0);
		node_write(&a, "a", 10);
		TU_EQ_INT(count(waldir, ".wal", wal), 1);
		good = records_end(wal);
		TU_CHECK(good < size_of(wal));
		TU_EQ_INT(mvcct_put(a.s, "late", "never acknowledged"), 0);
		TU_EQ_INT(wal_pull(a.s, &a.logged, wal_pending(a.w)), 0);
		fd = open(wal, round ? O_WRONLY | O_APPEND : O_WRONLY);
		size_t half = wal_pending(a.w)->len / 2;
		TU_EQ_INT(round ? write(fd, wal_pending(a.w)->p, half)
				: pwrite(fd, wal_pending(a.w)->p, half, good), (ssize_t)half);
		close(fd);
		TU_EQ_INT(node_open(&b, d, err), 0);
		TU_EQ_INT(size_of(wal), good);
		TU_EQ_INT(mvcc_rev(b.s), 11);
		/* and the log goes on from there */
		node_write(&b, "b", 5);
		node_close(&b);
		TU_EQ_INT(node_open(&b, d, err), 0);
		TU_EQ_INT(mvcc_rev(b.s), 16);
		node_close(&b);
		node_close(&a);
	}
}

/* Flips a byte of file at off. */
static void flip(const char *path, off_t off)
{
	int fd = open(path, O_RDWR);
	uint8_t c;
	TU_EQ_INT(pread(fd, &c, 1, off), 1);
	c ^= 0x40;
	TU_EQ_INT(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

static void test_corrupt_refused(void)
{
	const char *d = newdir("corrupt");
	char err[512], waldir[300], wal[256], want[400];
	struct node a, b;

	snprintf(waldir, sizeof(waldir), "%s/member/wal", d);
	TU_EQ_INT(node_open(&a, d, err), 0);
	node_write(&a, "a", 3);
	node_write(&a, "b", 3);
	node_close(&a);
	TU_EQ_INT(count(waldir, ".wal", wal), 1);
	/* the first REV record: after the header (16) and the SEGMENT record (32) */
	flip(wal, 48 + 20);
	TU_EQ_INT(node_open(&b, d, err), WAL_ECORRUPT);
	snprintf(want, sizeof(want), "%s: corrupt record at offset 48: record checksum mismatch",
		 wal);
	TU_EQ_STR(err, want);
	node_close(&b);
	flip(wal, 48 + 20);
	/* a newer format */
	{
		int fd = open(wal, O_RDWR);
		uint8_t h[16];
		uint32_t c;
		TU_EQ_INT(pread(fd, h, 16, 0), 16);
		h[8] = 3;
		c = wal_crc32c(0, h, 12);
		for (int i = 0; i < 4; i++)
			h[12 + i] = (uint8_t)(c >> (8 * i));
		TU_EQ_INT(pwrite(fd, h, 16, 0), 16);
		TU_EQ_INT(node_open(&b, d, err), WAL_EVERSION);
		snprintf(want, sizeof(want), "%s: written by a newer cabind (format version 3; "
			 "this one reads version 2)", wal);
		TU_EQ_STR(err, want);
		node_close(&b);
		h[8] = 1;
		c = wal_crc32c(0, h, 12);
		for (int i = 0; i < 4; i++)
			h[12 + i] = (uint8_t)(c >> (8 * i));
		TU_EQ_INT(pwrite(fd, h, 16, 0), 16);
		close(fd);
	}
	TU_EQ_INT(node_open(&b, d, err), 0);
	TU_EQ_INT(mvcc_rev(b.s), 7);
	node_close(&b);
}

static void test_missing_segment(void)
{
	const char *d = newdir("missing");
	char err[512], waldir[300], path[400];
	struct node a, b;

	snprintf(waldir, sizeof(waldir), "%s/member/wal", d);
	TU_EQ_INT(node_open(&a, d, err), 0);
	node_write(&a, "a", 3);
	TU_EQ_INT(wal_snapshot(a.w, a.s, &a.l), 0);
	node_write(&a, "b", 3);
	node_close(&a);
	snprintf(path, sizeof(path), "%s/0000000000000001-0000000000000004.wal", waldir);
	TU_EQ_INT(unlink(path), 0);
	TU_EQ_INT(node_open(&b, d, err), WAL_ECORRUPT);
	TU_CHECK(strstr(err, "segment 0000000000000001") != NULL);
	node_close(&b);
}

/* A write that fails keeps its records; the next sync writes them all. */
static void test_write_fails_then_works(void)
{
	const char *d = newdir("efbig");
	char err[512], waldir[300], wal[256];
	struct node a, b;
	struct rlimit old, lim;

	snprintf(waldir, sizeof(waldir), "%s/member/wal", d);
	TU_EQ_INT(node_open(&a, d, err), 0);
	node_write(&a, "a", 3);
	TU_EQ_INT(count(waldir, ".wal", wal), 1);
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = (rlim_t)size_of(wal) + 40;	/* room for part of the next batch */
	TU_EQ_INT(setrlimit(RLIMIT_FSIZE, &lim), 0);
	char *big = malloc(WAL_AHEAD + 1);	/* more than the room written ahead */
	memset(big, 'b', WAL_AHEAD);
	big[WAL_AHEAD] = 0;
	for (int i = 0; i < 5; i++)
		TU_EQ_INT(mvcct_put(a.s, "big", i ? "a value that does not fit in forty bytes" : big),
			  0);
	free(big);
	TU_EQ_INT(wal_pull(a.s, &a.logged, wal_pending(a.w)), 0);
	TU_EQ_INT(wal_sync(a.w, a.logged), -EFBIG);
	TU_EQ_INT(wal_sync(a.w, a.logged), -EFBIG);
	TU_EQ_INT(setrlimit(RLIMIT_FSIZE, &old), 0);
	TU_EQ_INT(wal_sync(a.w, a.logged), 0);
	TU_EQ_INT(wal_pending(a.w)->len, 0);
	TU_EQ_INT(node_open(&b, d, err), 0);
	same(a.s, b.s);
	node_close(&b);
	node_close(&a);
}

/* Puts count keys with values of vlen bytes (keys of klen, long ones too) and logs them;
 * their values and long keys then live in the files. */
static void node_write_big(struct node *n, const char *prefix, int count, int klen, int vlen)
{
	char k[200], v[2000];
	for (int i = 0; i < count; i++) {
		memset(k, 'k', sizeof(k));
		snprintf(k + klen - 16, 17, "%s%09d", prefix, i);
		memset(v, 'a' + i % 26, (size_t)vlen);
		v[vlen] = 0;
		TU_EQ_INT(mvcct_put(n->s, k, v), 0);
	}
	size_t from = wal_pending(n->w)->len;
	TU_EQ_INT(wal_pull(n->s, &n->logged, wal_pending(n->w)), 0);
	wal_settle(n->w, n->s, from);
	TU_EQ_INT(wal_sync(n->w, n->logged), 0);
}

/* Open descriptors of this process on deleted files. */
static int deleted_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char p[300], t[512];
	int n = 0;

	while (d && (e = readdir(d))) {
		snprintf(p, sizeof(p), "/proc/self/fd/%s", e->d_name);
		ssize_t l = readlink(p, t, sizeof(t) - 1);
		if (l > 0) {
			t[l] = 0;
			n += strstr(t, "(deleted)") != NULL;
		}
	}
	if (d)
		closedir(d);
	return n;
}

/* A snapshot written a piece at a time while writes go on: the store keeps reading its
 * values and long keys through the older files until the snapshot takes over, then those
 * close; reopened, the snapshot and the segments after it give the same store. A
 * compaction drops a snapshot under way. */
/* Batches of Raft entries end with an APPLIED record. A batch whose records were written
 * but not its APPLIED record (a crash between) is cut at the next open, whole: Raft applies
 * it again. A snapshot carries the index too. Before any APPLIED record, nothing is cut. */
static void test_applied_batches(void)
{
	const char *d = newdir("applied");
	char err[512];
	struct node a, b;

	TU_EQ_INT(node_open(&a, d, err), 0);
	TU_EQ_INT(wal_applied(a.w), 0);
	node_write(&a, "legacy", 3);	/* no APPLIED yet: kept */
	node_close(&a);
	TU_EQ_INT(node_open(&a, d, err), 0);
	TU_EQ_INT(mvcc_rev(a.s), 4);
	node_write(&a, "a", 5);
	TU_EQ_INT(wal_put_applied(wal_pending(a.w), 10), 0);
	TU_EQ_INT(wal_sync(a.w, a.logged), 0);
	int64_t good = mvcc_rev(a.s);
	node_write(&a, "half", 4);	/* its APPLIED never came */
	TU_EQ_INT(node_open(&b, d, err), 0);
	TU_EQ_INT(wal_applied(b.w), 10);
	TU_EQ_INT(mvcc_rev(b.s), good);
	/* the next batch is written where the cut one was */
	node_write(&b, "b", 2);
	TU_EQ_INT(wal_put_applied(wal_pending(b.w), 12), 0);
	TU_EQ_INT(wal_sync(b.w, b.logged), 0);
	node_close(&b);
	TU_EQ_INT(node_open(&b, d, err), 0);
	TU_EQ_INT(wal_applied(b.w), 12);
	TU_EQ_INT(mvcc_rev(b.s), good + 2);
	/* a snapshot keeps the index; the segment after it starts with no APPLIED record, and
	 * a batch in it without one is cut back to the SEGMENT record */
	wal_set_applied(b.w, 12);
	TU_EQ_INT(wal_snapshot(b.w, b.s, &b.l), 0);
	b.logged = mvcc_rev(b.s);
	node_write(&b, "c", 3);
	node_close(&b);
	TU_EQ_INT(node_open(&b, d, err), 0);
	TU_EQ_INT(wal_applied(b.w), 12);
	TU_EQ_INT(mvcc_rev(b.s), good + 2);
	node_close(&b);
	node_close(&a);
}

static void test_snapshot_in_pieces(void)
{
	char dir[128], snapdir[160];
	struct node a, b;
	char err[512];
	int steps = 0, rc;

	snprintf(dir, sizeof(dir), "%s", newdir("pieces"));
	snprintf(snapdir, sizeof(snapdir), "%s/member/snap", dir);
	TU_EQ_INT(node_open(&a, dir, err), 0);
	node_write_big(&a, "a", 3000, 150, 1000);	/* about 3.5 MB */
	TU_EQ_INT(wal_snapshot_begin(a.w, a.s, &a.l), 0);
	TU_EQ_INT(wal_snapshot_begin(a.w, a.s, &a.l), -EBUSY);
	struct mvcc_kv kv;
	char key[200];
	memset(key, 'k', sizeof(key));
	snprintf(key + 150 - 16, 17, "a%09d", 4);
	key[150] = 0;
	/* a byte of budget: a chunk written per step, then a place taken per step once it is
	 * durable (the files it replaces unlinked but still read) */
	int taking = 0, writes = 0;
	while ((rc = wal_snapshot_step(a.w, a.s, 1)) == 1) {
		steps++;
		if (deleted_fds() > 0) {	/* moving onto it: old versions still read */
			if (taking++ % 500 == 0) {
				TU_EQ_INT(mvcct_get(a.s, key, 6, &kv), 1);
				TU_EQ_INT(kv.value.len, 1000);
				TU_EQ_INT(kv.value.p[999], 'a' + 4);
			} else if (taking % 500 != 250)
				continue;
		}
		writes++;
		node_write_big(&a, "b", 20, 150, 500);	/* meanwhile: new keys */
		node_write_big(&a, "a", 5, 150, 300);	/* and new versions */
	}
	TU_EQ_INT(rc, 0);
	TU_CHECK(steps >= 3);
	TU_CHECK(taking >= 3000);	/* a key and a value each */
	TU_CHECK(!wal_snapshot_busy(a.w));
	TU_EQ_INT(deleted_fds(), 0);
	TU_EQ_INT(mvcct_get(a.s, key, 0, &kv), 1);
	TU_EQ_INT(kv.value.len, 300);
	TU_EQ_INT(mvcct_get(a.s, key, 6, &kv), 1);	/* the first version, from the snapshot */
	TU_EQ_INT(kv.value.len, 1000);
	TU_EQ_INT(kv.value.p[999], 'a' + 4);
	node_close(&a);
	TU_EQ_INT(node_open(&b, dir, err), 0);
	TU_EQ_INT(mvcct_get(b.s, key, 6, &kv), 1);
	TU_EQ_INT(kv.value.len, 1000);
	TU_EQ_INT(mvcc_rev(b.s), 1 + 3000 + writes * 25);
	/* a compaction meanwhile: the snapshot is dropped by its caller, the log stays whole */
	TU_EQ_INT(wal_snapshot_begin(b.w, b.s, &b.l), 0);
	TU_EQ_INT(wal_snapshot_step(b.w, b.s, 1), 1);
	TU_CHECK(wal_snapshot_drop(b.w));
	TU_CHECK(!wal_snapshot_busy(b.w));
	TU_EQ_INT(count(snapdir, ".tmp", NULL), 0);
	TU_EQ_INT(count(snapdir, ".snap", NULL), 1);
	node_close(&b);
	TU_EQ_INT(node_open(&b, dir, err), 0);
	TU_EQ_INT(mvcc_rev(b.s), 1 + 3000 + writes * 25);
	/* dropped while the store moves onto it: that is finished, not undone */
	TU_EQ_INT(wal_snapshot_begin(b.w, b.s, &b.l), 0);
	while (deleted_fds() == 0)
		TU_EQ_INT(wal_snapshot_step(b.w, b.s, 1 << 20), 1);
	TU_CHECK(!wal_snapshot_drop(b.w));
	TU_CHECK(!wal_snapshot_busy(b.w));
	TU_EQ_INT(deleted_fds(), 0);
	TU_EQ_INT(count(snapdir, ".snap", NULL), 1);
	TU_EQ_INT(mvcct_get(b.s, key, 6, &kv), 1);
	TU_EQ_INT(kv.value.p[999], 'a' + 4);
	node_close(&b);
	TU_EQ_INT(node_open(&b, dir, err), 0);
	TU_EQ_INT(mvcct_get(b.s, key, 6, &kv), 1);
	TU_EQ_INT(kv.value.len, 1000);
	node_close(&b);
}

int main(void)
{
	snprintf(root, sizeof(root), "/tmp/wal_file_test.XXXXXX");
	if (!mkdtemp(root))
		return 1;
	TU_RUN(test_new_and_reopen);
	TU_RUN(test_room_ahead);
	TU_RUN(test_snapshot_prunes);
	TU_RUN(test_torn_tail_cut);
	TU_RUN(test_corrupt_refused);
	TU_RUN(test_missing_segment);
	TU_RUN(test_write_fails_then_works);
	TU_RUN(test_snapshot_in_pieces);
	TU_RUN(test_applied_batches);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		return 1;
	return TU_EXIT();
}
