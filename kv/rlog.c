/* The Raft log's file shell: segments under DATA_DIR/member/raft, read back at start-up,
 * pending records written and fdatasynced once per batch with zeros written ahead (as the
 * store's log does, so that a sync writes the data alone), and old segments deleted once
 * a snapshot covers them. The records are kv/wal_codec.c's. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/log.h"
#include "rlog.h"
#include "wal.h"
#include "wal_io.h"

#define RLOG_PATH 512

struct rlog {
	char dir[RLOG_PATH];
	int fd;				/* the segment being written */
	uint64_t seq, first;		/* its number, and the index its entries were to start at */
	uint64_t off, filled;		/* durable length; size with the zeros ahead */
	uint64_t last;			/* the last entry index written (or pending) */
	struct raft_hard_state hs;	/* as last written: each new segment starts with them */
	struct raft_snap_meta snap;
	struct wal_buf pend;
	size_t seg_max;			/* RLOG_SEGMENT_MAX but in tests */
	bool cut_failed;
	struct rlog_stats st;
};

void rlog_boot_free(struct rlog_boot *b)
{
	for (size_t k = 0; k < b->n; k++)
		free(b->ents[k].data);
	free(b->ents);
	b->ents = NULL;
	b->n = 0;
}

static void seg_path(const struct rlog *l, uint64_t seq, uint64_t first, char *out)
{
	snprintf(out, RLOG_PATH + 64, "%s/%016llx-%016llx.rlog", l->dir, (unsigned long long)seq,
		 (unsigned long long)first);
}

static int put_snap(struct wal_buf *b, const struct raft_snap_meta *m, bool reset)
{
	return wal_put_raft_snap(b, m->index, m->term, reset, m->conf.n, m->conf.id,
				 m->conf.learner);
}

/* Makes segment seq the one being written: its header and the state of the moment,
 * written under a temporary name, synced, renamed, the directory synced. */
