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
#include "node.h"
#include "peer.h"
#include "tport.h"
#include "svc_int.h"

#define ENTRY_HEAD 20
#define BUCKETS 1024
#define WAIT_MS 7000		/* etcd's request timeout: 5 s + 2 election timeouts */
#define SWEEP_MS 500

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

/* A client waiting for its entry to be applied. */
struct waiter {
	struct waiter *next;
	struct svc_raft *sr;
	struct grpc_call *call;
	uint64_t seq, deadline;
	enum svc_answer answer;
};

struct svc_raft {
	struct kv_service *svc;
	struct kv_node *node;
	struct ev_loop *loop;
	uint64_t seq;
	struct waiter *bucket[BUCKETS];
	size_t waiting;
	struct reader *reads;		/* linearizable reads, newest first */
	uint64_t read_round;		/* the last ReadIndex asked (its ctx) */
	bool read_asked;		/* reads without a round wait for the next */
	long sweep_timer;
	long retry_timer;
	struct peer_net *net;		/* NULL: a member on its own, no peer port */
	struct tport_tls *tls_in, *tls_out;	/* --peer-* TLS (NULL: plain) */
	bool published;			/* the table has this member's client URLs */
	int err;			/* the Raft log cannot be written */
	uint64_t lead;			/* the leader as last known */
	uint64_t applied;
};

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* A linearizable read: the request (copied), then the index it may run at once that is
 * applied (0 until the leader said). */
struct reader {
	struct reader *next;
	struct svc_raft *sr;
	struct grpc_call *call;
	uint64_t round, index, deadline;
	void (*run)(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx);
	size_t len;
	uint8_t msg[];
};

/* ---- waiting clients --------------------------------------------------------------------- */

static struct waiter **slot_of(struct svc_raft *sr, uint64_t seq)
{
	struct waiter **p = &sr->bucket[seq % BUCKETS];
	while (*p && (*p)->seq != seq)
		p = &(*p)->next;
	return p;
}

static struct waiter *take(struct svc_raft *sr, uint64_t seq)
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
	take(w->sr, w->seq);
	free(w);
}

static struct waiter *waiter_new(struct svc_raft *sr, struct grpc_call *call,
				 enum svc_answer answer)
{
	struct waiter *w = calloc(1, sizeof(*w));

	if (w)
		*w = (struct waiter){.sr = sr, .call = call, .seq = ++sr->seq, .answer = answer,
				     .deadline = ev_now_ms() + WAIT_MS};
	return w;
}

static void waiter_add(struct svc_raft *sr, struct waiter *w)
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
static void waiter_fail(struct waiter *w, enum grpc_status st, const char *why)
{
	if (w->answer != SVC_ANSWER_KEEPALIVE) {
		grpc_call_defer(w->call, NULL, NULL);
		grpc_finish(w->call, st, why);
	}
	free(w);
}


static void publish(struct svc_raft *sr);
static void run_reads(struct svc_raft *sr, const char *why);
static size_t keepalives(struct svc_raft *sr, struct grpc_call *call, bool forget);

/* Fails the waiters whose entries did not come back in time (lost with a leader). */
static void sweep(struct ev_loop *loop, void *arg)
{
	struct svc_raft *sr = arg;
	uint64_t now = ev_now_ms();
	long id = ev_timer(loop, SWEEP_MS, sweep, sr);

	sr->sweep_timer = id > 0 ? id : 0;
	publish(sr);
	if (sr->reads)
		run_reads(sr, NULL);
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
			waiter_fail(w, GRPC_UNAVAILABLE, "etcdserver: request timed out");
		}
	}
}

/* ---- proposing --------------------------------------------------------------------------- */

