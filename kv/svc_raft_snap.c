/* Snapshots between members. A leader whose log no longer covers what a member needs
 * (Raft's MsgSnap) sends it the state instead: the member list (DATA_DIR/member/members)
 * and a fresh snapshot of the store, as kv/peer_codec.h's SNAP pieces, then the MsgSnap,
 * which says the Raft index, term and members the state is at: the store's snapshot is
 * taken first and the Raft snapshot recorded at the index it holds.
 *
 * The member receiving it writes the pieces under DATA_DIR/member (incoming-members,
 * incoming-store, each ".tmp" until whole and synced) and checks every record of the
 * store's part; only then does Raft see the MsgSnap. If Raft takes it, the member writes
 * the snapshot into its Raft log and restarts from disk (kv/server.c), and svc_snap_boot
 * installs the staged files before the store opens: the log's snapshot record is the
 * point of no return, so a crash before it keeps the old state, and after it the install
 * is done (again) at the next start. If Raft does not take it, the staged files go. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/log.h"
#include "peer_codec.h"
#include "rlog.h"
#include "svc_raft_int.h"
#include "wal.h"
#include "wal_io.h"

#define PUMP_MS 5

static const char *const part_name[2] = { "incoming-members", "incoming-store" };

/* A snapshot being sent to one member. */
struct snap_out {
	struct snap_out *next;
	uint64_t to;
	struct raft_msg msg;		/* the MsgSnap, sent last */
	int fd;				/* the store's snapshot file */
	uint64_t size, sent;
	char *members;			/* the member list file's bytes */
	size_t n_members;
	bool members_sent;
	uint8_t piece[PEER_SNAP_PIECE];
};

/* One being received. */
struct snap_in {
	uint64_t from;
	int fd[2];
	uint64_t total[2], got[2];
	bool started[2];
	bool staged, taken;
	uint64_t index;
};

static void part_path(const char *dir, int part, bool tmp, char *out, size_t len)
{
	snprintf(out, len, "%s/member/%s%s", dir, part_name[part], tmp ? ".tmp" : "");
}

/* ---- sending ---------------------------------------------------------------------------- */

static void out_free(struct snap_out *o)
{
	if (o->fd >= 0)
		close(o->fd);
	free(o->members);
	free(o);
}

static void out_end(struct svc_raft *sr, struct snap_out *o, bool ok)
{
	for (struct snap_out **pp = &sr->outs; *pp; pp = &(*pp)->next)
		if (*pp == o) {
			*pp = o->next;
			break;
		}
	if (sr->node)
		node_report_snapshot(sr->node, o->to, ok);
	out_free(o);
}

/* The whole of a small file (the member list). */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *p = NULL;
	size_t cap = 0, n = 0, r;

	if (!f)
		return NULL;
	do {
		if (n == cap) {
			char *q = realloc(p, cap = cap ? cap * 2 : 4096);
			if (!q) {
				free(p);
				fclose(f);
				return NULL;
			}
			p = q;
		}
		r = fread(p + n, 1, cap - n, f);
		n += r;
	} while (r > 0);
	fclose(f);
	*len = n;
	return p;
}

/* The Raft index a snapshot file (fd) holds the store at: its APPLIED record. */
static int snap_applied(int fd, uint64_t size, uint64_t *applied)
{
	uint8_t head[256];
	struct wal_iter it;
	struct wal_rec r;
	const char *why;
	ssize_t n = pread(fd, head, size < sizeof(head) ? (size_t)size : sizeof(head), 0);

	*applied = 0;
	if (n <= 0 || wal_iter_init(&it, head, (size_t)n, WAL_MAGIC_SNAPSHOT, true, &why))
		return -EIO;
	for (int k = 0; k < 2 && wal_next(&it, &r, &why) == 1; k++)
		if (r.type == WAL_APPLIED)
			*applied = r.u.applied;
	return *applied ? 0 : -ENOENT;
}

