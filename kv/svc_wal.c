/* The etcd services' persistence: the write-ahead log behind the store, group commit, and
 * the NOSPACE alarm it raises when the disk fails (kv/svc_alarm.c keeps the alarms).
 *
 * Group commit: a reply made while the store holds anything the log has not made durable
 * is encoded and held with its call (svc_reply -> svc_wal_hold). The loop's before-sleep
 * hook, once per turn, pulls the revisions committed since into REV records (mvcc_history,
 * so the store's single observer stays the Watch service's), writes them with the lease and
 * compaction records, fdatasyncs once, and then releases every held reply. Reads wait too
 * when they come while something is unsynced: no client sees a state a crash could take
 * back. Watch events are the Watch service's and are not held.
 *
 * A failed write or fsync (ENOSPC, EIO...): the held calls fail (Unavailable: their writes
 * stay in memory and may still become durable), the NOSPACE alarm is raised so Put, Txn
 * with puts and LeaseGrant are refused as etcd refuses them, reads go on, and the pending
 * records are written again every second from the last good offset until it works. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/log.h"
#include "svc_wal_int.h"
#include "wal.h"

#define RETRY_MS 1000
#define QUOTA_DEFAULT ((int64_t)2 << 30)	/* etcd's, for --quota-backend-bytes 0 */
#define SNAP_RETRY_MS 10000
#define SNAP_STEP_BYTES ((size_t)4 << 20)	/* of a snapshot, per loop turn */

/* ---- held replies ---------------------------------------------------------------------- */

static void held_unlink(struct svc_held *h)
{
	h->prev->next = h->next;
	h->next->prev = h->prev;
}

/* The call went away while its reply was held: forget it, never touch it again. */
static void held_gone(struct grpc_call *call, void *arg)
{
	struct svc_held *h = arg;
	(void)call;
	held_unlink(h);
	free(h);
}

static void release_one(struct svc_held *h, int rc)
{
	if (rc == 0) {
		if (grpc_send(h->call, h->len ? h->msg : (const uint8_t *)"", h->len) < 0)
			grpc_finish(h->call, GRPC_RESOURCE_EXHAUSTED, "out of memory");
		else
			grpc_finish(h->call, GRPC_OK, NULL);
	} else if (rc == -ENOMEM) {
		grpc_finish(h->call, GRPC_RESOURCE_EXHAUSTED, "etcdserver: out of memory");
	} else {
		char why[200];
		snprintf(why, sizeof(why), "etcdserver: the write could not be made durable (%s);"
			 " it may still be applied", wal_strerror(rc));
		grpc_finish(h->call, GRPC_UNAVAILABLE, why);
	}
	free(h);
}

/* Answers every held call: their replies (rc 0) or rc's error. A call may go away while
 * another is answered, so the list is taken whole first and each entry unlinked before
 * its call is touched. */
static void release(struct svc_wal *sw, int rc)
{
	struct svc_held batch;

	if (sw->held.next == &sw->held)
		return;
	batch.next = sw->held.next;
	batch.prev = sw->held.prev;
	batch.next->prev = &batch;
	batch.prev->next = &batch;
	sw->held.next = sw->held.prev = &sw->held;
	while (batch.next != &batch) {
		struct svc_held *h = batch.next;
		held_unlink(h);
		release_one(h, rc);
	}
}

/* ---- the log --------------------------------------------------------------------------- */

static bool dirty(const struct svc_wal *sw)
{
	const struct mvcc *s = sw->svc->store;
	return mvcc_rev(s) > sw->tried_rev || wal_pending(sw->w)->len > sw->tried_len ||
	       sw->applied > sw->logged_applied ||
	       mvcc_compacted(s) != sw->logged_compacted || (sw->need_snap && !sw->err);
}

/* Brings the pending records up to the store: a compaction nobody logged, then the
 * revisions committed since the last pull. What cannot be logged any more is left to a
 * snapshot. Returns 0 or -ENOMEM. */
