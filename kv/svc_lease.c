/* etcdserverpb.Lease over the lease core (kv/lease.c): Grant, Revoke (a lease's keys go in
 * one store transaction, so at one revision), the KeepAlive stream, TimeToLive, Leases;
 * the timer that revokes expired leases; and the leases' side of KV writes: a put checks
 * its lease and attaches the key, a put elsewhere or a delete detaches it. Inside a Txn the
 * detaches wait for the end of the store transaction (svc_lease_settle), so an aborted
 * Txn leaves every lease holding exactly the keys the store says it holds. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "../lib/log.h"
#include "svc_int.h"

#define EXPIRE_BATCH 64		/* leases revoked per timer run; more re-arm at once */
#define EXPIRY_PROPOSED_MS 500	/* a proposed revoke's time to be applied */
#define RETRY_MS 1000		/* after a revoke that failed (out of memory) */

/* A key a Txn took from a lease, or attached to one, to check when the Txn ends. */
struct pend {
	int64_t lease;
	uint8_t *key;
	size_t len;
};

struct svc_lease {
	struct ev_loop *loop;	/* NULL until kv_service_set_loop: no expiry timer */
	long timer;		/* 0: none armed */
	uint64_t timer_at;
	struct pend *pend;
	size_t npend, cappend;
};

static uint64_t seed(void)
{
	uint64_t s;
	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) == (ssize_t)sizeof(s))
		return s;
	return ev_now_ms() ^ ((uint64_t)getpid() << 32);	/* ids need not be secret */
}

int svc_lease_init(struct kv_service *svc, const struct kv_opts *o)
{
	svc->lease = calloc(1, sizeof(*svc->lease));
	if (!svc->lease || lease_set_new(NULL, seed(), lease_min_ttl(o->heartbeat_ms,
								     o->election_ms),
					 &svc->leases) < 0) {
		free(svc->lease);
		svc->lease = NULL;
		return -ENOMEM;
	}
	return 0;
}

void svc_lease_cleanup(struct kv_service *svc)
{
	struct svc_lease *sl = svc->lease;
	if (sl) {
		if (sl->timer)
			ev_cancel(sl->loop, sl->timer);
		for (size_t i = 0; i < sl->npend; i++)
			free(sl->pend[i].key);
		free(sl->pend);
		free(sl);
	}
	lease_set_free(svc->leases);
	svc->lease = NULL;
	svc->leases = NULL;
}

/* ---- keys: the store decides which lease a key carries ---------------------------------- */

/* True if key carries lease id in the store (in the open transaction's view, if any). */
static bool carries(struct kv_service *svc, const uint8_t *key, size_t len, int64_t id)
{
	struct mvcc_compare c = { .result = MVCC_CMP_EQUAL, .target = MVCC_TARGET_LEASE,
				  .key = { key, len }, .number = id };
	return len && mvcc_txn_compare(svc->store, &c);
}

/* Detaches key from lease id unless the store says it still carries it. */
static void settle_one(struct kv_service *svc, const uint8_t *key, size_t len, int64_t id)
{
	if (id && !carries(svc, key, len, id))
		lease_detach(svc->leases, id, key, len);
}

