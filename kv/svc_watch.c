/* etcdserverpb.Watch/Watch as etcd 3.4 serves it: one bidirectional stream carries many
 * watchers. Creates, cancels and progress requests are answered at once; each committed
 * revision reaches the synced watchers from the store's observer, its events encoded once
 * for all of them; watchers that start in the past, or whose client stopped reading, catch
 * up from history in bounded chunks run from the loop, then go back to live events with no
 * gap and no duplicate. The pure parts are in watch.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/ev.h"
#include "../lib/log.h"
#include "svc_int.h"
#include "watch.h"

#define PROGRESS_MS (10 * 60 * 1000)	/* etcd's --experimental-watch-progress-notify-interval */
#define PROGRESS_ENV "CABIND_WATCH_PROGRESS_MS"	/* a shorter one, for tests */
/* A stream with more response bytes than this unsent (the client does not read fast
 * enough) gets no more live events: its watchers fall behind and catch up from history once
 * it has drained below PENDING_LOW. */
#define PENDING_MAX (1u << 20)
#define PENDING_LOW (PENDING_MAX / 4)
/* One catch-up step of one stream: at most this many watchers read and records sent. */
#define STEP_WATCHERS 256
#define STEP_RECORDS 8192
#define POLL_MS 10	/* how often the queue of a stream that is not draining is looked at */

struct watch_list {
	struct watcher *first, *last;
	size_t n;
};

struct watch_stream {
	struct svc_watch *hub;
	struct grpc_call *call;
	struct watch_ids ids;		/* every watcher of the stream, DONE ones included */
	struct watch_list synced, unsynced;
	int64_t next_id;		/* where etcd's automatic ids go on from */
	size_t n_progress;		/* watchers with progress_notify */
	bool queued;			/* on the hub's catch-up queue */
	bool progress_owed;		/* a progress request waits for the unsynced ones */
	bool broken;			/* a fragment series failed halfway: end the stream */
	struct watch_stream *prev, *next;	/* the hub's streams */
	struct watch_stream *qprev, *qnext;	/* the catch-up queue */
};

struct svc_watch {
	struct kv_service *svc;
	struct ev_loop *loop;		/* learnt from the first call */
	struct watch_stream *streams;
	struct watch_stream *qfirst, *qlast;
	size_t n_synced;		/* synced watchers of every stream */
	size_t n_progress;
	long work_timer, progress_timer;
	uint64_t work_due;
	uint64_t progress_ms;
	struct watch_rev rev;		/* the revision being committed */
	struct watch_chunk chunk;
	struct pb_bytes *recs;		/* scratch: the records of one response */
	size_t recs_cap;
	struct pb_buf msg, tmp, hdr;
};

/* The store builds no events while no watcher is synced: none would be sent. */
static void sync_observer(struct svc_watch *hub)
{
	mvcc_observer_pause(hub->svc->store, hub->n_synced == 0);
}


/* ---- lists ---- */

static void list_push(struct watch_list *l, struct watcher *w)
{
	w->next = NULL;
	w->prev = l->last;
	if (l->last)
		l->last->next = w;
	else
		l->first = w;
	l->last = w;
	l->n++;
}

static void list_remove(struct watch_list *l, struct watcher *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		l->first = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		l->last = w->prev;
	w->prev = w->next = NULL;
	l->n--;
}

/* ---- timers ---- */

static void on_work(struct ev_loop *loop, void *arg);
static void on_progress(struct ev_loop *loop, void *arg);

/* Runs the catch-up work in ms (sooner if it was due later). */
static void work_arm(struct svc_watch *hub, uint64_t ms)
{
	uint64_t due = ev_now_ms() + ms;
	if (!hub->loop || (hub->work_timer && hub->work_due <= due))
		return;
	if (hub->work_timer)
		ev_cancel(hub->loop, hub->work_timer);
	long id = ev_timer(hub->loop, ms, on_work, hub);
	hub->work_timer = id > 0 ? id : 0;
	hub->work_due = due;
}

static void progress_arm(struct svc_watch *hub)
{
	if (!hub->loop || hub->progress_timer || !hub->n_progress)
		return;
	long id = ev_timer(hub->loop, hub->progress_ms, on_progress, hub);
	hub->progress_timer = id > 0 ? id : 0;
}

static void queue_add(struct watch_stream *st)
{
	struct svc_watch *hub = st->hub;
	if (!st->queued) {
		st->queued = true;
		st->qnext = NULL;
		st->qprev = hub->qlast;
		if (hub->qlast)
			hub->qlast->qnext = st;
		else
			hub->qfirst = st;
		hub->qlast = st;
	}
	work_arm(hub, 0);
}

