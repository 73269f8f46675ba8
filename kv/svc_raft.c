/* The etcd services over Raft. A write (Put, DeleteRange, Txn, Compact, LeaseGrant,
 * LeaseRevoke, and a lease's expiry) is proposed as a Raft entry holding the request; when
 * the entry is applied, every member runs it through the very handler that serves it
 * without Raft, and the member the client asked answers it then. What a handler decides
 * must therefore depend on the store alone: a lease's id is chosen before proposing, and
 * leases expire only by the leader's proposals.
 *
 * An entry's data: u8 format (1), u8 op, 2 zero bytes, u64 origin member, u64 the origin's
 * sequence number for the request (0: no client waits), then the request message. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "../lib/log.h"
#include "le.h"
#include "svc_raft_int.h"

#define ENTRY_HEAD 20

enum svc_op {
	OP_PUT = 1,
	OP_DELETE,
	OP_TXN,
	OP_COMPACT,
	OP_LEASE_GRANT,
	OP_LEASE_REVOKE,
	OP_LEASE_EXPIRE,	/* a revoke the leader proposes for an expired lease */
	OP_LEASE_RENEW,		/* a keepalive that came in at a follower */
	OP_LAST = OP_LEASE_RENEW
};

static const struct grpc_method op_methods[] = {
	[OP_PUT] = { "/etcdserverpb.KV/Put", svc_put, NULL, NULL },
	[OP_DELETE] = { "/etcdserverpb.KV/DeleteRange", svc_delete_range, NULL, NULL },
	[OP_TXN] = { "/etcdserverpb.KV/Txn", svc_txn, NULL, NULL },
	[OP_COMPACT] = { "/etcdserverpb.KV/Compact", svc_compact, NULL, NULL },
	[OP_LEASE_GRANT] = { "/etcdserverpb.Lease/LeaseGrant", svc_lease_grant, NULL, NULL },
	[OP_LEASE_REVOKE] = { "/etcdserverpb.Lease/LeaseRevoke", svc_lease_revoke, NULL, NULL },
	[OP_LEASE_EXPIRE] = { "/etcdserverpb.Lease/LeaseRevoke", svc_lease_revoke, NULL, NULL },
	[OP_LEASE_RENEW] = { "/etcdserverpb.Lease/LeaseKeepAlive", NULL, NULL, NULL },
};

/* ---- waiting clients --------------------------------------------------------------------- */

static struct waiter **slot_of(struct svc_raft *sr, uint64_t seq)
{
	struct waiter **p = &sr->bucket[seq % BUCKETS];
	while (*p && (*p)->seq != seq)
		p = &(*p)->next;
	return p;
}

struct waiter *svcr_take(struct svc_raft *sr, uint64_t seq)
{
	struct waiter **p = slot_of(sr, seq), *w = *p;
	if (w) {
		*p = w->next;
		sr->waiting--;
	}
	return w;
}

/* The client went away before its entry was applied: the entry stays proposed. */
static void waiter_gone(struct grpc_call *call, void *arg)
{
	struct waiter *w = arg;
	(void)call;
	svcr_take(w->sr, w->seq);
	free(w);
}

struct waiter *svcr_waiter_new(struct svc_raft *sr, struct grpc_call *call,
				 enum svc_answer answer)
{
	struct waiter *w = calloc(1, sizeof(*w));

	if (w)
		*w = (struct waiter){.sr = sr, .call = call, .seq = ++sr->seq, .answer = answer,
				     .deadline = ev_now_ms() + WAIT_MS};
	return w;
}

void svcr_waiter_add(struct svc_raft *sr, struct waiter *w)
{
	w->next = sr->bucket[w->seq % BUCKETS];
	sr->bucket[w->seq % BUCKETS] = w;
	sr->waiting++;
	/* a stream may have many keepalives waiting: its on_gone forgets them instead */
	if (w->answer != SVC_ANSWER_KEEPALIVE)
		grpc_call_defer(w->call, waiter_gone, w);
}

/* A waiter is done without its answer: the client hears why (but a keepalive's stream
 * stays open: the client sends the next one). */
void svcr_waiter_fail(struct waiter *w, enum grpc_status st, const char *why)
{
	if (w->answer != SVC_ANSWER_KEEPALIVE) {
		grpc_call_defer(w->call, NULL, NULL);
		grpc_finish(w->call, st, why);
	}
	free(w);
}