static int pend_add(struct kv_service *svc, struct pb_bytes key, int64_t id)
{
	struct svc_lease *sl = svc->lease;
	if (sl->npend == sl->cappend) {
		size_t cap = sl->cappend ? sl->cappend * 2 : 8;
		struct pend *p = realloc(sl->pend, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		sl->pend = p;
		sl->cappend = cap;
	}
	/* a copy: the store frees what an aborted Txn created, key bytes included */
	uint8_t *k = malloc(key.len ? key.len : 1);
	if (!k)
		return -ENOMEM;
	if (key.len)
		memcpy(k, key.p, key.len);
	sl->pend[sl->npend++] = (struct pend){ .lease = id, .key = k, .len = key.len };
	return 0;
}

bool svc_lease_any(const struct kv_service *svc)
{
	return lease_count(svc->leases) > 0;
}

int svc_lease_put(struct kv_service *svc, bool in_txn, const struct kvm_put_request *p)
{
	if (!p->lease || p->ignore_lease)
		return 0;
	/* etcd's own request checks come first: let the store give those errors */
	if (!p->key.len || (p->ignore_value && p->value.len))
		return 0;
	if (!lease_exists(svc->leases, p->lease))
		return -ENOENT;
	if (in_txn && pend_add(svc, p->key, p->lease) < 0)
		return -ENOMEM;
	int rc = lease_attach(svc->leases, p->lease, p->key.p, p->key.len);
	return rc == -EINVAL ? MVCC_EARG : rc;
}

/* A key left lease id (or a failed put attached it in vain): outside a Txn, detach now
 * if the store agrees; inside, remember it for svc_lease_settle. */
static int release(struct kv_service *svc, bool in_txn, struct pb_bytes key, int64_t id)
{
	if (in_txn)
		return pend_add(svc, key, id);
	settle_one(svc, key.p, key.len, id);
	return 0;
}

int svc_lease_put_done(struct kv_service *svc, bool in_txn, const struct kvm_put_request *p,
		       int rc, const struct mvcc_put_res *res)
{
	if (rc < 0) {
		if (!in_txn && p->lease && !p->ignore_lease)
			release(svc, false, p->key, p->lease);
		return rc;
	}
	int64_t old = res->has_prev ? res->prev.lease : 0;
	if (!old || p->ignore_lease || old == p->lease)
		return 0;
	return release(svc, in_txn, p->key, old);
}

int svc_lease_deleted(struct kv_service *svc, bool in_txn, const struct mvcc_kv *kvs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!kvs[i].lease)
			continue;
		int rc = release(svc, in_txn, (struct pb_bytes){ kvs[i].key.p, kvs[i].key.len },
				 kvs[i].lease);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void svc_lease_settle(struct kv_service *svc)
{
	struct svc_lease *sl = svc->lease;
	for (size_t i = 0; i < sl->npend; i++) {
		settle_one(svc, sl->pend[i].key, sl->pend[i].len, sl->pend[i].lease);
		free(sl->pend[i].key);
	}
	sl->npend = 0;
	if (sl->cappend > 64) {	/* a huge Txn does not keep its queue */
		free(sl->pend);
		sl->pend = NULL;
		sl->cappend = 0;
	}
}

/* ---- revoke and expiry ------------------------------------------------------------------ */

static void on_timer(struct ev_loop *loop, void *arg);

/* Arms the timer for the next expiry (not before now + min_ms). */
static void arm(struct kv_service *svc, uint64_t now, uint64_t min_ms)
{
	struct svc_lease *sl = svc->lease;
	if (!sl->loop)
		return;
	uint64_t at = lease_next_expiry(svc->leases);
	if (at != UINT64_MAX && at < now + min_ms)
		at = now + min_ms;
	if (sl->timer && sl->timer_at == at)
		return;
	if (sl->timer)
		ev_cancel(sl->loop, sl->timer);
	sl->timer = 0;
	if (at == UINT64_MAX)
		return;
	long t = ev_timer(sl->loop, at > now ? at - now : 0, on_timer, svc);
	if (t < 0) {
		log_warnx("kv: lease expiry timer: out of memory (retried at the next lease call)");
		return;
	}
	sl->timer = t;
	sl->timer_at = at;
}

struct revoke_walk {
	struct kv_service *svc;
	int64_t id;
};

static int delete_key(void *ctx, const uint8_t *key, size_t len)
{
	struct revoke_walk *w = ctx;
	if (!carries(w->svc, key, len, w->id))
		return 0;
	struct mvcc_delete_req d = { .key = { key, len } };
	struct mvcc_delete_res r = { 0 };
	int rc = mvcc_txn_delete(w->svc->store, &d, &r);
	mvcc_delete_res_free(w->svc->store, &r);
	return rc < 0 ? rc : 0;
}

static int revoke_lease(struct kv_service *svc, int64_t id)
{
	if (!lease_exists(svc->leases, id))
		return LEASE_ENOTFOUND;
	struct revoke_walk w = { svc, id };
	int rc = mvcc_txn_begin(svc->store);
	if (rc < 0)
		return rc;
	/* the lease's keys in key order, as etcd deletes them: one revision, one event each */
	rc = lease_keys(svc->leases, id, delete_key, &w);
	if (rc < 0) {
		mvcc_txn_abort(svc->store);
		return rc;
	}
	mvcc_txn_end(svc->store);
	lease_remove(svc->leases, id);
	if (svc->lease_hook)
		svc->lease_hook(svc->lease_hook_ctx, id, 0);
	return 0;
}

/* Revokes the leases due at now. Returns 0, 1 if more are due, or a negative code. */
static int expire(struct kv_service *svc, uint64_t now)
{
	int64_t ids[EXPIRE_BATCH];
	size_t n = lease_expired(svc->leases, now, ids, EXPIRE_BATCH);
	for (size_t i = 0; i < n; i++) {
		int rc = revoke_lease(svc, ids[i]);
		if (rc < 0) {
			log_warnx("kv: lease %016llx expired but its keys stay for now: %s",
				  (unsigned long long)ids[i], rc == -ENOMEM ? "out of memory" :
				  mvcc_strerror(rc));
			return rc;
		}
	}
	return n == EXPIRE_BATCH;
}

/* With Raft, the leader proposes the revokes of the leases due; they go when applied. */
static void propose_expiry(struct kv_service *svc, uint64_t now)
{
	int64_t ids[EXPIRE_BATCH];
	size_t n = lease_expired(svc->leases, now, ids, EXPIRE_BATCH);

	for (size_t i = 0; i < n; i++)
		svc_raft_expire(svc, ids[i]);
	/* not again before they had the time to be applied */
	arm(svc, now, n ? EXPIRY_PROPOSED_MS : 0);
}

static void on_timer(struct ev_loop *loop, void *arg)
{
	struct kv_service *svc = arg;
	(void)loop;
	svc->lease->timer = 0;
	uint64_t now = ev_now_ms();
	if (svc->raft) {
		if (svc_raft_leader(svc))
			propose_expiry(svc, now);
		return;
	}
	int rc = expire(svc, now);
	arm(svc, now, rc < 0 ? RETRY_MS : 0);
}

/* Before a lease request: what is due goes first, so no answer shows an expired lease.
 * With Raft, expiry is the leader's proposal, never a side effect of applying an entry. */
static uint64_t due(struct kv_service *svc)
{
	uint64_t now = ev_now_ms();
	if (svc->raft)
		return now;
	if (lease_next_expiry(svc->leases) <= now) {
		int rc;
		while ((rc = expire(svc, now)) == 1)
			;
		arm(svc, now, rc < 0 ? RETRY_MS : 0);
	}
	return now;
}

void svc_lease_leader(struct kv_service *svc, bool leader)
{
	struct svc_lease *sl = svc->lease;
	size_t n = lease_count(svc->leases);
	uint64_t now = ev_now_ms();

	if (!leader) {
		if (sl->timer)
			ev_cancel(sl->loop, sl->timer);
		sl->timer = 0;
		return;
	}
	/* the old leader's renewals were never seen here: every lease gets its TTL again */
	struct lease_info *v = n ? calloc(n, sizeof(*v)) : NULL;
	if (v) {
		n = lease_list(svc->leases, now, v);
		for (size_t i = 0; i < n; i++)
			lease_renew(svc->leases, v[i].id, now, NULL);
		free(v);
	}
	arm(svc, now, 0);
}

void kv_service_set_loop(struct kv_service *svc, struct ev_loop *loop)
{
	svc->lease->loop = loop;
	arm(svc, ev_now_ms(), 0);	/* leases restored before serving */
}

/* ---- recovery --------------------------------------------------------------------------- */

int svc_lease_restore(struct kv_service *svc, int64_t id, int64_t ttl)
{
	if (!id)
		return LEASE_ENOTFOUND;
	int rc = lease_grant(svc->leases, id, ttl, ev_now_ms(), NULL);
	if (rc == 0)
		arm(svc, ev_now_ms(), 0);
	return rc;
}

long svc_lease_reattach(struct kv_service *svc)
{
	struct mvcc_range_req q = { .key = { (const uint8_t *)"", 1 },
				    .range_end = { (const uint8_t *)"", 1 } };
	struct mvcc_range_res r = { 0 };
	long orphans = 0;
	int rc = mvcc_range(svc->store, &q, &r);
	for (size_t i = 0; rc == 0 && i < r.n; i++) {
		if (!r.kvs[i].lease)
			continue;
		rc = lease_attach(svc->leases, r.kvs[i].lease, r.kvs[i].key.p, r.kvs[i].key.len);
		if (rc == LEASE_ENOTFOUND) {
			orphans++;
			rc = 0;
		}
	}
	mvcc_range_res_free(svc->store, &r);
	return rc < 0 ? rc : orphans;
}

/* ---- the methods ----------------------------------------------------------------------- */

static void fail(struct grpc_call *call, int rc)
{
	switch (rc) {
	case LEASE_ENOTFOUND:
		grpc_finish(call, GRPC_NOT_FOUND, lease_strerror(rc));
		break;
	case LEASE_EEXIST:
		grpc_finish(call, GRPC_FAILED_PRECONDITION, lease_strerror(rc));
		break;
	case LEASE_ETOOLARGE:
		grpc_finish(call, GRPC_OUT_OF_RANGE, lease_strerror(rc));
		break;
	default:
		svc_fail_mvcc(call, rc);
		break;
	}
}

void svc_lease_grant(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	struct kv_service *svc = ctx;
	struct pb_arena a;
	struct kvm_lease_grant_request req;
	svc_arena_init(&a);
	/* with the NOSPACE alarm raised, etcd refuses grants as it refuses puts */
	if (svc_decode(call, KVM_LEASE_GRANT_REQUEST, msg, len, &req, &a) == 0 &&
	    !svc_refuse_put(svc, call, SVC_COST_LEASE)) {
		uint64_t now = due(svc);
		struct lease_info li;
		int rc = lease_grant(svc->leases, req.id, req.ttl, now, &li);
		if (rc < 0) {
			fail(call, rc);
		} else {
			if (svc->lease_hook)
				svc->lease_hook(svc->lease_hook_ctx, li.id, li.ttl);
			arm(svc, now, 0);
			struct kvm_header h = svc_header(svc, 0);
			struct kvm_lease_grant_response res = { .header = &h, .id = li.id,
								.ttl = li.ttl };
			svc_reply(call, KVM_LEASE_GRANT_RESPONSE, &res);
		}
	}
	pb_arena_free(&a);
}

void svc_lease_revoke(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	struct kv_service *svc = ctx;
	struct pb_arena a;
	struct kvm_lease_id_request req;
	svc_arena_init(&a);
	if (svc_decode(call, KVM_LEASE_ID_REQUEST, msg, len, &req, &a) == 0) {
		uint64_t now = due(svc);
		int rc = revoke_lease(svc, req.id);
		if (rc < 0) {
			fail(call, rc);
		} else {
			arm(svc, now, 0);
			struct kvm_header h = svc_header(svc, 0);
			struct kvm_header_response res = { .header = &h };
			svc_reply(call, KVM_HEADER_RESPONSE, &res);
		}
	}
	pb_arena_free(&a);
}

/* One answer on the KeepAlive stream, which stays open: an unknown (or expired) lease gets
 * TTL 0, as etcd answers it, and the client decides. */
int64_t svc_lease_renew(struct kv_service *svc, int64_t id)
{
	uint64_t now = due(svc);
	int64_t ttl = 0;
	struct lease_info li;
	/* with Raft an expired lease waits for its revoke: it is not renewed */
	bool expired = svc->raft && lease_get(svc->leases, id, now, &li) == 0 &&
		       li.expiry_ms <= now;

	if (!expired && lease_renew(svc->leases, id, now, &ttl) == 0)
		arm(svc, now, 0);
	return ttl;
}

int svc_lease_keepalive_reply(struct grpc_call *call, struct kv_service *svc, int64_t id,
			      int64_t ttl)
{
	int finished = 0;
	struct kvm_header h = svc_header(svc, 0);
	struct kvm_lease_keepalive_response res = { .header = &h, .id = id, .ttl = ttl };
	struct pb_buf b;

	pb_buf_init(&b, NULL);
	if (kvm_encode(&b, KVM_LEASE_KEEPALIVE_RESPONSE, &res) < 0 ||
	    grpc_send(call, b.data, b.len) == -ENOMEM) {
		grpc_finish(call, GRPC_RESOURCE_EXHAUSTED, "etcdserver: out of memory");
		finished = 1;
	}
	pb_buf_free(&b);
	return finished;
}

void svc_lease_keepalive(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	struct kv_service *svc = ctx;
	struct pb_arena a;
	struct kvm_lease_id_request req;
	svc_arena_init(&a);
	if (svc_decode(call, KVM_LEASE_ID_REQUEST, msg, len, &req, &a) == 0)
		svc_lease_keepalive_reply(call, svc, req.id, svc_lease_renew(svc, req.id));
	pb_arena_free(&a);
}

void svc_lease_keepalive_end(struct grpc_call *call, void *ctx)
{
	(void)ctx;
	grpc_finish(call, GRPC_OK, NULL);
}

struct keys_fill {
	struct kv_service *svc;
	int64_t id;
	struct pb_bytes *keys;
	size_t n, max;
};

static int fill_key(void *ctx, const uint8_t *key, size_t len)
{
	struct keys_fill *f = ctx;
	if (f->n < f->max && carries(f->svc, key, len, f->id))
		f->keys[f->n++] = (struct pb_bytes){ key, len };
	return 0;
}

void svc_lease_ttl(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	struct kv_service *svc = ctx;
	struct pb_arena a;
	struct kvm_lease_ttl_request req;
	svc_arena_init(&a);
	if (svc_decode(call, KVM_LEASE_TTL_REQUEST, msg, len, &req, &a) < 0)
		goto out;
	uint64_t now = due(svc);
	struct lease_info li;
	struct kvm_header h = svc_header(svc, 0);
	/* etcd answers an unknown lease with TTL -1 rather than an error */
	struct kvm_lease_ttl_response res = { .header = &h, .id = req.id, .ttl = -1 };
	if (lease_get(svc->leases, req.id, now, &li) == 0) {
		res.ttl = li.remaining;
		res.granted_ttl = li.ttl;
		struct keys_fill f = { svc, req.id, NULL, 0, li.keys };
		if (req.keys && li.keys) {
			f.keys = pb_arena_array(&a, li.keys, sizeof(*f.keys));
			if (!f.keys) {
				svc_fail_mvcc(call, -ENOMEM);
				goto out;
			}
			lease_keys(svc->leases, req.id, fill_key, &f);
		}
		res.keys = f.keys;
		res.n_keys = f.n;
	}
	svc_reply(call, KVM_LEASE_TTL_RESPONSE, &res);
out:
	pb_arena_free(&a);
}

void svc_lease_leases(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	struct kv_service *svc = ctx;
	struct pb_arena a;
	struct kvm_empty req;
	svc_arena_init(&a);
	if (svc_decode(call, KVM_EMPTY, msg, len, &req, &a) < 0)
		goto out;
	uint64_t now = due(svc);
	size_t n = lease_count(svc->leases);
	struct lease_info *li = n ? pb_arena_array(&a, n, sizeof(*li)) : NULL;
	int64_t *ids = n ? pb_arena_array(&a, n, sizeof(*ids)) : NULL;
	if (n && (!li || !ids)) {
		svc_fail_mvcc(call, -ENOMEM);
		goto out;
	}
	lease_list(svc->leases, now, li);
	for (size_t i = 0; i < n; i++)
		ids[i] = li[i].id;
	struct kvm_header h = svc_header(svc, 0);
	struct kvm_lease_leases_response res = { .header = &h, .leases = ids, .n_leases = n };
	svc_reply(call, KVM_LEASE_LEASES_RESPONSE, &res);
out:
	pb_arena_free(&a);
}