static void queue_remove(struct watch_stream *st)
{
	struct svc_watch *hub = st->hub;
	if (!st->queued)
		return;
	if (st->qprev)
		st->qprev->qnext = st->qnext;
	else
		hub->qfirst = st->qnext;
	if (st->qnext)
		st->qnext->qprev = st->qprev;
	else
		hub->qlast = st->qprev;
	st->qprev = st->qnext = NULL;
	st->queued = false;
}

/* ---- streams ---- */

static struct watch_stream *stream_new(struct svc_watch *hub, struct grpc_call *call)
{
	struct watch_stream *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->hub = hub;
	st->call = call;
	st->next = hub->streams;
	if (hub->streams)
		hub->streams->prev = st;
	hub->streams = st;
	if (!hub->loop)
		hub->loop = grpc_call_loop(call);
	grpc_call_set_data(call, st);
	return st;
}

static void watcher_drop(struct watch_stream *st, struct watcher *w)
{
	struct svc_watch *hub = st->hub;
	if (w->state == WATCH_SYNCED) {
		list_remove(&st->synced, w);
		hub->n_synced--;
		sync_observer(hub);
	} else if (w->state == WATCH_UNSYNCED) {
		list_remove(&st->unsynced, w);
	}
	if (w->flags & WATCH_PROGRESS) {
		st->n_progress--;
		hub->n_progress--;
	}
	watch_ids_del(&st->ids, w->id);
	free(w);
}

static void stream_free(struct watch_stream *st)
{
	struct svc_watch *hub = st->hub;
	for (size_t i = 0; i < st->ids.cap; i++)
		while (st->ids.slot[i])	/* a deletion may shift another entry into slot i */
			watcher_drop(st, st->ids.slot[i]);
	watch_ids_free(&st->ids);
	queue_remove(st);
	if (st->prev)
		st->prev->next = st->next;
	else
		hub->streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	free(st);	/* the call is not touched: it may be gone already */
}

/* Ends the stream from our side (memory ran out where a retry would break the stream's
 * order) and frees it. */
static void stream_fail(struct watch_stream *st)
{
	struct grpc_call *call = st->call;
	grpc_call_set_data(call, NULL);
	stream_free(st);
	grpc_finish(call, GRPC_RESOURCE_EXHAUSTED, "etcdserver: out of memory");
}

/* ---- sending ---- */

static int header_at(struct svc_watch *hub, int64_t rev)
{
	struct kvm_header h = svc_header(hub->svc, rev);
	if (rev == 0)
		h.revision = 0;	/* etcd's compaction cancel carries none */
	hub->hdr.len = 0;
	hub->hdr.err = 0;
	return kvm_encode(&hub->hdr, KVM_HEADER, &h);
}

static int send_response(struct watch_stream *st, const struct kvm_watch_response *r)
{
	struct pb_buf *b = &st->hub->msg;
	b->len = 0;
	b->err = 0;
	int rc = kvm_encode(b, KVM_WATCH_RESPONSE, r);
	return rc < 0 ? rc : grpc_send(st->call, b->data ? b->data : (const uint8_t *)"", b->len);
}

/* A response of the control kind (created, canceled, progress) at the current revision. */
static int send_control(struct watch_stream *st, int64_t id, bool created, bool canceled,
			const char *reason)
{
	struct kvm_header h = svc_header(st->hub->svc, 0);
	struct kvm_watch_response r = {
		.header = &h, .watch_id = id, .created = created, .canceled = canceled,
		.cancel_reason = { (const uint8_t *)reason, reason ? strlen(reason) : 0 },
	};
	return send_response(st, &r);
}

/* Sends w the n records as one response, or as etcd's fragments if w asked for them, with
 * the header in hub->hdr. Returns 0, or a negative code with nothing sent; a failure after
 * the first fragment breaks the stream. */