/* Fails the waiters whose entries did not come back in time (lost with a leader). */
void svcr_sweep(struct ev_loop *loop, void *arg)
{
	struct svc_raft *sr = arg;
	uint64_t now = ev_now_ms();
	long id = ev_timer(loop, SWEEP_MS, svcr_sweep, sr);

	sr->sweep_timer = id > 0 ? id : 0;
	svcr_publish(sr);
	if (sr->reads)
		svcr_run_reads(sr, NULL);
	for (size_t b = 0; b < BUCKETS && sr->waiting; b++) {
		struct waiter **p = &sr->bucket[b];
		while (*p) {
			struct waiter *w = *p;
			if (w->deadline > now) {
				p = &w->next;
				continue;
			}
			*p = w->next;
			sr->waiting--;
			svcr_waiter_fail(w, GRPC_UNAVAILABLE, "etcdserver: request timed out");
		}
	}
}

/* The clients waiting now learn that their writes may not be applied (they may be). */
void svcr_fail_waiters(struct svc_raft *sr, enum grpc_status st, const char *why)
{
	for (size_t b = 0; b < BUCKETS; b++)
		while (sr->bucket[b]) {
			struct waiter *w = sr->bucket[b];
			sr->bucket[b] = w->next;
			sr->waiting--;
			svcr_waiter_fail(w, st, why);
		}
}

/* ---- proposing --------------------------------------------------------------------------- */

void svcr_fail_propose(struct grpc_call *call, int rc)
{
	switch (rc) {
	case -EAGAIN:
		grpc_finish(call, GRPC_UNAVAILABLE, "etcdserver: no leader");
		break;
	case -EBUSY:
		grpc_finish(call, GRPC_UNAVAILABLE, "etcdserver: leader changed");
		break;
	case -EPERM:
		grpc_finish(call, GRPC_FAILED_PRECONDITION,
			    "etcdserver: the member has been permanently removed from the cluster");
		break;
	default:
		grpc_finish(call, GRPC_RESOURCE_EXHAUSTED, "etcdserver: out of memory");
		break;
	}
}

/* Proposes request msg for op; call (may be NULL: nobody waits) is answered when it is
 * applied. */
static void propose(struct kv_service *svc, struct grpc_call *call, enum svc_op op,
		    const uint8_t *msg, size_t len)
{
	struct svc_raft *sr = svc->raft;
	struct waiter *w = NULL;
	uint8_t *e = malloc(ENTRY_HEAD + len);
	int rc = -ENOMEM;

	if (call && len > SVC_REQUEST_MAX) {
		grpc_finish(call, GRPC_INVALID_ARGUMENT, "etcdserver: request is too large");
		free(e);
		return;
	}
	if (e && call)
		w = svcr_waiter_new(sr, call, SVC_ANSWER_WRITE);
	if (e && (w || !call)) {
		memset(e, 0, ENTRY_HEAD);
		e[0] = 1;
		e[1] = (uint8_t)op;
		le_put64(e + 4, svc->member_id);
		le_put64(e + 12, w ? w->seq : 0);
		if (len)
			memcpy(e + ENTRY_HEAD, msg, len);
		rc = node_propose(sr->node, RAFT_ENTRY_NORMAL, e, ENTRY_HEAD + len);
	}
	free(e);
	if (rc < 0) {
		free(w);
		if (call)
			svcr_fail_propose(call, rc);
		return;
	}
	if (w)
		svcr_waiter_add(sr, w);
}

/* Whether this member refuses the write for want of space (finishing the call): puts
 * and transactions with puts, as svc_refuse_* decide (while applying they never do). */
static bool refused(struct kv_service *svc, struct grpc_call *call, enum svc_op op,
		    const uint8_t *msg, size_t len)
{
	struct pb_arena a;
	bool no = false;

	if (op != OP_PUT && op != OP_TXN)
		return false;
	svc_arena_init(&a);
	if (op == OP_PUT) {
		struct kvm_put_request p;
		if (kvm_decode(KVM_PUT_REQUEST, msg, len, &p, &a) == 0)
			no = svc_refuse_put(svc, call, SVC_COST_PUT(p.key.len, p.value.len));
	} else {
		struct kvm_txn_request t;
		if (kvm_decode(KVM_TXN_REQUEST, msg, len, &t, &a) == 0)
			no = svc_refuse_txn(svc, call, &t);
	}
	pb_arena_free(&a);
	return no;	/* a request that does not decode fails when applied */
}

static void propose_op(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx,
		       enum svc_op op)
{
	struct kv_service *svc = ctx;

	if (!svc->raft || svc->applying)
		op_methods[op].on_message(call, msg, len, ctx);	/* no Raft: at once */
	else if (!refused(svc, call, op, msg, len))
		propose(svc, call, op, msg, len);
}