/* Starts a snapshot to member `to`: the store's, fresh, and Raft's at the same index. */
static int out_start(struct svc_raft *sr, uint64_t to)
{
	struct kv_service *svc = sr->svc;
	struct snap_out *o = calloc(1, sizeof(*o));
	struct raft_snap_meta meta;
	uint64_t applied = 0;
	char err[300];
	int rc;

	if (!o)
		return -ENOMEM;
	o->to = to;
	o->fd = svc_wal_snapshot_file(svc, true, &o->size, err, sizeof(err));
	if (o->fd < 0) {
		log_warnx("kv: raft: no snapshot for member %016" PRIx64 ": %s", to, err);
		rc = o->fd;
		goto fail;
	}
	if ((rc = snap_applied(o->fd, o->size, &applied)) < 0 ||
	    (rc = node_snapshot(sr->node, applied, &meta)) < 0) {
		log_warnx("kv: raft: no snapshot for member %016" PRIx64 " at entry %" PRIu64
			  ": %s", to, applied, strerror(-rc));
		goto fail;
	}
	if (!(o->members = slurp(svc->members.path, &o->n_members))) {
		rc = -errno;
		log_warn("kv: raft: %s", svc->members.path);
		goto fail;
	}
	o->msg = (struct raft_msg){ .type = RAFT_MSG_SNAP, .from = svc->member_id, .to = to,
				    .term = node_term(sr->node), .snap = meta };
	o->next = sr->outs;
	sr->outs = o;
	log_info("kv: raft: sending a snapshot at entry %" PRIu64 " (revision %" PRId64 ", %"
		 PRIu64 " bytes) to member %016" PRIx64, meta.index, mvcc_rev(svc->store),
		 o->size, to);
	return 0;
fail:
	out_free(o);
	return rc;
}

/* Queues what the connection takes; ends the sending once the MsgSnap is queued. */
static void out_pump(struct svc_raft *sr, struct snap_out *o)
{
	struct peer_snap ps = { .part = PEER_SNAP_MEMBERS, .total = o->n_members,
				.data = (const uint8_t *)o->members, .len = o->n_members };
	int rc = 0;

	if (!o->members_sent) {
		if ((rc = peer_net_send_snap(sr->net, o->to, &ps)) == 0)
			o->members_sent = true;
	}
	while (!rc && o->sent < o->size) {
		size_t want = o->size - o->sent < PEER_SNAP_PIECE ? (size_t)(o->size - o->sent)
								  : PEER_SNAP_PIECE;
		ssize_t n = pread(o->fd, o->piece, want, (off_t)o->sent);
		if (n <= 0) {
			log_warnx("kv: raft: the snapshot for member %016" PRIx64 " cannot be read",
				  o->to);
			out_end(sr, o, false);
			return;
		}
		ps = (struct peer_snap){ .part = PEER_SNAP_STORE, .total = o->size, .off = o->sent,
					 .data = o->piece, .len = (size_t)n };
		if ((rc = peer_net_send_snap(sr->net, o->to, &ps)) == 0)
			o->sent += (uint64_t)n;
	}
	if (rc == -ENOBUFS)
		return;	/* the connection is busy: the next pump goes on */
	if (!rc)
		rc = peer_net_send(sr->net, &o->msg);
	if (rc == -ENOBUFS)
		return;
	out_end(sr, o, rc == 0);
}

static void pump(struct ev_loop *loop, void *arg)
{
	struct svc_raft *sr = arg;
	(void)loop;

	sr->snap_timer = 0;
	for (unsigned i = 0; i < sr->n_want; i++) {
		bool busy = false;
		for (struct snap_out *o = sr->outs; o; o = o->next)
			busy = busy || o->to == sr->snap_want[i];
		if (!busy && out_start(sr, sr->snap_want[i]) < 0)
			node_report_snapshot(sr->node, sr->snap_want[i], false);
	}
	sr->n_want = 0;
	for (struct snap_out *o = sr->outs, *next; o; o = next) {
		next = o->next;
		out_pump(sr, o);
	}
	if (sr->outs) {
		long id = ev_timer(sr->loop, PUMP_MS, pump, sr);
		sr->snap_timer = id > 0 ? id : 0;
	}
}

void svcr_snap_want(struct svc_raft *sr, uint64_t id)
{
	for (unsigned i = 0; i < sr->n_want; i++)
		if (sr->snap_want[i] == id)
			return;
	if (sr->n_want < RAFT_MAX_MEMBERS && sr->net)
		sr->snap_want[sr->n_want++] = id;
	else
		node_report_snapshot(sr->node, id, false);
}

void svcr_snap_down(struct svc_raft *sr, uint64_t id)
{
	for (struct snap_out *o = sr->outs; o; o = o->next)
		if (o->to == id) {
			log_info("kv: raft: the snapshot to member %016" PRIx64 " was cut off", id);
			out_end(sr, o, false);
			return;
		}
}

/* ---- receiving -------------------------------------------------------------------------- */