static int catch_up(struct svc_wal *sw)
{
	struct mvcc *s = sw->svc->store;
	struct wal_buf *b = wal_pending(sw->w);
	int64_t c = mvcc_compacted(s), before = sw->logged;
	size_t from;
	int rc;

	if (sw->need_snap)
		return 0;
	if (c != sw->logged_compacted) {
		/* a compaction not made through svc_wal_compact: fine if it dropped nothing
		 * the log still needed */
		if (c > sw->logged) {
			log_warnx("kv: revisions up to %" PRId64 " were compacted before they were "
				  "logged; a snapshot will cover them", c);
			sw->need_snap = true;
			sw->logged_compacted = c;
			return 0;
		}
		if (wal_put_compact(b, c))
			return -ENOMEM;
		sw->logged_compacted = c;
		sw->since_snap++;
	}
	from = b->len;
	rc = wal_pull(s, &sw->logged, b);
	wal_settle(sw->w, s, from);	/* whole records, even after an error */
	sw->since_snap += (uint64_t)(sw->logged - before);
	if (rc == WAL_EGAP) {
		log_warnx("kv: revision %" PRId64 " cannot be logged; a snapshot will cover it",
			  sw->logged + 1);
		sw->need_snap = true;
		return 0;
	}
	return rc;
}

/* The lease table again from the lease service, after a change could not be noted. */
static int rebuild_leases(struct svc_wal *sw)
{
	size_t n = lease_count(sw->svc->leases);
	struct lease_info *v = n ? calloc(n, sizeof(*v)) : NULL;
	struct wal_leases l;
	int rc = 0;

	if (n && !v)
		return -ENOMEM;
	n = lease_list(sw->svc->leases, ev_now_ms(), v);
	wal_leases_init(&l, NULL);
	for (size_t i = 0; i < n && !rc; i++)
		rc = wal_leases_put(&l, v[i].id, v[i].ttl);
	free(v);
	if (rc) {
		wal_leases_free(&l);
		return rc;
	}
	wal_leases_free(&sw->leases);
	sw->leases = l;
	sw->leases_stale = false;
	return 0;
}

/* The log is covered by a snapshot of the store as it is now (written, or begun). */
static void snapped(struct svc_wal *sw)
{
	struct mvcc *s = sw->svc->store;
	struct wal_stats st;

	sw->need_snap = false;
	wal_get_stats(sw->w, &st);
	sw->bytes_at_snap = st.bytes;
	sw->logged = mvcc_rev(s);
	sw->logged_compacted = mvcc_compacted(s);
	sw->since_snap = 0;
}

/* A snapshot under way is dropped: the next chance takes a new one. (One already written
 * is finished instead: nothing to take again.) */
static void snap_dropped(struct svc_wal *sw)
{
	if (!wal_snapshot_drop(sw->w))
		return;
	sw->since_snap = sw->snapshot_count;
	sw->bytes_at_snap = 0;
}

/* A whole snapshot now (one under way covers less: it is dropped). */
static int snapshot(struct svc_wal *sw)
{
	struct mvcc *s = sw->svc->store;
	int rc = sw->leases_stale ? rebuild_leases(sw) : 0;

	wal_snapshot_drop(sw->w);
	if (!rc)
		rc = wal_snapshot(sw->w, s, &sw->leases);
	if (rc)
		return rc;
	snapped(sw);
	log_debug("kv: snapshot at revision %" PRId64, mvcc_rev(s));
	return 0;
}

static void retry(struct ev_loop *loop, void *arg);