void svc_raft_put(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	propose_op(call, msg, len, ctx, OP_PUT);
}

void svc_raft_delete(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	propose_op(call, msg, len, ctx, OP_DELETE);
}

void svc_raft_txn(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	propose_op(call, msg, len, ctx, OP_TXN);
}

void svc_raft_compact(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	propose_op(call, msg, len, ctx, OP_COMPACT);
}

void svc_raft_lease_revoke(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	propose_op(call, msg, len, ctx, OP_LEASE_REVOKE);
}

/* A grant's id is chosen here, so that every member grants the same lease. */
void svc_raft_lease_grant(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	struct kv_service *svc = ctx;
	struct kvm_lease_grant_request req;
	struct pb_arena a;
	struct pb_buf b;

	if (!svc->raft || svc->applying) {
		svc_lease_grant(call, msg, len, ctx);
		return;
	}
	svc_arena_init(&a);
	pb_buf_init(&b, NULL);
	if (svc_decode(call, KVM_LEASE_GRANT_REQUEST, msg, len, &req, &a) == 0 &&
	    !svc_refuse_put(svc, call, SVC_COST_LEASE)) {
		while (req.id <= 0 || lease_exists(svc->leases, req.id)) {
			uint64_t r = 0;
			if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
				r = ev_now_ms() * 0x9e3779b97f4a7c15ULL ^ svc->raft->seq;
			req.id = (int64_t)(r & INT64_MAX);
		}
		if (kvm_encode(&b, KVM_LEASE_GRANT_REQUEST, &req) < 0)
			grpc_finish(call, GRPC_RESOURCE_EXHAUSTED, "etcdserver: out of memory");
		else
			propose(svc, call, OP_LEASE_GRANT, b.data, b.len);
	}
	pb_buf_free(&b);
	pb_arena_free(&a);
}

void svc_raft_expire(struct kv_service *svc, int64_t id)
{
	struct kvm_lease_id_request req = { .id = id };
	struct pb_buf b;

	pb_buf_init(&b, NULL);
	if (kvm_encode(&b, KVM_LEASE_ID_REQUEST, &req) == 0)
		propose(svc, NULL, OP_LEASE_EXPIRE, b.data, b.len);
	pb_buf_free(&b);
}

bool svc_raft_leader(const struct kv_service *svc)
{
	return !svc->raft || node_leader(svc->raft->node) == svc->member_id;
}

/* ---- keepalives -------------------------------------------------------------------------- */

void svc_raft_keepalive(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	struct kv_service *svc = ctx;
	struct svc_raft *sr = svc->raft;
	struct kvm_lease_id_request req;
	struct pb_arena a;
	struct waiter *w;

	if (!sr || svc_raft_leader(svc)) {
		svc_lease_keepalive(call, msg, len, ctx);	/* the leader's clock counts */
		return;
	}
	svc_arena_init(&a);
	if (svc_decode(call, KVM_LEASE_ID_REQUEST, msg, len, &req, &a) < 0) {
		svcr_keepalives(sr, call, true);	/* the stream is over */
	} else {
		uint8_t e[ENTRY_HEAD + 8];
		int rc = -ENOMEM;
		if ((w = svcr_waiter_new(sr, call, SVC_ANSWER_KEEPALIVE))) {
			memset(e, 0, ENTRY_HEAD);
			e[0] = 1;
			e[1] = OP_LEASE_RENEW;
			le_put64(e + 4, svc->member_id);
			le_put64(e + 12, w->seq);
			le_put64(e + ENTRY_HEAD, (uint64_t)req.id);
			rc = node_propose(sr->node, RAFT_ENTRY_NORMAL, e, sizeof(e));
		}
		if (rc < 0) {
			free(w);
			/* no answer: the client's next keepalive tries again */
		} else {
			svcr_waiter_add(sr, w);
		}
	}
	pb_arena_free(&a);
}

/* The keepalives of call still waiting; forgets them when forget is set. */
size_t svcr_keepalives(struct svc_raft *sr, struct grpc_call *call, bool forget)
{
	size_t n = 0;

	for (size_t b = 0; sr && b < BUCKETS && sr->waiting; b++)
		for (struct waiter **p = &sr->bucket[b]; *p;) {
			struct waiter *w = *p;
			if (w->call != call || w->answer != SVC_ANSWER_KEEPALIVE) {
				p = &w->next;
				continue;
			}
			n++;
			if (!forget) {
				p = &w->next;
				continue;
			}
			*p = w->next;
			sr->waiting--;
			free(w);
		}
	return n;
}