static void fail_propose(struct grpc_call *call, int rc)
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
		w = waiter_new(sr, call, SVC_ANSWER_WRITE);
	if (e && (w || !call)) {
		memset(e, 0, ENTRY_HEAD);
		e[0] = 1;
		e[1] = (uint8_t)op;
		put64(e + 4, svc->member_id);
		put64(e + 12, w ? w->seq : 0);
		if (len)
			memcpy(e + ENTRY_HEAD, msg, len);
		rc = node_propose(sr->node, RAFT_ENTRY_NORMAL, e, ENTRY_HEAD + len);
	}
	free(e);
	if (rc < 0) {
		free(w);
		if (call)
			fail_propose(call, rc);
		return;
	}
	if (w)
		waiter_add(sr, w);
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
		keepalives(sr, call, true);	/* the stream is over */
	} else {
		uint8_t e[ENTRY_HEAD + 8];
		int rc = -ENOMEM;
		if ((w = waiter_new(sr, call, SVC_ANSWER_KEEPALIVE))) {
			memset(e, 0, ENTRY_HEAD);
			e[0] = 1;
			e[1] = OP_LEASE_RENEW;
			put64(e + 4, svc->member_id);
			put64(e + 12, w->seq);
			put64(e + ENTRY_HEAD, (uint64_t)req.id);
			rc = node_propose(sr->node, RAFT_ENTRY_NORMAL, e, sizeof(e));
		}
		if (rc < 0) {
			free(w);
			/* no answer: the client's next keepalive tries again */
		} else {
			waiter_add(sr, w);
		}
	}
	pb_arena_free(&a);
}

/* The keepalives of call still waiting; forgets them when forget is set. */
static size_t keepalives(struct svc_raft *sr, struct grpc_call *call, bool forget)
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
	keepalives(svc->raft, call, true);
}

/* The client is done sending: the stream ends once the keepalives still waiting are
 * answered (python-etcd3 sends one and half-closes). */
static int half_closed;

void svc_raft_keepalive_end(struct grpc_call *call, void *ctx)
{
	struct kv_service *svc = ctx;

	if (keepalives(svc->raft, call, false)) {
		grpc_call_set_data(call, &half_closed);
		return;
	}
	svc_lease_keepalive_end(call, ctx);
}