static int send_events(struct watch_stream *st, struct watcher *w, const struct pb_bytes *recs,
		       size_t n)
{
	struct svc_watch *hub = st->hub;
	struct pb_bytes hdr = { hub->hdr.data, hub->hdr.len };
	struct pb_buf *b = &hub->msg;
	bool started = false, frag = false;
	size_t head;
	int rc;

	b->len = 0;
	b->err = 0;
	watch_put_head(b, hdr, w->id, false);
	head = b->len;
	while (n) {
		size_t k = n;
		if (w->flags & WATCH_FRAGMENT)
			k = watch_fragment(head, recs, n, started, &frag);
		b->len = 0;
		b->err = 0;
		watch_put_head(b, hdr, w->id, frag);
		for (size_t i = 0; i < k; i++)
			pb_put_raw(b, recs[i].p, recs[i].len);
		rc = b->err ? b->err : grpc_send(st->call, b->data, b->len);
		if (rc < 0) {
			if (started)
				st->broken = true;
			return rc;
		}
		started = true;
		recs += k;
		n -= k;
	}
	return 0;
}

static int recs_room(struct svc_watch *hub, size_t n)
{
	if (n <= hub->recs_cap)
		return 0;
	struct pb_bytes *p = realloc(hub->recs, n * sizeof(*p));
	if (!p)
		return -ENOMEM;
	hub->recs = p;
	hub->recs_cap = n;
	return 0;
}

/* ---- live events ---- */

/* w missed revision rev: history owes it everything from there. */
static void unsync(struct watch_stream *st, struct watcher *w, int64_t rev)
{
	log_debug("kv: watch %lld falls behind at revision %lld (%zu bytes unsent)",
		  (long long)w->id, (long long)rev, grpc_call_pending(st->call));
	list_remove(&st->synced, w);
	st->hub->n_synced--;
	sync_observer(st->hub);
	w->state = WATCH_UNSYNCED;
	w->next_rev = rev;
	list_push(&st->unsynced, w);
	queue_add(st);
}

static void fan_out(struct svc_watch *hub)
{
	int64_t rev = hub->rev.rev;
	bool ok = hub->rev.err == 0 && recs_room(hub, hub->rev.n) == 0 &&
		  header_at(hub, rev) == 0;

	for (struct watch_stream *st = hub->streams; st; st = st->next) {
		bool full = grpc_call_pending(st->call) > PENDING_MAX;
		struct watcher *w, *next;
		for (w = st->synced.first; w && !st->broken; w = next) {
			next = w->next;
			if (rev < w->next_rev)
				continue;
			if (!ok) {	/* the events could not be copied: history has them */
				unsync(st, w, rev);
				continue;
			}
			size_t n = watch_rev_select(&hub->rev, w, hub->recs);
			if (!n)
				continue;
			if (full || send_events(st, w, hub->recs, n) < 0)
				unsync(st, w, rev);
			else
				w->idle = false;
		}
		if (st->broken)
			queue_add(st);
	}
}

/* The store's observer: copies each event of a revision, and hands the whole revision to
 * the synced watchers at its last event. */
static void on_event(void *ctx, const struct mvcc_event *ev)
{
	struct svc_watch *hub = ctx;
	if (!hub->n_synced)
		return;	/* the same for every event of a revision: nothing waits for it */
	watch_rev_add(&hub->rev, ev, &hub->tmp);
	if (!ev->last)
		return;
	fan_out(hub);
	watch_rev_reset(&hub->rev);
}

/* ---- catch-up ---- */

static int send_compacted(struct watch_stream *st, struct watcher *w)
{
	struct svc_watch *hub = st->hub;
	struct kvm_header h = svc_header(hub->svc, 0);
	h.revision = 0;	/* etcd sends the compaction cancel with no revision */
	struct kvm_watch_response r = { .header = &h, .watch_id = w->id, .canceled = true,
					.compact_revision = mvcc_compacted(hub->svc->store) };
	return send_response(st, &r);
}

/* Reads and sends w's next chunk of history. Returns 1 when w can go on, 0 when it is
 * synced or done, or a negative code (w stays as it was, to be retried). */
static int catch_up_one(struct watch_stream *st, struct watcher *w, size_t *records)
{
	struct svc_watch *hub = st->hub;
	struct mvcc *store = hub->svc->store;
	int rc = watch_catch_up(store, w, &hub->chunk, &hub->tmp);

	if (rc == MVCC_ECOMPACTED) {
		if ((rc = send_compacted(st, w)) < 0)
			return rc;
		list_remove(&st->unsynced, w);
		w->state = WATCH_DONE;
		return 0;
	}
	if (rc < 0)
		return rc;
	if (rc > 0) {
		if ((rc = recs_room(hub, hub->chunk.n)) < 0 ||
		    (rc = header_at(hub, mvcc_rev(store))) < 0)
			return rc;
		watch_chunk_records(&hub->chunk, hub->recs);
		if ((rc = send_events(st, w, hub->recs, hub->chunk.n)) < 0)
			return rc;
		*records += hub->chunk.n;
		w->idle = false;
	}
	w->next_rev = hub->chunk.next;
	list_remove(&st->unsynced, w);
	if (!hub->chunk.done) {
		list_push(&st->unsynced, w);	/* to the back: the others get their turn */
		return 1;
	}
	w->state = WATCH_SYNCED;
	list_push(&st->synced, w);
	hub->n_synced++;
	sync_observer(hub);
	return 0;
}

