/* The log's file shell: segment and snapshot files under DATA_DIR/member, recovery at
 * start-up, pending records made durable with one fdatasync per batch, and new files
 * (segments, snapshots) written under a temporary name, synced, renamed and their
 * directory synced. What the bytes mean is the pure codec's business (kv/wal_codec.c,
 * kv/wal_replay.c, kv/wal_store.c); this file owns the descriptors. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/log.h"
#include "wal_file.h"

static void seg_path(const struct wal *w, uint64_t seq, int64_t rev, char *out)
{
	snprintf(out, WAL_PATH, "%s/%016llx-%016llx.wal", w->waldir, (unsigned long long)seq,
		 (unsigned long long)rev);
}

static void snap_path(const struct wal *w, uint64_t seq, int64_t rev, char *out)
{
	snprintf(out, WAL_PATH, "%s/%016llx-%016llx.snap", w->snapdir, (unsigned long long)seq,
		 (unsigned long long)rev);
}

/* ---- segments ------------------------------------------------------------------------------ */

/* Makes segment seq (following revision rev) the one being written: written whole under a
 * temporary name, synced, renamed, the directory synced. */
static int seg_create(struct wal *w, uint64_t seq, int64_t rev)
{
	char path[WAL_PATH], tmp[WAL_PATH + 8];
	struct wal_buf b;
	int fd = -1, rc = 0;
	long slot = -1;

	/* a segment that is not the last must be whole on disk: replay takes damage in it
	 * for corruption, not for a crash */
	if ((rc = wal_disk_sync(w)) < 0)
		return rc;
	seg_path(w, seq, rev, path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	wal_buf_init(&b, NULL);
	if (wal_put_header(&b, WAL_MAGIC_SEGMENT) || wal_put_segment(&b, seq, rev))
		rc = -ENOMEM;
	else if ((fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		rc = -errno;
	else if (!(rc = wal_write_all(fd, b.p, b.len, 0)) && fdatasync(fd) < 0)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (!rc && (rc = wal_fsync_dir(w->waldir)) < 0)
		unlink(path);	/* not known to be there after a crash: do not build on it */
	if (rc && fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	if (!rc && (slot = wal_slot_add(w, fd, seq)) < 0) {
		rc = (int)slot;	/* slot_add closed fd */
		unlink(path);
	}
	if (!rc) {
		/* the segment before stays open for its values until a snapshot takes them;
		 * the zeros written ahead in it go (best effort: they read as its end) */
		if (w->fd >= 0 && w->filled > w->off && ftruncate(w->fd, (off_t)w->off) < 0) {
		}
		w->fd = fd;
		w->cur = (size_t)slot;
		w->seq = seq;
		w->seg_rev = rev;
		w->off = b.len;
		w->filled = b.len;
		w->st.segment = seq;
	}
	wal_buf_free(&b);
	return rc;
}

struct wal_buf *wal_pending(struct wal *w)
{
	return &w->pend;
}

int wal_sync(struct wal *w, int64_t rev)
{
	int rc;

	if (w->pend.len) {
		uint64_t end = w->off + w->pend.len;
		rc = wal_write_all(w->fd, w->pend.p, w->pend.len, w->off);
		/* room for the next records, written before it is needed: then an fdatasync
		 * writes their data alone, not the file's size and new blocks with it */
		if (!rc && end > w->filled)
			w->filled = wal_write_zeros(w->fd, end, (end / WAL_AHEAD + 1) * WAL_AHEAD);
		if (!rc && !w->lazy && fdatasync(w->fd) < 0)
			rc = -errno;
		if (rc) {
			/* drop what got in; the next try writes it all again from off */
			if (ftruncate(w->fd, (off_t)w->off) < 0) {
			}
			w->filled = w->off;
			return rc;
		}
		w->off += w->pend.len;
		w->st.bytes += w->pend.len;
		w->st.syncs += !w->lazy;
		w->unsynced = w->lazy;
		w->pend.len = 0;
		wal_buf_shrink(&w->pend, SNAP_CHUNK);
	}
	if (w->off >= WAL_SEGMENT_MAX) {
		rc = seg_create(w, w->seq + 1, rev);
		if (rc && !w->cut_failed)
			log_warnx("kv: %s: cannot start a new segment: %s", w->waldir, strerror(-rc));
		w->cut_failed = rc != 0;
	}
	return 0;
}

/* ---- snapshots ----------------------------------------------------------------------------- */

/* Deletes the snapshots but keep, and the segments before seq. */
static void prune(struct wal *w, uint64_t seq, const char *keep)
{
	char path[WAL_PATH];
	struct wal_name *v;
	long n = wal_list_dir(w->snapdir, ".snap", &v);

	for (long i = 0; i < n; i++) {
		snap_path(w, v[i].seq, v[i].rev, path);
		if (strcmp(path, keep) != 0 && unlink(path) < 0)
			log_warn("kv: %s", path);
	}
	free(v);
	n = wal_list_dir(w->waldir, ".wal", &v);
	for (long i = 0; i < n && v[i].seq < seq; i++) {
		seg_path(w, v[i].seq, v[i].rev, path);
		if (unlink(path) < 0)
			log_warn("kv: %s", path);
	}
	free(v);
	wal_fsync_dir(w->snapdir);
	wal_fsync_dir(w->waldir);
}


/* A snapshot being written: the file, the writer and where it is, the places noted. */
struct snap_job {
	int fd;
	char path[WAL_PATH], tmp[WAL_PATH + 8];
	uint64_t seq;			/* the first segment it does not cover */
	int64_t rev;
	struct wal_leases leases;	/* the leases when it began */
	struct wal_snap_writer sw;
	struct wal_buf b;
	uint64_t off;			/* bytes written */
	struct places ps;
	bool noted;			/* every place so far */
	/* written and durable: the store is moved onto it, a piece per step */
	bool taking;
	size_t slot;			/* it is read through (it owns fd now) */
	size_t taken;			/* places moved so far */
	bool taken_ok;			/* every one found */
};

static void job_free(struct wal *w, bool keep_file)
{
	struct snap_job *j = w->job;

	if (!j)
		return;
	if (!keep_file && !j->taking) {
		close(j->fd);
		unlink(j->tmp);
	}
	wal_leases_free(&j->leases);
	wal_buf_free(&j->b);
	free(j->ps.v);
	free(j);
	w->job = NULL;
}

static bool job_take(struct wal *w, struct mvcc *s, size_t budget);

bool wal_snapshot_drop(struct wal *w)
{
	if (!w->job)
		return false;
	/* one complete and durable already: what is left is quick, and it cannot be undone */
	if (w->job->taking) {
		job_take(w, w->s, SIZE_MAX);
		return false;
	}
	job_free(w, false);
	return true;
}

bool wal_snapshot_busy(const struct wal *w)
{
	return w->job != NULL;
}

int wal_snapshot_begin(struct wal *w, struct mvcc *s, const struct wal_leases *l)
{
	struct snap_job *j;
	int rc;

	if (w->pend.len || w->job)
		return -EBUSY;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	if (wal_leases_copy(&j->leases, l)) {
		free(j);
		return -ENOMEM;
	}
	rc = seg_create(w, w->seq + 1, mvcc_rev(s));
	if (rc) {
		wal_leases_free(&j->leases);
		free(j);
		return rc;
	}
	j->seq = w->seq;
	j->rev = mvcc_rev(s);
	j->noted = true;
	snap_path(w, j->seq, j->rev, j->path);
	snprintf(j->tmp, sizeof(j->tmp), "%s.tmp", j->path);
	j->fd = open(j->tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (j->fd < 0) {
		rc = -errno;
		wal_leases_free(&j->leases);
		free(j);
		return rc;
	}
	wal_buf_init(&j->b, NULL);
	wal_snap_start(&j->sw, s, &j->leases, j->seq, w->applied_now);
	w->job = j;
	return 0;
}

/* Moves about budget / TAKE_BYTES places of the store onto the snapshot; true once it is
 * all done (the job is gone). A large store has hundreds of thousands: all at once would
 * stop the loop for a tenth of a second and more. */
#define TAKE_BYTES 64
static bool job_take(struct wal *w, struct mvcc *s, size_t budget)
{
	struct snap_job *j = w->job;
	size_t n = budget / TAKE_BYTES ? budget / TAKE_BYTES : 1;

	j->taken = wal_take_values(s, j->slot, &j->ps, j->taken, n, &j->taken_ok);
	if (j->taken < j->ps.n)
		return false;
	wal_values_taken(w, j->slot, j->seq, j->taken_ok, j->path);
	job_free(w, true);
	return true;
}

/* The snapshot is written: make it durable and known, then let it take over (job_take).
 * Returns 1 while there is something to take, 0 when not, or a negative code. */
static int job_complete(struct wal *w)
{
	struct snap_job *j = w->job;
	long slot;
	int rc = 0;

	if (!j->noted) {
		free(j->ps.v);
		j->ps = (struct places){ NULL, 0, SIZE_MAX };
	}
	if (fdatasync(j->fd) < 0)
		rc = -errno;
	if (!rc && rename(j->tmp, j->path) < 0)
		rc = -errno;
	if (!rc)
		rc = wal_fsync_dir(w->snapdir);	/* else it may or may not survive a crash */
	if (rc)
		return rc;
	prune(w, j->seq, j->path);
	snprintf(w->snap_file, sizeof(w->snap_file), "%s", j->path);
	w->st.snap_size = j->off;
	w->st.snapshots++;
	w->st.snap_rev = j->rev;
	slot = wal_slot_add(w, j->fd, j->seq);	/* takes fd over, or closes it */
	if (slot < 0 || j->ps.cap == SIZE_MAX) {
		log_warnx("kv: %s: keys and values stay read from the older files", j->path);
		job_free(w, true);
		return 0;
	}
	j->taking = true;
	j->slot = (size_t)slot;
	j->taken_ok = true;
	return 1;
}

int wal_snapshot_step(struct wal *w, struct mvcc *s, size_t budget)
{
	struct snap_job *j = w->job;
	uint64_t until;
	int more, rc = 0;

	if (!j)
		return 0;
	if (j->taking)
		return job_take(w, s, budget) ? 0 : 1;
	until = j->off + budget;
	do {
		more = wal_snap_fill(&j->sw, &j->b, SNAP_CHUNK);
		if (more < 0)
			rc = more;
		else
			rc = wal_write_all(j->fd, j->b.p, j->b.len, j->off);
		if (!rc && j->noted)	/* the records only: not the padding after the last */
			j->noted = wal_each_place(j->b.p, j->b.len - (more ? 0 : j->sw.pad),
						  j->off ? 0 : WAL_FILE_HEADER, j->off,
						  wal_note_place, &j->ps);
		j->off += j->b.len;
		j->b.len = 0;
	} while (!rc && more && j->off < until);
	/* written back as it goes, so that the last sync has little left to do */
	if (!rc && more && fdatasync(j->fd) < 0)
		rc = -errno;
	if (!rc && !more)
		rc = job_complete(w);
	if (rc < 0) {
		job_free(w, false);
		return rc;
	}
	return more || rc ? 1 : 0;
}

int wal_snapshot(struct wal *w, struct mvcc *s, const struct wal_leases *l)
{
	int rc = wal_snapshot_begin(w, s, l);

	while (rc == 0 && (rc = wal_snapshot_step(w, s, SIZE_MAX)) == 1)
		rc = 0;
	return rc;
}

int wal_snapshot_open(struct wal *w, uint64_t *size)
{
	struct stat st;
	int fd;

	if (!w->snap_file[0])
		return -ENOENT;
	fd = open(w->snap_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

void wal_set_lazy(struct wal *w, bool lazy)
{
	w->lazy = lazy;
}

int wal_disk_sync(struct wal *w)
{
	if (!w->unsynced || w->fd < 0)
		return 0;
	if (fdatasync(w->fd) < 0)
		return -errno;
	w->unsynced = false;
	w->st.syncs++;
	return 0;
}

uint64_t wal_applied(const struct wal *w)
{
	return w->applied;
}

void wal_set_applied(struct wal *w, uint64_t index)
{
	w->applied_now = index;
}

void wal_get_stats(const struct wal *w, struct wal_stats *out)
{
	*out = w->st;
}

void wal_close(struct wal *w)
{
	if (!w)
		return;
	job_free(w, false);
	if (w->s)
		mvcc_set_reader(w->s, NULL, NULL);
	for (size_t i = 0; i < w->nslot; i++)
		wal_slot_close(w, i);
	if (w->fd >= 0)
		close(w->fd);
	free(w->slot);
	free(w->slot_seq);
	wal_buf_free(&w->pend);
	free(w);
}

/* ---- recovery ------------------------------------------------------------------------------ */


/* The error of a file that cannot be read back, naming it and the offset. */
static int file_err(int rc, const char *path, const uint8_t *p, size_t len, size_t off,
		    const char *why, char *err, size_t errlen)
{
	uint32_t v = len >= 12 ? (uint32_t)p[8] | (uint32_t)p[9] << 8 | (uint32_t)p[10] << 16 |
					 (uint32_t)p[11] << 24 : 0;

	if (rc == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory while reading it back", path);
	else if (rc == WAL_EVERSION && off == 0)
		snprintf(err, errlen, "%s: written by a newer cabind (format version %u; this "
			 "one reads version %d)", path, v, WAL_VERSION);
	else if (rc == WAL_EVERSION)
		snprintf(err, errlen, "%s: record at offset %zu: %s", path, off, why);
	else
		snprintf(err, errlen, "%s: corrupt record at offset %zu: %s", path, off, why);
	return rc;
}

static int make_dir(const char *path, const char *parent)
{
	if (mkdir(path, 0700) == 0)
		return wal_fsync_dir(parent);
	return errno == EEXIST ? 0 : -errno;
}

static int make_dirs(struct wal *w, const char *dir, char *err, size_t errlen)
{
	char member[WAL_PATH];
	int rc;

	if ((size_t)snprintf(member, sizeof(member), "%s/member", dir) >= sizeof(member) ||
	    (size_t)snprintf(w->waldir, sizeof(w->waldir), "%s/wal", member) >= sizeof(w->waldir) - 40 ||
	    (size_t)snprintf(w->snapdir, sizeof(w->snapdir), "%s/snap", member) >= sizeof(w->snapdir) - 40) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -ENAMETOOLONG;
	}
	if ((rc = make_dir(member, dir)) || (rc = make_dir(w->waldir, member)) ||
	    (rc = make_dir(w->snapdir, member)))
		snprintf(err, errlen, "%s: %s", member, strerror(-rc));
	return rc;
}

/* Loads the newest snapshot, if any, into s and l; *next_seq gets the first segment it
 * does not cover (0 without a snapshot). */
static int load_snapshot(struct wal *w, struct mvcc *s, struct wal_leases *l, uint64_t *next_seq,
			 bool *have, char *err, size_t errlen)
{
	char path[WAL_PATH];
	struct wal_replay r;
	struct wal_name *v;
	const uint8_t *p;
	const char *why = "";
	size_t len, off, slot;
	long n = wal_list_dir(w->snapdir, ".snap", &v);
	int rc;

	*next_seq = 0;
	*have = n > 0;
	if (n <= 0) {
		if (n < 0)
			snprintf(err, errlen, "%s: %s", w->snapdir, strerror((int)-n));
		return (int)n;
	}
	snap_path(w, v[n - 1].seq, v[n - 1].rev, path);
	rc = wal_open_slot(w, path, O_RDONLY, v[n - 1].seq, &slot);
	if (!rc)
		rc = wal_map_file(path, &p, &len);
	if (rc) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		free(v);
		return rc;
	}
	mvcc_restore_in_place(s, p, len, wal_loc_of(slot, 0));
	rc = wal_load_snapshot(p, len, s, l, &r, &off, &why);
	mvcc_restore_in_place(s, NULL, 0, 0);
	if (rc)
		file_err(rc, path, p, len, off, why, err, errlen);
	else if (r.next_seq != v[n - 1].seq || r.rev != v[n - 1].rev) {
		snprintf(err, errlen, "%s: the name does not match the contents (segment %llu, "
			 "revision %lld)", path, (unsigned long long)r.next_seq, (long long)r.rev);
		rc = WAL_ECORRUPT;
	}
	wal_unmap_file(p, len);
	if (!rc) {
		snprintf(w->snap_file, sizeof(w->snap_file), "%s", path);
		w->st.snap_size = len;
	}
	*next_seq = r.next_seq;
	w->st.snap_rev = r.rev;
	w->applied = w->applied_now = r.applied;
	for (long i = 0; !rc && i < n - 1; i++) {	/* superseded: a prune cut short */
		snap_path(w, v[i].seq, v[i].rev, path);
		unlink(path);
	}
	free(v);
	return rc;
}

/* Makes the torn tail of the last segment go: cut off at r->end, or the whole file when
 * it never got its SEGMENT record. Leaves that segment open for appending. */
static int cut_tail(struct wal *w, const char *path, const struct wal_name *nm,
		    const struct wal_replay *r, size_t len, const char *why, struct mvcc *s,
		    char *err, size_t errlen)
{
	int rc = 0;

	if (!r->has_seg) {
		log_warnx("kv: %s: %s: the segment holds no record; removed", path, why);
		w->fd = -1;
		wal_slot_close(w, w->cur);	/* no value is read from it */
		if (unlink(path) < 0 && errno != ENOENT)
			rc = -errno;
		if (!rc)
			rc = seg_create(w, nm->seq, mvcc_rev(s));
		if (rc)
			snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	log_warnx("kv: %s: torn record at offset %zu (%zu bytes cut off): %s", path, r->end,
		  len - r->end, why);
	if (ftruncate(w->fd, (off_t)r->end) < 0 || fdatasync(w->fd) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot cut off the torn tail: %s", path, strerror(-rc));
		return rc;
	}
	w->off = r->end;
	w->filled = r->end;
	return 0;
}

/* Replays one segment; the last one stays open for appending. */
static int replay_one(struct wal *w, const struct wal_name *nm, bool last, struct mvcc *s,
		      struct wal_leases *l, char *err, size_t errlen)
{
	char path[WAL_PATH];
	struct wal_replay r;
	const uint8_t *p;
	const char *why = "";
	size_t len, off, slot;
	int rc;

	seg_path(w, nm->seq, nm->rev, path);
	rc = wal_open_slot(w, path, last ? O_RDWR : O_RDONLY, nm->seq, &slot);
	if (!rc)
		rc = wal_map_file(path, &p, &len);
	if (rc) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	/* Raft applies a batch again after a crash cut it short: so it must not be half
	 * here. The last segment ends at its last APPLIED record (at its SEGMENT record if it
	 * has none yet, once any APPLIED record was read); what follows is cut. */
	size_t use = len, lim;
	bool cut = false;
	if (last && (wal_scan_applied(p, len, &lim) || w->applied) && lim && lim < len) {
		for (size_t i = lim; i < len && !cut; i++)
			cut = p[i] != 0;
		if (cut)
			use = lim;
	}
	mvcc_restore_in_place(s, p, len, wal_loc_of(slot, 0));
	rc = wal_replay_segment(p, use, last, s, l, &r, &off, &why);
	mvcc_restore_in_place(s, NULL, 0, 0);
	if (!rc && r.applied)
		w->applied = w->applied_now = r.applied;
	if (!rc && cut && !r.torn) {
		r.torn = true;
		r.end = use;
		why = "writes after the last APPLIED record: a batch cut short";
	}
	if (rc)
		file_err(rc, path, p, len, off, why, err, errlen);
	else if (r.has_seg && (r.seq != nm->seq || r.seg_rev != nm->rev)) {
		snprintf(err, errlen, "%s: the name does not match its SEGMENT record (segment "
			 "%llu, revision %lld)", path, (unsigned long long)r.seq,
			 (long long)r.seg_rev);
		rc = WAL_ECORRUPT;
	}
	wal_unmap_file(p, len);
	if (rc || !last)
		return rc;
	w->seq = nm->seq;
	w->seg_rev = nm->rev;
	w->st.segment = nm->seq;
	w->fd = w->slot[slot];
	w->cur = slot;
	w->off = r.torn ? len : r.end;	/* the records; zeros written ahead may follow */
	w->filled = len;
	if (r.torn)
		return cut_tail(w, path, nm, &r, len, why, s, err, errlen);
	return 0;
}

/* Replays the segments from next_seq on; removes the ones a snapshot covers. */
static int replay_all(struct wal *w, uint64_t next_seq, bool have_snap, struct mvcc *s,
		      struct wal_leases *l, char *err, size_t errlen)
{
	char path[WAL_PATH];
	struct wal_name *v;
	long n = wal_list_dir(w->waldir, ".wal", &v), i = 0;
	int rc = 0;

	if (n < 0) {
		snprintf(err, errlen, "%s: %s", w->waldir, strerror((int)-n));
		return (int)n;
	}
	for (; i < n && v[i].seq < next_seq; i++) {
		seg_path(w, v[i].seq, v[i].rev, path);
		unlink(path);	/* covered by the snapshot: a prune cut short */
	}
	if (i == n && !have_snap) {
		free(v);
		return seg_create(w, 0, mvcc_rev(s));	/* a new member */
	}
	for (long j = i; j < n && !rc; j++) {
		if (v[j].seq != next_seq + (uint64_t)(j - i)) {
			snprintf(err, errlen, "%s: segment %016llx is missing", w->waldir,
				 (unsigned long long)(next_seq + (uint64_t)(j - i)));
			rc = WAL_ECORRUPT;
			break;
		}
		rc = replay_one(w, &v[j], j == n - 1, s, l, err, errlen);
	}
	if (!rc && i == n) {
		snprintf(err, errlen, "%s: segment %016llx, which follows the snapshot, is missing",
			 w->waldir, (unsigned long long)next_seq);
		rc = WAL_ECORRUPT;
	}
	free(v);
	return rc;
}

int wal_open(const char *dir, struct mvcc *s, struct wal_leases *l, struct wal **out,
	     char *err, size_t errlen)
{
	struct wal *w = calloc(1, sizeof(*w));
	uint64_t next_seq;
	bool have_snap;
	int rc;

	*out = NULL;
	if (!w) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	w->fd = -1;
	w->cur = SIZE_MAX;	/* no segment is being written yet */
	w->s = s;
	mvcc_set_reader(s, wal_read, w);
	wal_buf_init(&w->pend, NULL);
	rc = make_dirs(w, dir, err, errlen);
	if (!rc)
		rc = load_snapshot(w, s, l, &next_seq, &have_snap, err, errlen);
	if (!rc)
		rc = replay_all(w, next_seq, have_snap, s, l, err, errlen);
	if (rc && !err[0])
		snprintf(err, errlen, "%s: %s", w->waldir, wal_strerror(rc));
	if (rc) {
		wal_close(w);
		return rc;
	}
	*out = w;
	return 0;
}