void svc_raft_keepalive_gone(struct grpc_call *call, void *ctx)
{
	struct kv_service *svc = ctx;
	svcr_keepalives(svc->raft, call, true);
}

/* The client is done sending: the stream ends once the keepalives still waiting are
 * answered (python-etcd3 sends one and half-closes). */
static int half_closed;

void svc_raft_keepalive_end(struct grpc_call *call, void *ctx)
{
	struct kv_service *svc = ctx;

	if (svcr_keepalives(svc->raft, call, false)) {
		grpc_call_set_data(call, &half_closed);
		return;
	}
	svc_lease_keepalive_end(call, ctx);
}

/* An applied renewal: every member renews; the one asked answers on the stream. */
static void apply_renew(struct svc_raft *sr, const uint8_t *msg, size_t len, struct waiter *w)
{
	int64_t id = len == 8 ? (int64_t)le_get64(msg) : 0;
	int64_t ttl = svc_lease_renew(sr->svc, id);

	if (w) {
		struct grpc_call *call = w->call;
		free(w);
		if (svc_lease_keepalive_reply(call, sr->svc, id, ttl))
			svcr_keepalives(sr, call, true);	/* finished: the others too */
		else if (grpc_call_data(call) == &half_closed && !svcr_keepalives(sr, call, false))
			svc_lease_keepalive_end(call, sr->svc);
	}
}

/* ---- linearizable reads (ReadIndex) ------------------------------------------------------ */

static void reader_unlink(struct svc_raft *sr, struct reader *r)
{
	for (struct reader **p = &sr->reads; *p; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			return;
		}
}

static void reader_gone(struct grpc_call *call, void *arg)
{
	struct reader *r = arg;
	(void)call;
	reader_unlink(r->sr, r);
	free(r);
}

/* Runs the reads whose index is applied (and fails those past their deadline, or all of
 * them with why). */
void svcr_run_reads(struct svc_raft *sr, const char *why)
{
	uint64_t now = ev_now_ms();
	struct reader **p = &sr->reads;

	while (*p) {
		struct reader *r = *p;
		bool ready = r->index && r->index <= sr->applied;
		if (!ready && !why && r->deadline > now) {
			p = &r->next;
			continue;
		}
		*p = r->next;
		grpc_call_defer(r->call, NULL, NULL);
		if (ready)
			r->run(r->call, r->msg, r->len, sr->svc);
		else
			grpc_finish(r->call, GRPC_UNAVAILABLE,
				    why ? why : "etcdserver: request timed out");
		free(r);
	}
}

/* Parks a read until a ReadIndex round answers it; one round a loop turn serves all the
 * reads that came in meanwhile (etcd batches them the same way). */
static void read_linearizable(struct svc_raft *sr, struct grpc_call *call, const uint8_t *msg,
			      size_t len,
			      void (*run)(struct grpc_call *, const uint8_t *, size_t, void *))
{
	struct reader *r = malloc(sizeof(*r) + len);

	if (!r) {
		grpc_finish(call, GRPC_RESOURCE_EXHAUSTED, "etcdserver: out of memory");
		return;
	}
	*r = (struct reader){.next = sr->reads, .sr = sr, .call = call, .run = run, .len = len,
			     .deadline = ev_now_ms() + WAIT_MS};
	if (len)
		memcpy(r->msg, msg, len);
	sr->reads = r;
	sr->read_asked = false;
	grpc_call_defer(call, reader_gone, r);
}

/* From the before-sleep hook: a round for the reads that have none. */
void svcr_ask_reads(struct svc_raft *sr)
{
	if (sr->read_asked || !sr->reads)
		return;
	uint64_t round = sr->read_round + 1;
	int rc = node_read_index(sr->node, round);
	if (rc < 0) {
		svcr_run_reads(sr, rc == -EAGAIN ? "etcdserver: no leader" : "etcdserver: out of memory");
		return;
	}
	sr->read_round = round;
	for (struct reader *r = sr->reads; r && !r->round; r = r->next)
		r->round = round;
	sr->read_asked = true;
}

void svcr_read_answered(void *ctx, uint64_t index, uint64_t round)
{
	struct svc_raft *sr = ctx;

	/* a round answers the reads of that round and of the rounds before it */
	for (struct reader *r = sr->reads; r; r = r->next)
		if (r->round && r->round <= round && !r->index)
			r->index = index;
	svcr_run_reads(sr, NULL);
}