/* One step of a stream's catch-up. Returns whether it sent or settled anything. */
static bool catch_up(struct watch_stream *st)
{
	size_t records = 0, visited = 0;
	bool moved = false;

	while (st->unsynced.first && visited++ < STEP_WATCHERS && records < STEP_RECORDS &&
	       grpc_call_pending(st->call) <= PENDING_MAX && !st->broken) {
		struct watcher *w = st->unsynced.first;
		int64_t before = w->next_rev;
		int rc = catch_up_one(st, w, &records);
		if (rc < 0) {
			log_debug("kv: watch %lld catch-up: %s", (long long)w->id,
				  mvcc_strerror(rc));
			break;	/* memory: try again at the next poll */
		}
		moved |= rc == 0 || w->next_rev != before;
	}
	if (!st->unsynced.first && st->progress_owed && !st->broken) {
		st->progress_owed = send_control(st, -1, false, false, NULL) < 0;
		moved = true;
	}
	return moved;
}

static void on_work(struct ev_loop *loop, void *arg)
{
	struct svc_watch *hub = arg;
	struct watch_stream *st, *next, *last = hub->qlast;
	bool moved = false;
	(void)loop;

	hub->work_timer = 0;
	for (st = hub->qfirst; st; st = next) {
		bool end = st == last;
		next = st->qnext;
		if (st->broken) {
			stream_fail(st);
		} else if (grpc_call_pending(st->call) <= PENDING_LOW) {
			moved |= catch_up(st);
			if (st->broken)
				stream_fail(st);
			else if (!st->unsynced.first && !st->progress_owed)
				queue_remove(st);
		}
		if (end)
			break;
	}
	if (hub->qfirst)
		work_arm(hub, moved ? 1 : POLL_MS);
}

/* ---- progress ---- */

static void on_progress(struct ev_loop *loop, void *arg)
{
	struct svc_watch *hub = arg;
	(void)loop;

	hub->progress_timer = 0;
	for (struct watch_stream *st = hub->streams; st; st = st->next) {
		if (!st->n_progress)
			continue;
		bool full = grpc_call_pending(st->call) > PENDING_MAX;
		for (struct watcher *w = st->synced.first; w; w = w->next)
			if ((w->flags & WATCH_PROGRESS) && w->idle && !full)
				send_control(st, w->id, false, false, NULL);
		/* as etcd: whatever happened, the next tick sends unless events go out */
		for (struct watcher *w = st->synced.first; w; w = w->next)
			w->idle = true;
		for (struct watcher *w = st->unsynced.first; w; w = w->next)
			w->idle = true;
	}
	progress_arm(hub);
}

/* ---- requests ---- */

static void do_create(struct watch_stream *st, const struct kvm_watch_create_request *r)
{
	struct svc_watch *hub = st->hub;
	int64_t cur = mvcc_rev(hub->svc->store), id = -1;
	struct watcher *w = NULL;
	int rc = watch_new(r, &w);

	if (rc == 0) {
		if (r->watch_id == 0)
			id = watch_ids_auto(&st->ids, &st->next_id);
		else if (watch_ids_find(&st->ids, r->watch_id))
			rc = WATCH_EDUPLICATE;
		else
			id = r->watch_id;
	}
	if (rc == 0) {
		w->id = id;
		rc = watch_ids_add(&st->ids, w);
	}
	if (rc < 0) {
		free(w);
		const char *why = rc == -ENOMEM ? "etcdserver: out of memory" : watch_strerror(rc);
		if (send_control(st, -1, true, true, why) < 0)
			stream_fail(st);
		return;
	}
	if (send_control(st, id, true, false, NULL) < 0) {
		watch_ids_del(&st->ids, id);
		free(w);
		stream_fail(st);
		return;
	}
	if (r->start_revision == 0 || r->start_revision > cur) {
		/* as etcd: live from the next revision, or from a future start */
		w->state = WATCH_SYNCED;
		w->next_rev = r->start_revision > cur ? r->start_revision : cur + 1;
		list_push(&st->synced, w);
		hub->n_synced++;
		sync_observer(hub);
	} else {
		w->state = WATCH_UNSYNCED;
		w->next_rev = r->start_revision;
		list_push(&st->unsynced, w);
		queue_add(st);
	}
	if (w->flags & WATCH_PROGRESS) {
		st->n_progress++;
		hub->n_progress++;
		progress_arm(hub);
	}
}