static void in_drop(struct svc_raft *sr, const char *why)
{
	struct snap_in *in = sr->in;
	char path[600];

	if (!in)
		return;
	if (why)
		log_warnx("kv: raft: the snapshot from %016" PRIx64 " is dropped: %s", in->from, why);
	for (int p = 0; p < 2; p++) {
		if (in->fd[p] >= 0)
			close(in->fd[p]);
		part_path(sr->dir, p, true, path, sizeof(path));
		unlink(path);
		if (in->staged) {
			part_path(sr->dir, p, false, path, sizeof(path));
			unlink(path);
		}
	}
	free(in);
	sr->in = NULL;
}

static int in_begin(struct svc_raft *sr, uint64_t from)
{
	struct snap_in *in = calloc(1, sizeof(*in));
	char path[600];

	in_drop(sr, NULL);
	if (!in)
		return -ENOMEM;
	in->from = from;
	in->fd[0] = in->fd[1] = -1;
	sr->in = in;
	for (int p = 0; p < 2; p++) {
		part_path(sr->dir, p, true, path, sizeof(path));
		in->fd[p] = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (in->fd[p] < 0) {
			int rc = -errno;
			log_warn("kv: raft: %s", path);
			in_drop(sr, NULL);
			return rc;
		}
	}
	return 0;
}

void svcr_snap_piece(void *ctx, uint64_t from, const struct peer_snap *s)
{
	struct svc_raft *sr = ctx;
	struct snap_in *in;

	if (!sr->dir[0] || sr->restarting)
		return;
	/* a stream starts with the member list's first piece; anything else continues
	 * one from the same member, piece after piece */
	if (s->part == PEER_SNAP_MEMBERS && s->off == 0) {
		if (in_begin(sr, from) < 0)
			return;
	} else if (!sr->in || sr->in->from != from || sr->in->staged) {
		return;
	}
	in = sr->in;
	if (!in->started[s->part]) {
		if (s->off != 0 || (s->part == PEER_SNAP_STORE && !in->started[0])) {
			in_drop(sr, "a piece out of order");
			return;
		}
		in->started[s->part] = true;
		in->total[s->part] = s->total;
	}
	if (s->off != in->got[s->part] || s->total != in->total[s->part]) {
		in_drop(sr, "a piece out of order");
		return;
	}
	int rc = s->len ? wal_write_all(in->fd[s->part], s->data, s->len, s->off) : 0;
	if (rc < 0) {
		in_drop(sr, strerror(-rc));
		return;
	}
	in->got[s->part] += s->len;
}

/* The pieces are all there: synced, renamed, and the store's part checked. */
static int in_stage(struct svc_raft *sr, const struct raft_msg *m)
{
	struct snap_in *in = sr->in;
	struct wal_snap_head h;
	char tmp[600], path[600], member[560], err[700];
	int rc;

	for (int p = 0; p < 2; p++) {
		part_path(sr->dir, p, true, tmp, sizeof(tmp));
		part_path(sr->dir, p, false, path, sizeof(path));
		if (fdatasync(in->fd[p]) < 0 || rename(tmp, path) < 0) {
			in_drop(sr, strerror(errno));
			return -EIO;
		}
		close(in->fd[p]);
		in->fd[p] = -1;
	}
	in->staged = true;
	snprintf(member, sizeof(member), "%s/member", sr->dir);
	if ((rc = wal_fsync_dir(member)) < 0) {
		in_drop(sr, strerror(-rc));
		return rc;
	}
	part_path(sr->dir, PEER_SNAP_STORE, false, path, sizeof(path));
	if ((rc = wal_snapshot_check(path, &h, err, sizeof(err))) < 0) {
		in_drop(sr, err);
		return rc;
	}
	if (h.applied != m->snap.index) {
		snprintf(err, sizeof(err), "the store is at entry %" PRIu64 ", the message says %"
			 PRIu64, h.applied, m->snap.index);
		in_drop(sr, err);
		return -EINVAL;
	}
	in->index = m->snap.index;
	return 0;
}

void svcr_snap_msg(struct svc_raft *sr, const struct raft_msg *m)
{
	struct snap_in *in = sr->in;

	if (sr->restarting)
		return;
	if (!in || in->from != m->from || in->staged || !in->started[1] ||
	    in->got[0] != in->total[0] || in->got[1] != in->total[1]) {
		log_warnx("kv: raft: a snapshot from %016" PRIx64 " without its data: dropped",
			  m->from);
		return;
	}
	if (in_stage(sr, m) < 0)
		return;
	log_info("kv: raft: received a snapshot at entry %" PRIu64 " (%" PRIu64 " bytes) from "
		 "member %016" PRIx64, m->snap.index, in->total[1], m->from);
	node_step(sr->node, m);
}