static void failed(struct svc_wal *sw, int rc)
{
	if (!sw->err)
		log_warnx("kv: %s: cannot write the log: %s; the writes waiting for it fail, "
			  "NOSPACE alarm raised, retrying every second", sw->svc->name,
			  wal_strerror(rc));
	sw->err = rc;
	if (rc != -ENOMEM)
		svcw_raise_nospace(sw);
	release(sw, rc);
	if (sw->loop && !sw->retry_timer) {
		long id = ev_timer(sw->loop, RETRY_MS, retry, sw);
		sw->retry_timer = id > 0 ? id : 0;
	}
}

/* A snapshot every --snapshot-count records, but not before the log written since the last
 * one is as large as it: a snapshot rewrites the whole store and blocks the loop while it
 * does, so a large store is rewritten at most once per as many bytes of log. */
static void snap_failed(struct svc_wal *sw, int rc)
{
	log_warnx("kv: snapshot failed: %s; retrying in %d s", wal_strerror(rc),
		  SNAP_RETRY_MS / 1000);
	sw->snap_after_ms = ev_now_ms() + SNAP_RETRY_MS;
}

static void snap_tick(struct ev_loop *loop, void *arg)
{
	struct svc_wal *sw = arg;
	(void)loop;
	sw->snap_timer = 0;	/* the loop has turned: before_sleep writes the next piece */
}

/* The next piece of the snapshot under way, and a loop turn soon for the one after. */
static void snap_continue(struct svc_wal *sw)
{
	struct mvcc *s = sw->svc->store;
	int rc = wal_snapshot_step(sw->w, s, SNAP_STEP_BYTES);

	if (rc == 1) {
		if (!sw->snap_timer) {
			long id = ev_timer(sw->loop, 1, snap_tick, sw);
			sw->snap_timer = id > 0 ? id : 0;
		}
		return;
	}
	if (rc < 0) {
		snap_failed(sw, rc);
		sw->since_snap = sw->snapshot_count;
		sw->bytes_at_snap = 0;
		return;
	}
	log_debug("kv: snapshot written, up to revision %" PRId64 " (%" PRId64 " now)",
		  sw->snap_rev, mvcc_rev(s));
}

/* Once the log holds --snapshot-count records and as many bytes as the last snapshot, a
 * snapshot is begun and written a piece (SNAP_STEP_BYTES) per loop turn, so that a large
 * store does not stop the loop while it is rewritten. */
static void maybe_snapshot(struct svc_wal *sw)
{
	struct wal_stats st;
	int rc;

	if (wal_snapshot_busy(sw->w)) {
		snap_continue(sw);
		return;
	}
	if (sw->since_snap < sw->snapshot_count)
		return;
	wal_get_stats(sw->w, &st);
	if (st.bytes - sw->bytes_at_snap < st.snap_size || ev_now_ms() < sw->snap_after_ms)
		return;
	if (!sw->loop) {	/* nothing turns: all at once */
		if ((rc = snapshot(sw)))
			snap_failed(sw, rc);
		return;
	}
	rc = sw->leases_stale ? rebuild_leases(sw) : 0;
	if (!rc)
		rc = wal_snapshot_begin(sw->w, sw->svc->store, &sw->leases);
	if (rc) {
		snap_failed(sw, rc);
		return;
	}
	snapped(sw);
	sw->snap_rev = mvcc_rev(sw->svc->store);
	snap_continue(sw);
}

/* One group commit: everything up to now written and synced, then the held replies. */
static void flush(struct svc_wal *sw)
{
	struct mvcc *s = sw->svc->store;
	int rc = catch_up(sw);
	uint64_t applied = sw->applied;

	/* after the records of the entries it closes: see WAL_APPLIED */
	if (!rc && applied > sw->logged_applied) {
		if (wal_put_applied(wal_pending(sw->w), applied))
			rc = -ENOMEM;
		else
			sw->logged_applied = applied;
	}
	wal_set_applied(sw->w, sw->logged_applied);
	if (!rc)
		rc = wal_sync(sw->w, sw->logged);
	if (!rc && sw->lazy)
		sw->written_applied = sw->logged_applied;
	else if (!rc)
		sw->durable_applied = sw->logged_applied;
	if (!rc && sw->need_snap)
		rc = snapshot(sw);
	sw->tried_rev = mvcc_rev(s);
	sw->tried_len = wal_pending(sw->w)->len;
	if (rc) {
		failed(sw, rc);
		return;
	}
	if (sw->err)
		log_warnx("kv: %s: the log is written again", sw->svc->name);
	sw->err = 0;
	release(sw, 0);
	maybe_snapshot(sw);
}