static void do_cancel(struct watch_stream *st, int64_t id)
{
	struct watcher *w = watch_ids_find(&st->ids, id);
	if (!w)
		return;	/* etcd answers nothing */
	watcher_drop(st, w);
	if (send_control(st, id, false, true, NULL) < 0)
		stream_fail(st);
}

/* etcd 3.4 answers at once with watch_id -1 at the current revision. We hold the answer
 * while some watcher of the stream is catching up, as later etcd releases do: a progress
 * notification must not claim a revision whose events some watcher has not received. */
static void do_progress(struct watch_stream *st)
{
	if (st->unsynced.first) {
		st->progress_owed = true;
		queue_add(st);
	} else if (send_control(st, -1, false, false, NULL) < 0) {
		stream_fail(st);
	}
}

void svc_watch(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	struct kv_service *svc = ctx;
	struct watch_stream *st = grpc_call_data(call);
	struct kvm_watch_request req;
	struct pb_arena a;

	if (!st && !(st = stream_new(svc->watch, call))) {
		grpc_finish(call, GRPC_RESOURCE_EXHAUSTED, "etcdserver: out of memory");
		return;
	}
	svc_arena_init(&a);
	if (svc_decode(call, KVM_WATCH_REQUEST, msg, len, &req, &a) < 0) {
		stream_free(st);	/* the call is finished */
	} else if (req.type == KVM_WATCH_CREATE) {
		do_create(st, &req.create);
	} else if (req.type == KVM_WATCH_CANCEL) {
		do_cancel(st, req.cancel.watch_id);
	} else if (req.type == KVM_WATCH_PROGRESS) {
		do_progress(st);
	}	/* an empty request: ignored, as etcd does */
	pb_arena_free(&a);
}

/* The client is done sending: as etcd, the stream and its watchers stay until it goes. */
void svc_watch_half_close(struct grpc_call *call, void *ctx)
{
	(void)call;
	(void)ctx;
}

void svc_watch_gone(struct grpc_call *call, void *ctx)
{
	struct watch_stream *st = grpc_call_data(call);
	(void)ctx;
	if (st)
		stream_free(st);
}

/* ---- the service ---- */

void svc_watch_counts(const struct kv_service *svc, size_t *streams, size_t *watchers,
		      size_t *slow)
{
	*streams = *watchers = *slow = 0;
	for (struct watch_stream *st = svc->watch ? svc->watch->streams : NULL; st;
	     st = st->next) {
		++*streams;
		*watchers += st->synced.n + st->unsynced.n;
		*slow += st->unsynced.n;
	}
}

int svc_watch_init(struct kv_service *svc)
{
	struct svc_watch *hub = calloc(1, sizeof(*hub));
	if (!hub)
		return -ENOMEM;
	hub->svc = svc;
	hub->progress_ms = PROGRESS_MS;
	const char *env = getenv(PROGRESS_ENV);
	if (env && atol(env) > 0)
		hub->progress_ms = (uint64_t)atol(env);
	pb_buf_init(&hub->msg, NULL);
	pb_buf_init(&hub->tmp, NULL);
	pb_buf_init(&hub->hdr, NULL);
	watch_rev_init(&hub->rev);
	watch_chunk_init(&hub->chunk);
	svc->watch = hub;
	mvcc_set_observer(svc->store, on_event, hub);
	sync_observer(hub);
	return 0;
}

void svc_watch_free(struct kv_service *svc)
{
	struct svc_watch *hub = svc->watch;
	if (!hub)
		return;
	mvcc_set_observer(svc->store, NULL, NULL);
	mvcc_observer_pause(svc->store, false);
	while (hub->streams)
		stream_free(hub->streams);
	if (hub->loop && hub->work_timer)
		ev_cancel(hub->loop, hub->work_timer);
	if (hub->loop && hub->progress_timer)
		ev_cancel(hub->loop, hub->progress_timer);
	watch_rev_free(&hub->rev);
	watch_chunk_free(&hub->chunk);
	free(hub->recs);
	pb_buf_free(&hub->msg);
	pb_buf_free(&hub->tmp);
	pb_buf_free(&hub->hdr);
	free(hub);
	svc->watch = NULL;
}