/* An applied renewal: every member renews; the one asked answers on the stream. */
static void apply_renew(struct svc_raft *sr, const uint8_t *msg, size_t len, struct waiter *w)
{
	int64_t id = len == 8 ? (int64_t)get64(msg) : 0;
	int64_t ttl = svc_lease_renew(sr->svc, id);

	if (w) {
		struct grpc_call *call = w->call;
		free(w);
		if (svc_lease_keepalive_reply(call, sr->svc, id, ttl))
			keepalives(sr, call, true);	/* finished: the others too */
		else if (grpc_call_data(call) == &half_closed && !keepalives(sr, call, false))
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
static void run_reads(struct svc_raft *sr, const char *why)
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
static void ask_reads(struct svc_raft *sr)
{
	if (sr->read_asked || !sr->reads)
		return;
	uint64_t round = sr->read_round + 1;
	int rc = node_read_index(sr->node, round);
	if (rc < 0) {
		run_reads(sr, rc == -EAGAIN ? "etcdserver: no leader" : "etcdserver: out of memory");
		return;
	}
	sr->read_round = round;
	for (struct reader *r = sr->reads; r && !r->round; r = r->next)
		r->round = round;
	sr->read_asked = true;
}

static void read_answered(void *ctx, uint64_t index, uint64_t round)
{
	struct svc_raft *sr = ctx;

	/* a round answers the reads of that round and of the rounds before it */
	for (struct reader *r = sr->reads; r; r = r->next)
		if (r->round && r->round <= round && !r->index)
			r->index = index;
	run_reads(sr, NULL);
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

static void apply(void *ctx, const struct raft_entry *e)
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
	uint64_t origin = get64(e->data + 4), seq = get64(e->data + 12);
	const uint8_t *msg = e->data + ENTRY_HEAD;
	size_t len = e->len - ENTRY_HEAD;
	struct waiter *w = origin == svc->member_id && seq ? take(sr, seq) : NULL;
	struct grpc_call *call;

	/* a waiter of another kind is not this entry's client (numbers of an earlier life) */
	if (w && (w->answer == SVC_ANSWER_KEEPALIVE) != (op == OP_LEASE_RENEW)) {
		waiter_fail(w, GRPC_UNAVAILABLE, "etcdserver: request timed out");
		w = NULL;
	}
	if (op == OP_LEASE_RENEW) {
		apply_renew(sr, msg, len, w);
		return;
	}

	if (w && w->answer != SVC_ANSWER_WRITE) {
		waiter_fail(w, GRPC_UNAVAILABLE, "etcdserver: request timed out");
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

static void applied(void *ctx, uint64_t index)
{
	struct svc_raft *sr = ctx;

	sr->applied = index;
	svc_wal_set_applied(sr->svc, index);
	if (sr->reads)
		run_reads(sr, NULL);
}

static void fail_waiters(struct svc_raft *sr, enum grpc_status st, const char *why);

static void role(void *ctx, enum raft_role r, uint64_t lead, uint64_t term)
{
	struct svc_raft *sr = ctx;

	/* what waits went to the old leader, which may be gone: the clients hear it now
	 * rather than at their deadline (the write may still be applied, as with etcd) */
	if (lead != sr->lead && sr->lead && sr->waiting)
		fail_waiters(sr, GRPC_UNAVAILABLE, "etcdserver: leader changed");
	if (lead != sr->lead && sr->lead && sr->reads)
		run_reads(sr, "etcdserver: leader changed");
	sr->lead = lead;

	sr->svc->raft_term = term;
	if (r == RAFT_LEADER)
		log_info("kv: raft: %s leads, term %llu", sr->svc->name, (unsigned long long)term);
	else if (lead)
		log_debug("kv: raft: member %016llx leads, term %llu", (unsigned long long)lead,
			  (unsigned long long)term);
	svc_lease_leader(sr->svc, r == RAFT_LEADER);
}

/* ---- peers ------------------------------------------------------------------------------ */

static void send_msg(void *ctx, const struct raft_msg *m)
{
	struct svc_raft *sr = ctx;

	/* A snapshot travels with the store's state, which is not sent yet: a MsgSnap
	 * alone would make the follower skip entries it never applied. The leader hears
	 * the sending failed, and the follower stays behind (see node.c's compaction). */
	if (m->type == RAFT_MSG_SNAP) {
		node_report(sr->node, m->to, true);
		return;
	}
	if (!sr->net || peer_net_send(sr->net, m) < 0)
		node_report(sr->node, m->to, false);
}

static void recv_msg(void *ctx, const struct raft_msg *m)
{
	struct svc_raft *sr = ctx;

	if (m->type == RAFT_MSG_SNAP) {	/* without the state it covers: see send_msg */
		log_warnx("kv: raft: a snapshot from %016llx without its data: dropped",
			  (unsigned long long)m->from);
		return;
	}
	int rc = node_step(sr->node, m);

	if (rc == -EINVAL)
		log_debug("kv: raft: a malformed %s from %016llx dropped", raft_msg_name(m->type),
			  (unsigned long long)m->from);
}

static void peer_down(void *ctx, uint64_t id)
{
	struct svc_raft *sr = ctx;
	node_report(sr->node, id, false);
}

/* A member's own connection here ended: if it led, it is most likely gone. */
static void peer_gone(void *ctx, uint64_t id)
{
	struct svc_raft *sr = ctx;
	if (sr->node)
		node_peer_gone(sr->node, id);
}

/* host and port of the first URL of a comma-separated list. */
static int first_url(const char *list, struct kv_url *u)
{
	char why[200];
	struct kv_url urls[KV_URLS_MAX];
	int n = kv_parse_urls(list, urls, KV_URLS_MAX, why, sizeof(why));
	if (n < 1)
		return -EINVAL;
	*u = urls[0];
	return 0;
}

void svc_raft_members_changed(struct kv_service *svc, enum raft_conf_op op, uint64_t id)
{
	struct svc_raft *sr = svc->raft;
	struct svc_member *m = svc_member_find(svc, id);
	struct kv_url u;

	if (!sr || !sr->net || id == svc->member_id)
		return;
	if (op == RAFT_CONF_REMOVE || !m)
		peer_net_remove(sr->net, id);
	else if (first_url(m->peer_urls, &u) == 0)
		peer_net_set(sr->net, id, u.host, u.port);
}

/* This member's client URLs go into the table through Raft (etcd's publish). */
static void publish(struct svc_raft *sr)
{
	struct kv_service *svc = sr->svc;
	struct svc_member *me = svc_member_find(svc, svc->member_id), m;
	uint8_t buf[SVC_MEMBER_MAX];
	size_t n;

	if (sr->published || !me)
		return;
	if (strcmp(me->client_urls, svc->client_urls) == 0 && strcmp(me->name, svc->name) == 0) {
		sr->published = true;
		return;
	}
	if (!node_leader(sr->node))
		return;
	m = *me;
	snprintf(m.name, sizeof(m.name), "%s", svc->name);
	snprintf(m.client_urls, sizeof(m.client_urls), "%s", svc->client_urls);
	if ((n = svc_member_encode(buf, sizeof(buf), RAFT_CONF_UPDATE, &m, 0, 0)))
		node_propose(sr->node, RAFT_ENTRY_CONF, buf, n);	/* again if it is lost */
}

/* ---- membership ------------------------------------------------------------------------- */

void svc_raft_propose_conf(struct kv_service *svc, struct grpc_call *call,
			   enum raft_conf_op op, const struct svc_member *m, enum svc_answer answer)
{
	struct svc_raft *sr = svc->raft;
	uint8_t buf[SVC_MEMBER_MAX];
	struct waiter *w;
	size_t n;
	int rc;

	if (!sr) {
		grpc_finish(call, GRPC_FAILED_PRECONDITION, "etcdserver: this member runs alone");
		return;
	}
	if (!(w = waiter_new(sr, call, answer))) {
		grpc_finish(call, GRPC_RESOURCE_EXHAUSTED, "etcdserver: out of memory");
		return;
	}
	n = svc_member_encode(buf, sizeof(buf), op, m, svc->member_id, w->seq);
	if ((rc = node_propose(sr->node, RAFT_ENTRY_CONF, buf, n)) < 0) {
		free(w);
		if (rc == -EBUSY)	/* etcd's text for a change while another is pending */
			grpc_finish(call, GRPC_FAILED_PRECONDITION,
				    "etcdserver: unhealthy cluster");
		else
			fail_propose(call, rc);
		return;
	}
	waiter_add(sr, w);
}

void svc_raft_conf_applied(struct kv_service *svc, uint64_t origin, uint64_t seq, uint64_t id)
{
	struct svc_raft *sr = svc->raft;
	struct waiter *w;

	if (!sr || origin != svc->member_id || !seq || !(w = take(sr, seq)))
		return;
	if (w->answer != SVC_ANSWER_MEMBER_ADD && w->answer != SVC_ANSWER_MEMBERS) {
		waiter_fail(w, GRPC_UNAVAILABLE, "etcdserver: request timed out");
		return;
	}
	grpc_call_defer(w->call, NULL, NULL);
	svc_cluster_answer(svc, w->call, w->answer, id);
	free(w);
}

int svc_raft_transfer(struct kv_service *svc, uint64_t id)
{
	return svc->raft ? node_transfer(svc->raft->node, id) : -EINVAL;
}

bool svc_raft_progress(const struct kv_service *svc, uint64_t id, uint64_t *match,
		       uint64_t *commit)
{
	struct raft_status st;

	if (!svc->raft)
		return false;
	node_status(svc->raft->node, &st);
	if (st.role != RAFT_LEADER)
		return false;
	*commit = st.commit;
	for (uint32_t i = 0; i < st.conf.n; i++)
		if (st.conf.id[i] == id) {
			*match = st.pr[i].match;
			return true;
		}
	return false;
}

/* ---- life cycle -------------------------------------------------------------------------- */

static int start_net(struct svc_raft *sr, struct ev_loop *loop, const struct kv_opts *o,
		     char *err, size_t errlen)
{
	struct kv_service *svc = sr->svc;
	struct kv_url urls[KV_URLS_MAX];
	char why[200];
	int n = kv_parse_urls(o->listen_peer, urls, KV_URLS_MAX, why, sizeof(why)), rc;

	if (n < 0) {
		snprintf(err, errlen, "--listen-peer-urls: %s", why);
		return -EINVAL;
	}
	if ((rc = peer_net_new(loop, svc->cluster_id, svc->member_id, recv_msg, peer_down, sr,
			       &sr->net)) < 0) {
		snprintf(err, errlen, "out of memory");
		return rc;
	}
	peer_net_on_gone(sr->net, peer_gone);
	bool tls = false;
	for (int i = 0; i < n; i++)
		tls = tls || urls[i].tls;
	if (tls || o->peer_cert_file[0]) {
		struct tport_tls_opts in = {
			.cert_file = o->peer_cert_file, .key_file = o->peer_key_file,
			.ca_file = o->peer_trusted_ca_file,
			.client_cert_auth = o->peer_client_cert_auth, .flag_prefix = "peer-",
		}, out = in;
		out.client = 1;
		out.client_cert_auth = 0;
		if (!o->peer_cert_file[0] || !o->peer_key_file[0]) {
			snprintf(err, errlen, "--listen-peer-urls: https:// needs --peer-cert-file "
				 "and --peer-key-file");
			return -EINVAL;
		}
		if ((rc = tport_tls_new(&in, &sr->tls_in, err, errlen)) < 0 ||
		    (rc = tport_tls_new(&out, &sr->tls_out, err, errlen)) < 0)
			return rc;
		peer_net_set_tls(sr->net, sr->tls_in, sr->tls_out);
	}
	for (int i = 0; i < n; i++) {
		int port = peer_net_listen(sr->net, urls[i].host, urls[i].port);
		if (port < 0) {
			snprintf(err, errlen, "listen for peers on %s:%d: %s", urls[i].host,
				 urls[i].port, strerror(-port));
			return port;
		}
		log_info("kv: listening for peers on %s://%s:%d", sr->tls_in ? "https" : "http",
			 urls[i].host, port);
	}
	return 0;
}

/* The members to start a new cluster with: one CONF entry each, in id order, the same on
 * every initial member. */
static int bootstrap(const struct kv_opts *o, struct raft_entry *e, uint8_t (*buf)[SVC_MEMBER_MAX],
		     char *err, size_t errlen)
{
	struct svc_member m[RAFT_MAX_MEMBERS];
	int n = svc_initial_cluster(o, m, RAFT_MAX_MEMBERS, err, errlen);

	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && m[j - 1].id > m[j].id; j--) {
			struct svc_member t = m[j];
			m[j] = m[j - 1];
			m[j - 1] = t;
		}
	for (int i = 0; i < n; i++) {
		e[i] = (struct raft_entry){ .type = RAFT_ENTRY_CONF, .data = buf[i] };
		e[i].len = (uint32_t)svc_member_encode(buf[i], sizeof(buf[i]), RAFT_CONF_ADD_VOTER,
						       &m[i], 0, 0);
	}
	return n;
}

int svc_raft_start(struct kv_service *svc, struct ev_loop *loop, const struct kv_opts *o,
		   const char *dir, char *err, size_t errlen)
{
	struct svc_raft *sr = calloc(1, sizeof(*sr));
	static uint8_t buf[RAFT_MAX_MEMBERS][SVC_MEMBER_MAX];
	struct raft_entry boot[RAFT_MAX_MEMBERS];
	struct node_cbs cb = { .apply = apply, .applied = applied, .role = role,
			       .send = send_msg, .read = read_answered, .ctx = sr };
	int rc, n = 0;
	bool join = strcmp(o->initial_cluster_state, "existing") == 0;

	if (!sr) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	sr->svc = svc;
	sr->loop = loop;
	/* an entry or read round of an earlier life of this member may still come back:
	 * the numbers of this one start past any it used (milliseconds since 1970, << 20) */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	sr->seq = sr->read_round = ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000) << 20;
	sr->applied = svc_wal_applied(svc);
	if (!join && (n = bootstrap(o, boot, buf, err, errlen)) < 0) {
		free(sr);
		return n;
	}
	struct node_opts no = {
		.id = svc->member_id, .heartbeat_ms = o->heartbeat_ms,
		.election_ms = o->election_ms, .applied = svc_wal_applied(svc),
		.bootstrap = boot, .n_bootstrap = (size_t)n, .snapshot_count = o->snapshot_count,
		.seed = ev_now_ms(),
	};
	/* a peer port when there are peers, or when asked for one */
	bool peers = n > 1 || join || strcmp(o->listen_peer, "http://localhost:2380") != 0;
	svc->raft = sr;
	if (peers && (rc = start_net(sr, loop, o, err, errlen)) < 0)
		goto fail;
	if ((rc = node_open(loop, dir, &no, &cb, &sr->node, err, errlen)) < 0)
		goto fail;
	svc_wal_set_lazy(svc);
	for (unsigned i = 0; i < svc->members.n; i++)
		svc_raft_members_changed(svc, RAFT_CONF_ADD_VOTER, svc->members.m[i].id);
	if (sr->net && join && !svc->members.n) {
		/* joining: the members from the flags, until the log says who they are */
		struct svc_member m[RAFT_MAX_MEMBERS];
		struct kv_url u;
		int k = svc_initial_cluster(o, m, RAFT_MAX_MEMBERS, err, errlen);
		for (int i = 0; i < k; i++)
			if (m[i].id != svc->member_id && first_url(m[i].peer_urls, &u) == 0)
				peer_net_set(sr->net, m[i].id, u.host, u.port);
	}
	long id = ev_timer(loop, SWEEP_MS, sweep, sr);
	sr->sweep_timer = id > 0 ? id : 0;
	return 0;
fail:
	peer_net_free(sr->net);
	tport_tls_free(sr->tls_in);
	tport_tls_free(sr->tls_out);
	svc->raft = NULL;
	free(sr);
	return rc;
}

/* The clients waiting now learn that their writes may not be applied (they may be). */
static void fail_waiters(struct svc_raft *sr, enum grpc_status st, const char *why)
{
	for (size_t b = 0; b < BUCKETS; b++)
		while (sr->bucket[b]) {
			struct waiter *w = sr->bucket[b];
			sr->bucket[b] = w->next;
			sr->waiting--;
			waiter_fail(w, st, why);
		}
}

static void process(struct svc_raft *sr, uint64_t durable);

static void retry(struct ev_loop *loop, void *arg)
{
	struct svc_raft *sr = arg;
	(void)loop;
	sr->retry_timer = 0;
	process(sr, svc_wal_durable(sr->svc));
}

/* A Raft log that cannot be written (a full disk): the writes waiting fail, NOSPACE is
 * raised so that new ones are refused, and the log is tried again every second. */
static void process(struct svc_raft *sr, uint64_t durable)
{
	int rc = node_process(sr->node, durable);

	if (rc < 0) {
		if (!sr->err && rc != -ENOMEM)
			svc_wal_raise_nospace(sr->svc);
		char why[200];
		snprintf(why, sizeof(why), "etcdserver: the write could not be made durable (%s);"
			 " it may still be applied", strerror(-rc));
		sr->err = rc;
		fail_waiters(sr, GRPC_UNAVAILABLE, why);
		if (!sr->retry_timer) {
			long id = ev_timer(sr->loop, 1000, retry, sr);
			sr->retry_timer = id > 0 ? id : 0;
		}
		return;
	}
	sr->err = 0;
}

void svc_raft_process(struct kv_service *svc, uint64_t durable)
{
	if (svc->raft)
		ask_reads(svc->raft);
	if (svc->raft && !svc->raft->err)
		process(svc->raft, durable);
}

bool svc_raft_busy(const struct kv_service *svc)
{
	return svc->raft && node_busy(svc->raft->node);
}

void svc_raft_status(const struct kv_service *svc, struct raft_status *st)
{
	memset(st, 0, sizeof(*st));
	if (svc->raft)
		node_status(svc->raft->node, st);
}

void svc_raft_stop(struct kv_service *svc)
{
	struct svc_raft *sr = svc->raft;

	if (!sr)
		return;
	fail_waiters(sr, GRPC_UNAVAILABLE, "etcdserver: server stopped");
	run_reads(sr, "etcdserver: server stopped");
	if (sr->sweep_timer)
		ev_cancel(sr->loop, sr->sweep_timer);
	if (sr->retry_timer)
		ev_cancel(sr->loop, sr->retry_timer);
	node_close(sr->node);
	sr->node = NULL;
	peer_net_free(sr->net);
	tport_tls_free(sr->tls_in);
	tport_tls_free(sr->tls_out);
	svc->raft = NULL;
	free(sr);
}