static void retry(struct ev_loop *loop, void *arg)
{
	struct svc_wal *sw = arg;
	(void)loop;
	sw->retry_timer = 0;
	if (sw->err)
		flush(sw);
}

static void before_sleep(struct ev_loop *loop, void *arg)
{
	struct svc_wal *sw = arg;
	(void)loop;
	svc_raft_process(sw->svc, sw->durable_applied);	/* entries to the store first */
	if (dirty(sw) || sw->held.next != &sw->held)
		flush(sw);
	else if (wal_snapshot_busy(sw->w) && !sw->err)
		maybe_snapshot(sw);
}

/* ---- the service's side ------------------------------------------------------------------ */

#define DISK_SYNC_MS 1000

/* Lazy: what was written is made durable now and then, and the Raft log may then drop the
 * entries it covers. */
static void disk_tick(struct ev_loop *loop, void *arg)
{
	struct svc_wal *sw = arg;
	uint64_t upto = sw->written_applied;
	long id = ev_timer(loop, DISK_SYNC_MS, disk_tick, sw);
	int rc;

	sw->disk_timer = id > 0 ? id : 0;
	if ((rc = wal_disk_sync(sw->w)) < 0) {
		log_warnx("kv: %s: cannot sync the store's log: %s (the Raft log keeps what it "
			  "holds; retrying)", sw->svc->name, strerror(-rc));
		return;
	}
	if (upto > sw->durable_applied)
		sw->durable_applied = upto;
}

void svc_wal_set_lazy(struct kv_service *svc)
{
	struct svc_wal *sw = svc->wal;

	if (!sw || sw->lazy)
		return;
	sw->lazy = true;
	wal_set_lazy(sw->w, true);
	if (sw->loop) {
		long id = ev_timer(sw->loop, DISK_SYNC_MS, disk_tick, sw);
		sw->disk_timer = id > 0 ? id : 0;
	}
}

void svc_wal_set_applied(struct kv_service *svc, uint64_t index)
{
	if (svc->wal && index > svc->wal->applied)
		svc->wal->applied = index;
}

uint64_t svc_wal_applied(const struct kv_service *svc)
{
	return svc->wal ? svc->wal->applied : 0;
}

uint64_t svc_wal_durable(const struct kv_service *svc)
{
	return svc->wal ? svc->wal->durable_applied : 0;
}

bool svc_wal_counters(const struct kv_service *svc, uint64_t *syncs, uint64_t *bytes,
		      uint64_t *snapshots)
{
	struct wal_stats st;

	if (!svc->wal)
		return false;
	wal_get_stats(svc->wal->w, &st);
	*syncs = st.syncs;
	*bytes = st.bytes;
	*snapshots = st.snapshots;
	return true;
}

int svc_wal_hold(struct grpc_call *call, const uint8_t *msg, size_t len)
{
	struct kv_service *svc = grpc_call_ctx(call);
	struct svc_wal *sw = svc ? svc->wal : NULL;
	struct svc_held *h;

	if (!sw || !dirty(sw))
		return 0;
	h = malloc(sizeof(*h) + len);
	if (!h) {
		grpc_finish(call, GRPC_RESOURCE_EXHAUSTED, "etcdserver: out of memory");
		return 1;
	}
	h->call = call;
	h->len = len;
	if (len)
		memcpy(h->msg, msg, len);
	h->prev = sw->held.prev;
	h->next = &sw->held;
	h->prev->next = h;
	sw->held.prev = h;
	grpc_call_defer(call, held_gone, h);
	if (!sw->loop)
		flush(sw);	/* no loop to wait for: commit now */
	return 1;
}