static void restart(struct ev_loop *loop, void *arg)
{
	struct svc_raft *sr = arg;
	struct kv_service *svc = sr->svc;
	(void)loop;
	sr->restart_timer = 0;
	if (svc->restart)
		svc->restart(svc->restart_ctx, !sr->removed);	/* frees svc */
}

void svcr_removed(struct svc_raft *sr)
{
	if (sr->restarting)
		return;
	sr->restarting = sr->removed = true;
	long id = ev_timer(sr->loop, 0, restart, sr);
	sr->restart_timer = id > 0 ? id : 0;
}

int svcr_snap_install(void *ctx, const struct raft_snap_meta *m)
{
	struct svc_raft *sr = ctx;
	bool ok = sr->in && sr->in->staged && sr->in->index == m->index;

	if (ok)
		sr->in->taken = true;
	else
		log_warnx("kv: raft: the snapshot at entry %" PRIu64 " is not staged here; "
			  "restarting without it", m->index);
	if (!sr->restarting) {
		sr->restarting = true;
		long id = ev_timer(sr->loop, 0, restart, sr);
		sr->restart_timer = id > 0 ? id : 0;
		if (!sr->restart_timer)
			log_warnx("kv: raft: cannot restart the member: out of memory");
	}
	return ok ? 0 : -ENOENT;
}

void svcr_snap_after(struct svc_raft *sr)
{
	if (sr->in && sr->in->staged && !sr->in->taken && !node_stopped(sr->node))
		in_drop(sr, "Raft did not take it (it has as much already)");
	if ((sr->n_want || sr->outs) && !sr->snap_timer) {
		long id = ev_timer(sr->loop, 0, pump, sr);
		sr->snap_timer = id > 0 ? id : 0;
	}
}

void svcr_snap_stop(struct svc_raft *sr)
{
	if (sr->snap_timer)
		ev_cancel(sr->loop, sr->snap_timer);
	sr->snap_timer = 0;
	if (sr->restart_timer)
		ev_cancel(sr->loop, sr->restart_timer);
	sr->restart_timer = 0;
	while (sr->outs) {
		struct snap_out *o = sr->outs;
		sr->outs = o->next;
		out_free(o);
	}
	if (sr->in && sr->in->taken) {	/* staged for the next start: keep it */
		for (int p = 0; p < 2; p++)
			if (sr->in->fd[p] >= 0)
				close(sr->in->fd[p]);
		free(sr->in);
		sr->in = NULL;
	}
	in_drop(sr, NULL);
}

/* ---- installing, at start-up ------------------------------------------------------------ */

int svc_snap_boot(const char *dir, char *err, size_t errlen)
{
	char store[600], members[600], tmp[600], raft[560], final[560];
	struct wal_snap_head h;
	struct rlog_boot b;
	struct rlog *l;
	struct stat st;
	int rc;

	for (int p = 0; p < 2; p++) {
		part_path(dir, p, true, tmp, sizeof(tmp));
		unlink(tmp);	/* a stream a stop cut short */
	}
	part_path(dir, PEER_SNAP_STORE, false, store, sizeof(store));
	part_path(dir, PEER_SNAP_MEMBERS, false, members, sizeof(members));
	if (stat(store, &st) < 0) {
		unlink(members);
		return 0;
	}
	if ((rc = wal_snapshot_check(store, &h, err, errlen)) < 0) {
		log_warnx("kv: a staged snapshot is thrown away: %s", err);
		unlink(store);
		unlink(members);
		return 0;
	}
	snprintf(raft, sizeof(raft), "%s/member/raft", dir);
	if ((rc = rlog_open(raft, &l, &b, err, errlen)) < 0)
		return rc;
	uint64_t taken = b.snap.index;
	rlog_boot_free(&b);
	rlog_close(l);
	if (taken < h.applied || !h.applied) {	/* Raft never took it */
		unlink(store);
		unlink(members);
		return 0;
	}
	snprintf(final, sizeof(final), "%s/member/members", dir);
	if (stat(members, &st) == 0 && rename(members, final) < 0) {
		snprintf(err, errlen, "%s: %s", final, strerror(errno));
		return -errno;
	}
	if ((rc = wal_install_snapshot(dir, store, &h, err, errlen)) < 0)
		return rc;
	log_info("kv: installed the leader's snapshot: Raft entry %" PRIu64 ", revision %"
		 PRId64, h.applied, h.rev);
	return 0;
}