void svc_raft_range(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	struct kv_service *svc = ctx;
	struct kvm_range_request r;
	struct pb_arena a;
	bool serializable = true;

	if (svc->raft && !svc->applying && !node_alone(svc->raft->node)) {
		svc_arena_init(&a);
		if (kvm_decode(KVM_RANGE_REQUEST, msg, len, &r, &a) == 0)
			serializable = r.serializable;
		pb_arena_free(&a);
	}
	if (serializable)
		svc_range(call, msg, len, ctx);	/* what this member has applied */
	else
		read_linearizable(svc->raft, call, msg, len, svc_range);
}

/* ---- applying ---------------------------------------------------------------------------- */

static void discard_msg(void *arg, const uint8_t *msg, size_t len)
{
	(void)arg;
	(void)msg;
	(void)len;
}

static void discard_end(void *arg, enum grpc_status status, const char *message)
{
	(void)status;
	(void)message;
	grpc_local_free(arg);
}

void svcr_apply(void *ctx, const struct raft_entry *e)
{
	struct svc_raft *sr = ctx;
	struct kv_service *svc = sr->svc;

	if (e->type == RAFT_ENTRY_CONF) {
		svc_members_apply(svc, e);
		return;
	}
	if (e->len == 0)
		return;	/* a leader's first entry */
	if (e->len < ENTRY_HEAD || e->data[0] != 1 || !e->data[1] || e->data[1] > OP_LAST) {
		log_warnx("kv: raft: entry %llu is not a request this cabind knows; skipped",
			  (unsigned long long)e->index);
		return;
	}
	enum svc_op op = e->data[1];
	uint64_t origin = le_get64(e->data + 4), seq = le_get64(e->data + 12);
	const uint8_t *msg = e->data + ENTRY_HEAD;
	size_t len = e->len - ENTRY_HEAD;
	struct waiter *w = origin == svc->member_id && seq ? svcr_take(sr, seq) : NULL;
	struct grpc_call *call;

	/* a waiter of another kind is not this entry's client (numbers of an earlier life) */
	if (w && (w->answer == SVC_ANSWER_KEEPALIVE) != (op == OP_LEASE_RENEW)) {
		svcr_waiter_fail(w, GRPC_UNAVAILABLE, "etcdserver: request timed out");
		w = NULL;
	}
	if (op == OP_LEASE_RENEW) {
		apply_renew(sr, msg, len, w);
		return;
	}

	if (w && w->answer != SVC_ANSWER_WRITE) {
		svcr_waiter_fail(w, GRPC_UNAVAILABLE, "etcdserver: request timed out");
		w = NULL;
	}
	if (w) {
		call = w->call;
		grpc_call_defer(call, NULL, NULL);
		free(w);
	} else {
		/* nobody here waits: the answer goes nowhere, and its end frees the call */
		call = grpc_method_call(&op_methods[op], svc, discard_msg, discard_end, NULL);
	}
	if (!call) {
		log_warnx("kv: raft: entry %llu: out of memory: this member's store now differs "
			  "from the others'", (unsigned long long)e->index);
		return;
	}
	svc->applying = true;
	if (w)
		op_methods[op].on_message(call, msg, len, svc);
	else
		grpc_local_deliver(call, msg, len);
	svc->applying = false;
}

void svcr_applied(void *ctx, uint64_t index)
{
	struct svc_raft *sr = ctx;

	sr->applied = index;
	svc_wal_set_applied(sr->svc, index);
	if (sr->reads)
		svcr_run_reads(sr, NULL);
}

void svcr_role(void *ctx, enum raft_role r, uint64_t lead, uint64_t term)
{
	struct svc_raft *sr = ctx;

	/* what waits went to the old leader, which may be gone: the clients hear it now
	 * rather than at their deadline (the write may still be applied, as with etcd) */
	if (lead != sr->lead && sr->lead && sr->waiting)
		svcr_fail_waiters(sr, GRPC_UNAVAILABLE, "etcdserver: leader changed");
	if (lead != sr->lead && sr->lead && sr->reads)
		svcr_run_reads(sr, "etcdserver: leader changed");
	sr->lead = lead;

	sr->svc->raft_term = term;
	if (r == RAFT_LEADER)
		log_info("kv: raft: %s leads, term %llu", sr->svc->name, (unsigned long long)term);
	else if (lead)
		log_debug("kv: raft: member %016llx leads, term %llu", (unsigned long long)lead,
			  (unsigned long long)term);
	svc_lease_leader(sr->svc, r == RAFT_LEADER);
}