int svc_wal_defrag(struct kv_service *svc, char *err, size_t errlen)
{
	uint64_t size;
	int fd;

	if (!svc->wal)
		return 0;
	fd = svc_wal_snapshot_file(svc, false, &size, err, errlen);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int svc_wal_snapshot_file(struct kv_service *svc, bool fresh, uint64_t *size, char *err,
			  size_t errlen)
{
	struct svc_wal *sw = svc->wal;
	struct wal_stats st;
	int rc;

	if (!sw) {
		snprintf(err, errlen, "etcdserver: this member keeps no data directory");
		return -ENOENT;
	}
	flush(sw);	/* the log up to now: what the snapshot covers must be in it */
	if (sw->err) {
		snprintf(err, errlen, "etcdserver: the log cannot be written (%s)",
			 wal_strerror(sw->err));
		return sw->err == -ENOMEM ? -ENOMEM : -EIO;
	}
	wal_get_stats(sw->w, &st);
	rc = 0;
	if (fresh || sw->since_snap || sw->need_snap || st.snap_rev != mvcc_rev(svc->store) ||
	    (rc = wal_snapshot_open(sw->w, size)) < 0) {
		rc = snapshot(sw);
		if (!rc)
			rc = wal_snapshot_open(sw->w, size);
	}
	if (rc < 0)
		snprintf(err, errlen, "etcdserver: cannot take a snapshot: %s", wal_strerror(rc));
	return rc;
}

int svc_wal_compact(struct kv_service *svc, int64_t rev)
{
	struct svc_wal *sw = svc->wal;
	int rc;

	if (!sw)
		return mvcc_compact(svc->store, rev);
	rc = catch_up(sw);	/* what the compaction drops must be in the log first */
	if (rc)
		return rc;
	if (wal_snapshot_busy(sw->w))
		snap_dropped(sw);	/* it is writing revisions the compaction drops */
	rc = mvcc_compact(svc->store, rev);
	if (rc || sw->need_snap)
		return rc;
	if (wal_put_compact(wal_pending(sw->w), rev)) {
		sw->need_snap = true;	/* compacted all the same: a snapshot will say so */
		return 0;
	}
	sw->logged_compacted = rev;
	sw->since_snap++;
	return 0;
}

/* svc_lease_hook_fn: a grant (ttl > 0) or a revoke (ttl 0) has taken effect. */
static void lease_hook(void *ctx, int64_t id, int64_t ttl)
{
	struct svc_wal *sw = ctx;
	struct wal_buf *b = wal_pending(sw->w);
	int rc = catch_up(sw);	/* a revoke's deletions come before it */

	if (!rc && !sw->need_snap)
		rc = ttl > 0 ? wal_put_lease_grant(b, id, ttl) : wal_put_lease_revoke(b, id);
	if (ttl <= 0)
		wal_leases_del(&sw->leases, id);
	else if (wal_leases_put(&sw->leases, id, ttl))
		sw->leases_stale = true;
	if (rc || sw->leases_stale)
		sw->need_snap = true;	/* a snapshot writes the leases as they are */
	sw->since_snap++;
}

/* ---- life cycle ------------------------------------------------------------------------- */

/* After the replay: the leases back in the lease service, their keys attached. */
static int restore_leases(struct kv_service *svc, char *err, size_t errlen)
{
	const struct wal_leases *l = &svc->wal->leases;
	long orphans;

	for (size_t i = 0; i < l->cap; i++) {
		const struct wal_lease *ls = wal_leases_slot(l, i);
		int rc = ls ? svc_lease_restore(svc, ls->id, ls->ttl) : 0;
		if (rc < 0) {
			snprintf(err, errlen, "restoring lease %016llx: %s",
				 (unsigned long long)ls->id, lease_strerror(rc));
			return rc;
		}
	}
	orphans = svc_lease_reattach(svc);
	if (orphans < 0) {
		snprintf(err, errlen, "reattaching keys to their leases: out of memory");
		return (int)orphans;
	}
	if (orphans)
		log_warnx("kv: %ld keys carry a lease that does not exist", orphans);
	return 0;
}

int svc_wal_open(struct kv_service *svc, const struct kv_opts *o, const char *dir, char *err,
		 size_t errlen)
{
	struct svc_wal *sw = calloc(1, sizeof(*sw));
	struct wal_stats st;
	int rc;

	if (!sw) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	sw->svc = svc;
	sw->held.next = sw->held.prev = &sw->held;
	sw->snapshot_count = o->snapshot_count ? o->snapshot_count : 100000;
	sw->quota = o->quota_backend_bytes > 0 ? o->quota_backend_bytes : QUOTA_DEFAULT;
	wal_leases_init(&sw->leases, NULL);
	err[0] = 0;
	svc->wal = sw;
	rc = wal_open(dir, svc->store, &sw->leases, &sw->w, err, errlen);
	if (!rc)
		rc = restore_leases(svc, err, errlen);
	if (!rc && (size_t)snprintf(sw->alarm_path, sizeof(sw->alarm_path), "%s/member/alarms",
				    dir) >= sizeof(sw->alarm_path)) {
		snprintf(err, errlen, "%s: the path is too long", dir);
		rc = -ENAMETOOLONG;
	}
	if (!rc)
		rc = svcw_alarms_load(sw, err, errlen);
	if (rc) {
		svc_wal_close(svc);
		return rc;
	}
	sw->logged = sw->tried_rev = mvcc_rev(svc->store);
	sw->logged_compacted = mvcc_compacted(svc->store);
	sw->applied = sw->logged_applied = sw->durable_applied = wal_applied(sw->w);
	svc->lease_hook = lease_hook;
	svc->lease_hook_ctx = sw;
	wal_get_stats(sw->w, &st);
	log_info("kv: %s/member: revision %" PRId64 ", compacted %" PRId64 ", %zu leases, "
		 "Raft entry %" PRIu64 " (snapshot at %" PRId64 ", segment %" PRIu64 ")", dir,
		 mvcc_rev(svc->store), mvcc_compacted(svc->store), sw->leases.n, sw->applied,
		 st.snap_rev, st.segment);
	return 0;
}

void kv_service_attach_wal(struct kv_service *svc, struct ev_loop *loop)
{
	if (!svc->wal)
		return;
	svc->wal->loop = loop;
	ev_before_sleep(loop, before_sleep, svc->wal);
}

void svc_wal_close(struct kv_service *svc)
{
	struct svc_wal *sw = svc->wal;

	if (!sw)
		return;
	if (sw->loop) {
		ev_before_sleep(sw->loop, NULL, NULL);
		if (sw->retry_timer)
			ev_cancel(sw->loop, sw->retry_timer);
		if (sw->disk_timer)
			ev_cancel(sw->loop, sw->disk_timer);
		if (sw->snap_timer)
			ev_cancel(sw->loop, sw->snap_timer);
	}
	if (sw->w && !catch_up(sw))
		wal_sync(sw->w, sw->logged);	/* nothing waits for it, but nothing is lost */
	if (sw->w)
		wal_disk_sync(sw->w);
	while (sw->held.next != &sw->held) {	/* their calls are gone by now */
		struct svc_held *h = sw->held.next;
		held_unlink(h);
		free(h);
	}
	if (svc->lease_hook == lease_hook)
		svc->lease_hook = NULL;
	wal_close(sw->w);
	wal_leases_free(&sw->leases);
	free(sw);
	svc->wal = NULL;
}