static int seg_create(struct rlog *l, uint64_t seq)
{
	char path[RLOG_PATH + 64], tmp[RLOG_PATH + 72];
	uint64_t first = l->last + 1;
	struct wal_buf b;
	int fd = -1, rc = 0;

	seg_path(l, seq, first, path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	wal_buf_init(&b, NULL);
	if (wal_put_header(&b, WAL_MAGIC_RAFT) ||
	    wal_put_raft_state(&b, l->hs.term, l->hs.vote, l->hs.commit) ||
	    put_snap(&b, &l->snap, false))
		rc = -ENOMEM;
	else if ((fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		rc = -errno;
	else if (!(rc = wal_write_all(fd, b.p, b.len, 0)) && fdatasync(fd) < 0)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (!rc && (rc = wal_fsync_dir(l->dir)) < 0)
		unlink(path);
	if (rc && fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	if (!rc) {
		if (l->fd >= 0) {
			/* the zeros ahead in the old one go (best effort: they read as its end) */
			if (l->filled > l->off && ftruncate(l->fd, (off_t)l->off) < 0) {
			}
			close(l->fd);
		}
		l->fd = fd;
		l->seq = seq;
		l->first = first;
		l->off = l->filled = b.len;
		l->st.segments++;
	}
	wal_buf_free(&b);
	return rc;
}

/* ---- reading back ----------------------------------------------------------------------- */

struct replay {
	struct rlog_boot *b;
	size_t cap;
	uint64_t start;		/* the index of the first entry held */
	char why[160];
};

/* Drops the first n entries held. */
static void drop_front(struct replay *rp, size_t n)
{
	struct rlog_boot *b = rp->b;

	if (n == 0)
		return;
	for (size_t k = 0; k < n; k++)
		free(b->ents[k].data);
	memmove(b->ents, b->ents + n, (b->n - n) * sizeof(*b->ents));
	b->n -= n;
	rp->start += n;
}

static int keep_entry(struct replay *rp, const struct wal_rec *r)
{
	struct rlog_boot *b = rp->b;
	uint64_t i = r->u.rent.index;

	if (i <= b->snap.index)
		return 0; /* covered by the snapshot */
	/* the first segments may be gone (a snapshot noted later covers them): the entries
	 * held may start anywhere, but then run without a gap */
	if (b->n == 0 || i < rp->start) {
		drop_front(rp, b->n);
		rp->start = i;
	} else if (i > rp->start + b->n) {
		snprintf(rp->why, sizeof(rp->why), "entry %llu follows entry %llu: entries are "
			 "missing", (unsigned long long)i,
			 (unsigned long long)(rp->start + b->n - 1));
		return WAL_ECORRUPT;
	}
	size_t at = (size_t)(i - rp->start);
	if (at > 0 && r->u.rent.term < b->ents[at - 1].term) {
		snprintf(rp->why, sizeof(rp->why), "entry %llu has term %llu, below the term "
			 "before it", (unsigned long long)i, (unsigned long long)r->u.rent.term);
		return WAL_ECORRUPT;
	}
	while (b->n > at) /* replaced: a new leader's entries */
		free(b->ents[--b->n].data);
	if (b->n == rp->cap) {
		size_t cap = rp->cap ? rp->cap * 2 : 256;
		struct raft_entry *e = realloc(b->ents, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		b->ents = e;
		rp->cap = cap;
	}
	struct raft_entry *e = &b->ents[b->n];
	*e = (struct raft_entry){.term = r->u.rent.term, .index = i, .type = r->u.rent.type,
				 .len = r->u.rent.len};
	if (e->len) {
		if (!(e->data = malloc(e->len)))
			return -ENOMEM;
		memcpy(e->data, r->u.rent.data, e->len);
	}
	b->n++;
	return 0;
}

static void keep_snap(struct replay *rp, const struct wal_rec *r)
{
	struct rlog_boot *b = rp->b;
	struct raft_snap_meta m = {.index = r->u.rsnap.index, .term = r->u.rsnap.term};

	if (!r->u.rsnap.reset && m.index <= b->snap.index)
		return; /* an older one, repeated at the start of a segment */
	m.conf.n = r->u.rsnap.n;
	for (uint32_t i = 0; i < m.conf.n; i++) {
		const uint8_t *p = r->u.rsnap.members + 9 * i;
		for (int k = 0; k < 8; k++)
			m.conf.id[i] |= (uint64_t)p[k] << (8 * k);
		m.conf.learner[i] = p[8];
	}
	/* a leader's snapshot replaces the whole log; a local one covers its start */
	if (r->u.rsnap.reset || m.index + 1 >= rp->start + b->n)
		drop_front(rp, b->n);
	else if (m.index >= rp->start)
		drop_front(rp, (size_t)(m.index - rp->start + 1));
	b->snap = m;
}

/* Reads one segment's records into the boot state. Returns 0 with *end the length of its
 * good records and *torn set if a torn tail follows, or a WAL_E* code with *off and *why. */
static int replay_seg(struct replay *rp, const uint8_t *p, size_t len, bool last, size_t *end,
		      bool *torn, size_t *off, const char **why)
{
	struct wal_iter it;
	struct wal_rec r;
	int rc = wal_iter_init(&it, p, len, WAL_MAGIC_RAFT, last, why);

	*torn = false;
	*off = 0;
	if (rc == WAL_ETORN) {
		*end = 0;
		*torn = true;
		return 0;
	}
	if (rc)
		return rc;
	while ((rc = wal_next(&it, &r, why)) == 1) {
		switch (r.type) {
		case WAL_RAFT_STATE:
			rp->b->hs = (struct raft_hard_state){r.u.rstate.term, r.u.rstate.vote,
							     r.u.rstate.commit};
			break;
		case WAL_RAFT_SNAP:
			keep_snap(rp, &r);
			break;
		case WAL_RAFT_ENTRY:
			if ((rc = keep_entry(rp, &r)) < 0) {
				*off = r.off;
				*why = rp->why;
				return rc;
			}
			break;
		default:
			*off = r.off;
			*why = "a record of the store's log in the Raft log";
			return WAL_ECORRUPT;
		}
	}
	*end = it.off;
	if (rc == WAL_ETORN) {
		*torn = true;
		return 0;
	}
	*off = it.off;
	return rc;
}

static int open_last(struct rlog *l, const struct wal_name *nm, size_t end, bool torn,
		     const char *why, char *err, size_t errlen)
{
	char path[RLOG_PATH + 64];

	seg_path(l, nm->seq, (uint64_t)nm->rev, path);
	if ((l->fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (torn) {
		log_warnx("kv: %s: torn record at offset %zu cut off: %s", path, end, why);
		if (end < WAL_FILE_HEADER) {
			/* not even a header: write it again */
			struct wal_buf b;
			wal_buf_init(&b, NULL);
			int rc = wal_put_header(&b, WAL_MAGIC_RAFT) ? -ENOMEM
				 : wal_write_all(l->fd, b.p, b.len, 0);
			end = b.len;
			wal_buf_free(&b);
			if (rc) {
				snprintf(err, errlen, "%s: %s", path, strerror(-rc));
				return rc;
			}
		}
		if (ftruncate(l->fd, (off_t)end) < 0 || fdatasync(l->fd) < 0) {
			snprintf(err, errlen, "%s: cannot cut off the torn tail: %s", path,
				 strerror(errno));
			return -errno;
		}
	}
	l->seq = nm->seq;
	l->first = (uint64_t)nm->rev;
	l->off = l->filled = end;
	return 0;
}

static int replay_all(struct rlog *l, struct rlog_boot *boot, char *err, size_t errlen)
{
	struct wal_name *v;
	long n = wal_list_dir(l->dir, ".rlog", &v);
	struct replay rp = {.b = boot};
	int rc = 0;

	if (n < 0) {
		snprintf(err, errlen, "%s: %s", l->dir, strerror((int)-n));
		return (int)n;
	}
	boot->fresh = n == 0;
	for (long i = 0; i < n && !rc; i++) {
		char path[RLOG_PATH + 64];
		const uint8_t *p;
		size_t len, end = 0, off = 0;
		bool torn, last = i == n - 1;
		const char *why = "";

		seg_path(l, v[i].seq, (uint64_t)v[i].rev, path);
		if (i > 0 && v[i].seq != v[i - 1].seq + 1) {
			snprintf(err, errlen, "%s: segment %llu is missing before it", path,
				 (unsigned long long)v[i - 1].seq + 1);
			rc = WAL_ECORRUPT;
			break;
		}
		if ((rc = wal_map_file(path, &p, &len)) < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(-rc));
			break;
		}
		rc = replay_seg(&rp, p, len, last, &end, &torn, &off, &why);
		wal_unmap_file(p, len);
		if (rc)
			snprintf(err, errlen, "%s: %s at offset %zu: %s", path,
				 rc == -ENOMEM ? "out of memory" : "corrupt record", off, why);
		else if (last)
			rc = open_last(l, &v[i], end, torn, why, err, errlen);
	}
	free(v);
	if (!rc && boot->n && rp.start != boot->snap.index + 1) {
		snprintf(err, errlen, "%s: entries %llu to %llu are missing (no snapshot covers "
			 "them)", l->dir, (unsigned long long)boot->snap.index + 1,
			 (unsigned long long)rp.start - 1);
		rc = WAL_ECORRUPT;
	}
	return rc;
}

int rlog_open(const char *dir, struct rlog **out, struct rlog_boot *boot, char *err,
	      size_t errlen)
{
	struct rlog *l = calloc(1, sizeof(*l));
	int rc;

	memset(boot, 0, sizeof(*boot));
	if (!l)
		return -ENOMEM;
	l->fd = -1;
	l->seg_max = RLOG_SEGMENT_MAX;
	wal_buf_init(&l->pend, NULL);
	snprintf(l->dir, sizeof(l->dir), "%s", dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		free(l);
		return rc;
	}
	rc = replay_all(l, boot, err, errlen);
	if (!rc) {
		l->hs = boot->hs;
		l->snap = boot->snap;
		l->last = boot->snap.index + boot->n;
		if (boot->fresh && (rc = seg_create(l, 0)) < 0)
			snprintf(err, errlen, "%s: cannot create the first segment: %s", dir,
				 strerror(-rc));
	}
	if (rc) {
		rlog_boot_free(boot);
		rlog_close(l);
		return rc;
	}
	*out = l;
	return 0;
}

/* ---- writing ---------------------------------------------------------------------------- */

int rlog_append(struct rlog *l, const struct raft_ready *rd)
{
	size_t mark = l->pend.len;
	int rc = 0;

	if (rd->hs_changed)
		rc = wal_put_raft_state(&l->pend, rd->hs.term, rd->hs.vote, rd->hs.commit);
	if (!rc && rd->snap)
		rc = put_snap(&l->pend, rd->snap, true);
	for (size_t k = 0; k < rd->n_entries && !rc; k++)
		rc = wal_put_raft_entry(&l->pend, rd->entries[k].term, rd->entries[k].index,
					rd->entries[k].type, rd->entries[k].data,
					rd->entries[k].len);
	if (rc) {
		l->pend.len = mark;
		return rc;
	}
	if (rd->hs_changed)
		l->hs = rd->hs;
	if (rd->snap) {
		l->snap = *rd->snap;
		l->last = rd->snap->index;
	}
	if (rd->n_entries)
		l->last = rd->entries[rd->n_entries - 1].index;
	return 0;
}

int rlog_put_snap(struct rlog *l, const struct raft_snap_meta *m)
{
	if (put_snap(&l->pend, m, false))
		return -ENOMEM;
	if (m->index > l->snap.index)
		l->snap = *m;
	return 0;
}

bool rlog_has_pending(const struct rlog *l)
{
	return l->pend.len > 0;
}

int rlog_sync(struct rlog *l)
{
	if (l->pend.len) {
		uint64_t end = l->off + l->pend.len;
		int rc = wal_write_all(l->fd, l->pend.p, l->pend.len, l->off);
		if (!rc && end > l->filled)
			l->filled = wal_write_zeros(l->fd, end, (end / WAL_AHEAD + 1) * WAL_AHEAD);
		if (!rc && fdatasync(l->fd) < 0)
			rc = -errno;
		if (rc)
			return rc;
		l->off = end;
		if (l->filled < end)
			l->filled = end;
		l->st.syncs++;
		l->st.bytes += l->pend.len;
		l->pend.len = 0;
		wal_buf_shrink(&l->pend, (size_t)1 << 20);
	}
	if (l->off >= l->seg_max) {
		int rc = seg_create(l, l->seq + 1);
		if (rc && !l->cut_failed)
			log_warnx("kv: %s: cannot start a new Raft log segment: %s (retried)",
				  l->dir, strerror(-rc));
		l->cut_failed = rc != 0;
	}
	return 0;
}

int rlog_compact(struct rlog *l, uint64_t index)
{
	struct wal_name *v;
	long n = wal_list_dir(l->dir, ".rlog", &v), gone = 0;

	if (n < 0)
		return (int)n;
	/* segment i's entries end before segment i+1's first; the current one stays */
	for (long i = 0; i + 1 < n && v[i].seq < l->seq; i++) {
		char path[RLOG_PATH + 64];
		if ((uint64_t)v[i + 1].rev - 1 > index)
			break;
		seg_path(l, v[i].seq, (uint64_t)v[i].rev, path);
		if (unlink(path) < 0 && errno != ENOENT)
			break;
		gone++;
	}
	free(v);
	if (gone)
		wal_fsync_dir(l->dir);
	return (int)gone;
}

void rlog_set_segment_max(struct rlog *l, size_t bytes)
{
	l->seg_max = bytes;
}

void rlog_stats(const struct rlog *l, struct rlog_stats *st)
{
	*st = l->st;
}

void rlog_close(struct rlog *l)
{
	if (!l)
		return;
	if (l->fd >= 0) {
		if (l->filled > l->off && ftruncate(l->fd, (off_t)l->off) < 0) {
		}
		close(l->fd);
	}
	wal_buf_free(&l->pend);
	free(l);
}
