/* A snapshot taken from the leader becomes the store's whole log (see wal.h): the file is
 * checked record by record first, then installed in an order that a crash at any point
 * leaves either the old log or a state from which the installation is done again. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wal.h"
#include "wal_io.h"

#define PATH_MAX_ 600

int wal_snapshot_check(const char *path, struct wal_snap_head *h, char *err, size_t errlen)
{
	const uint8_t *p;
	const char *why = "";
	struct wal_iter it;
	struct wal_rec r;
	size_t len;
	bool end = false;
	int rc = wal_map_file(path, &p, &len), n = 0;

	memset(h, 0, sizeof(*h));
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	rc = wal_iter_init(&it, p, len, WAL_MAGIC_SNAPSHOT, false, &why);
	while (!rc && !end && (rc = wal_next(&it, &r, &why)) == 1) {
		if (n++ == 0 && r.type != WAL_SNAP_META) {
			why = "the first record is not SNAP_META";
			rc = WAL_ECORRUPT;
		} else if (r.type == WAL_SNAP_META) {
			h->rev = r.u.meta.rev;
			h->next_seq = r.u.meta.next_seq;
			rc = 0;
		} else {
			if (r.type == WAL_APPLIED)
				h->applied = r.u.applied;
			end = r.type == WAL_SNAP_END;
			rc = 0;
		}
	}
	for (size_t i = it.off; !rc && end && i < len; i++)	/* then zeros alone */
		if (p[i]) {
			why = "bytes after SNAP_END";
			rc = WAL_ECORRUPT;
		}
	if (!rc && !end) {
		why = "no SNAP_END: the snapshot is not whole";
		rc = WAL_ECORRUPT;
	}
	if (rc)
		snprintf(err, errlen, "%s: bad snapshot at offset %zu: %s", path, it.off, why);
	wal_unmap_file(p, len);
	return rc;
}

/* Removes the files of dir ending in suffix, but for keep. */
static int clear_dir(const char *dir, const char *suffix, const char *keep)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX_];
	size_t sl = strlen(suffix);

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < sl || strcmp(e->d_name + l - sl, suffix) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (keep && strcmp(path, keep) == 0)
			continue;
		if (unlink(path) < 0 && errno != ENOENT) {
			int rc = -errno;
			closedir(d);
			return rc;
		}
	}
	closedir(d);
	return wal_fsync_dir(dir);
}

/* An empty segment seq following revision rev, written whole and synced. */
static int empty_segment(const char *path, uint64_t seq, int64_t rev)
{
	char tmp[PATH_MAX_ + 8];
	struct wal_buf b;
	int fd, rc = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	wal_buf_init(&b, NULL);
	if (wal_put_header(&b, WAL_MAGIC_SEGMENT) || wal_put_segment(&b, seq, rev))
		rc = -ENOMEM;
	else if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		rc = -errno;
	else {
		if (!(rc = wal_write_all(fd, b.p, b.len, 0)) && fdatasync(fd) < 0)
			rc = -errno;
		close(fd);
		if (!rc && rename(tmp, path) < 0)
			rc = -errno;
		if (rc)
			unlink(tmp);
	}
	wal_buf_free(&b);
	return rc;
}

int wal_install_snapshot(const char *dir, const char *path, const struct wal_snap_head *h,
			 char *err, size_t errlen)
{
	char member[PATH_MAX_], waldir[PATH_MAX_], snapdir[PATH_MAX_], seg[PATH_MAX_ + 40],
		snap[PATH_MAX_ + 40];
	int rc;

	if ((size_t)snprintf(member, sizeof(member), "%s/member", dir) >= sizeof(member) ||
	    (size_t)snprintf(waldir, sizeof(waldir), "%s/member/wal", dir) >= sizeof(waldir) ||
	    (size_t)snprintf(snapdir, sizeof(snapdir), "%s/member/snap", dir) >= sizeof(snapdir)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -ENAMETOOLONG;
	}
	snprintf(seg, sizeof(seg), "%s/%016llx-%016llx.wal", waldir,
		 (unsigned long long)h->next_seq, (unsigned long long)h->rev);
	snprintf(snap, sizeof(snap), "%s/%016llx-%016llx.snap", snapdir,
		 (unsigned long long)h->next_seq, (unsigned long long)h->rev);
	/* the old log goes first, the new segment comes, and the rename of the snapshot
	 * into place is the last step: until then path is there to start again from */
	if ((rc = clear_dir(waldir, ".wal", NULL)) < 0 ||
	    (rc = clear_dir(snapdir, ".snap", NULL)) < 0) {
		snprintf(err, errlen, "removing the old log in %s/member: %s", dir, strerror(-rc));
		return rc;
	}
	if ((rc = empty_segment(seg, h->next_seq, h->rev)) < 0 ||
	    (rc = wal_fsync_dir(waldir)) < 0) {
		snprintf(err, errlen, "%s: %s", seg, strerror(-rc));
		return rc;
	}
	if (rename(path, snap) < 0 || (rc = wal_fsync_dir(snapdir)) < 0 ||
	    (rc = wal_fsync_dir(member)) < 0) {
		rc = rc ? rc : -errno;
		snprintf(err, errlen, "%s -> %s: %s", path, snap, strerror(-rc));
		return rc;
	}
	return 0;
}
