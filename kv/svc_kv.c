/* etcdserverpb.KV: Range, Put, DeleteRange, Txn and Compact over the MVCC store, with
 * etcd 3.4's checks and error texts. A Txn decides its whole path (nested compares
 * included) against the state at its start, then runs the ops in one store transaction. */
#include <errno.h>
#include <string.h>

#include "svc_int.h"

#define TXN_PATH_MAX 256	/* nested txns on one chosen path */

static struct mvcc_bytes mb(struct pb_bytes b)
{
	return (struct mvcc_bytes){ b.p, b.len };
}

/* A header holding only the revision: what etcd puts in a Txn's responses. */
static struct kvm_header *rev_header(struct pb_arena *a, int64_t rev)
{
	struct kvm_header *h = pb_arena_alloc(a, sizeof(*h));
	if (h)
		*h = (struct kvm_header){ .revision = rev };
	return h;
}

static struct kvm_kv *kv_array(struct pb_arena *a, const struct mvcc_kv *kvs, size_t n)
{
	struct kvm_kv *out = n ? pb_arena_array(a, n, sizeof(*out)) : NULL;
	for (size_t i = 0; out && i < n; i++)
		out[i] = svc_kv(&kvs[i]);
	return out;
}

static int do_range(struct kv_service *svc, int in_txn, const struct kvm_range_request *r,
		    struct kvm_range_response *out, struct pb_arena *a, int64_t *rev)
{
	struct mvcc_range_req m = {
		.key = mb(r->key), .range_end = mb(r->range_end), .limit = r->limit,
		.revision = r->revision, .sort_order = (enum mvcc_sort_order)r->sort_order,
		.sort_target = (enum mvcc_sort_target)r->sort_target, .keys_only = r->keys_only,
		.count_only = r->count_only, .min_mod_revision = r->min_mod_revision,
		.max_mod_revision = r->max_mod_revision,
		.min_create_revision = r->min_create_revision,
		.max_create_revision = r->max_create_revision,
	};
	struct mvcc_range_res res = { 0 };
	int rc = in_txn ? mvcc_txn_range(svc->store, &m, &res) : mvcc_range(svc->store, &m, &res);
	if (rc < 0)
		return rc;
	memset(out, 0, sizeof(*out));
	out->kvs = kv_array(a, res.kvs, res.n);
	out->n_kvs = res.n;
	out->more = res.more;
	out->count = res.count;
	*rev = res.revision;
	mvcc_range_res_free(svc->store, &res);
	return res.n && !out->kvs ? -ENOMEM : 0;
}

static int do_put(struct kv_service *svc, int in_txn, const struct kvm_put_request *p,
		  struct kvm_put_response *out, struct pb_arena *a, int64_t *rev)
{
	int rc = svc_lease_put(svc, in_txn, p);	/* the lease exists; the key joins it */
	if (rc < 0)
		return rc;
	/* prev always: its lease is the one the key leaves */
	struct mvcc_put_req m = { .key = mb(p->key), .value = mb(p->value), .lease = p->lease,
				  .prev_kv = true, .ignore_value = p->ignore_value,
				  .ignore_lease = p->ignore_lease };
	struct mvcc_put_res res = { 0 };
	rc = in_txn ? mvcc_txn_put(svc->store, &m, &res) : mvcc_put(svc->store, &m, &res);
	if ((rc = svc_lease_put_done(svc, in_txn, p, rc, &res)) < 0)
		return rc;
	memset(out, 0, sizeof(*out));
	if (res.has_prev && p->prev_kv) {
		struct kvm_kv *prev = kv_array(a, &res.prev, 1);
		if (!prev)
			return -ENOMEM;
		out->prev_kv = prev;
	}
	*rev = res.revision;
	return 0;
}

static int do_delete(struct kv_service *svc, int in_txn, const struct kvm_delete_range_request *d,
		     struct kvm_delete_range_response *out, struct pb_arena *a, int64_t *rev)
{
	struct mvcc_delete_req m = { .key = mb(d->key), .range_end = mb(d->range_end),
				     .prev_kv = d->prev_kv || svc_lease_any(svc) };
	struct mvcc_delete_res res = { 0 };
	int rc = in_txn ? mvcc_txn_delete(svc->store, &m, &res) :
			  mvcc_delete(svc->store, &m, &res);
	if (rc == 0)	/* the deleted keys leave their leases */
		rc = svc_lease_deleted(svc, in_txn, res.prev_kvs, res.n_prev);
	if (rc < 0) {
		mvcc_delete_res_free(svc->store, &res);
		return rc;
	}
	memset(out, 0, sizeof(*out));
	out->deleted = res.deleted;
	if (d->prev_kv) {
		out->prev_kvs = kv_array(a, res.prev_kvs, res.n_prev);
		out->n_prev_kvs = res.n_prev;
	}
	*rev = res.revision;
	mvcc_delete_res_free(svc->store, &res);
	return d->prev_kv && res.n_prev && !out->prev_kvs ? -ENOMEM : 0;
}

static int decode(struct grpc_call *call, enum kvm_type t, const uint8_t *msg, size_t len,
		  void *out, struct pb_arena *a)
{
	if (len > SVC_REQUEST_MAX) {
		grpc_finish(call, GRPC_INVALID_ARGUMENT, "etcdserver: request is too large");
		return -1;
	}
	return svc_decode(call, t, msg, len, out, a);
}

void svc_range(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	struct kv_service *svc = ctx;
	struct pb_arena a;
	struct kvm_range_request r;
	struct kvm_range_response res;
	int64_t rev = 0;
	svc_arena_init(&a);
	if (decode(call, KVM_RANGE_REQUEST, msg, len, &r, &a) == 0) {
		int rc = do_range(svc, 0, &r, &res, &a, &rev);
		struct kvm_header h = svc_header(svc, rev);
		res.header = &h;
		if (rc < 0)
			svc_fail_mvcc(call, rc);
		else
			svc_reply(call, KVM_RANGE_RESPONSE, &res);
	}
	pb_arena_free(&a);
}

void svc_put(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	struct kv_service *svc = ctx;
	struct pb_arena a;
	struct kvm_put_request p;
	struct kvm_put_response res;
	int64_t rev = 0;
	svc_arena_init(&a);
	if (decode(call, KVM_PUT_REQUEST, msg, len, &p, &a) == 0 && !svc_refuse_put(svc, call, SVC_COST_PUT(p.key.len, p.value.len))) {
		int rc = do_put(svc, 0, &p, &res, &a, &rev);
		struct kvm_header h = svc_header(svc, rev);
		res.header = &h;
		if (rc < 0)
			svc_fail_mvcc(call, rc);
		else
			svc_reply(call, KVM_PUT_RESPONSE, &res);
	}
	pb_arena_free(&a);
}

void svc_delete_range(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	struct kv_service *svc = ctx;
	struct pb_arena a;
	struct kvm_delete_range_request d;
	struct kvm_delete_range_response res;
	int64_t rev = 0;
	svc_arena_init(&a);
	if (decode(call, KVM_DELETE_RANGE_REQUEST, msg, len, &d, &a) == 0) {
		int rc = do_delete(svc, 0, &d, &res, &a, &rev);
		struct kvm_header h = svc_header(svc, rev);
		res.header = &h;
		if (rc < 0)
			svc_fail_mvcc(call, rc);
		else
			svc_reply(call, KVM_DELETE_RANGE_RESPONSE, &res);
	}
	pb_arena_free(&a);
}

/* ---- Txn ---- */

/* etcd's request checks: at most SVC_TXN_OPS_MAX compares and ops per list, keys given,
 * no key written twice on one path. Returns NULL or etcd's text. */
static const char *txn_check(const struct kvm_txn_request *t, int depth);

static int overlaps(struct pb_bytes k, const struct kvm_delete_range_request *d)
{
	if (!d->range_end.len)
		return k.len == d->key.len && memcmp(k.p, d->key.p, k.len) == 0;
	size_t n = k.len < d->key.len ? k.len : d->key.len;
	int lo = memcmp(k.p, d->key.p, n);
	if (lo < 0 || (lo == 0 && k.len < d->key.len))
		return 0;	/* below the range */
	if (d->range_end.len == 1 && d->range_end.p[0] == 0)
		return 1;
	n = k.len < d->range_end.len ? k.len : d->range_end.len;
	int hi = memcmp(k.p, d->range_end.p, n);
	return hi < 0 || (hi == 0 && k.len < d->range_end.len);
}

static const char *ops_check(const struct kvm_request_op *ops, size_t n, int depth)
{
	if (n > SVC_TXN_OPS_MAX)
		return "etcdserver: too many operations in txn request";
	for (size_t i = 0; i < n; i++) {
		const struct kvm_request_op *o = &ops[i];
		const char *why = NULL;
		if (o->type == KVM_OP_RANGE && !o->range.key.len)
			why = "etcdserver: key is not provided";
		else if (o->type == KVM_OP_PUT && !o->put.key.len)
			why = "etcdserver: key is not provided";
		else if (o->type == KVM_OP_DELETE_RANGE && !o->delete_range.key.len)
			why = "etcdserver: key is not provided";
		else if (o->type == KVM_OP_TXN)
			why = txn_check(&o->txn, depth + 1);
		if (why)
			return why;
	}
	return NULL;
}

/* ---- etcd's checkIntervals: which keys one request may write twice ------------------------
 * The puts and deletes of an op list and of the txns nested in it (both branches) are
 * gathered. A nested txn's puts (either branch) are refused if they hit a put gathered
 * before that txn op, a delete of the list's own level or one nested in an earlier txn op;
 * the list's own puts, if they hit anything gathered. So etcd 3.4 takes [txn{put a},
 * txn{delete a}] and txn{then: put a, else: put a}, and refuses the other orders. */
struct ivals {
	const struct pb_bytes **put;
	const struct kvm_delete_range_request **del;
	size_t nput, ndel;
};

static size_t tree_ops(const struct kvm_request_op *ops, size_t n)
{
	size_t c = n;
	for (size_t i = 0; i < n; i++)
		if (ops[i].type == KVM_OP_TXN)
			c += tree_ops(ops[i].txn.success, ops[i].txn.n_success) +
			     tree_ops(ops[i].txn.failure, ops[i].txn.n_failure);
	return c;
}

/* Whether key k is among puts [p0, p1) or covered by deletes [d0, d1). */
static bool written(const struct ivals *v, size_t p0, size_t p1, size_t d0, size_t d1,
		    struct pb_bytes k)
{
	for (size_t i = p0; i < p1; i++)
		if (v->put[i]->len == k.len && memcmp(v->put[i]->p, k.p, k.len) == 0)
			return true;
	for (size_t i = d0; i < d1; i++)
		if (overlaps(k, v->del[i]))
			return true;
	return false;
}

/* Adds the list's puts and deletes to v; false on a duplicate. */
static bool intervals(struct ivals *v, const struct kvm_request_op *ops, size_t n)
{
	size_t p0 = v->nput, d0 = v->ndel;

	for (size_t i = 0; i < n; i++)
		if (ops[i].type == KVM_OP_DELETE_RANGE)
			v->del[v->ndel++] = &ops[i].delete_range;
	for (size_t i = 0; i < n; i++) {
		const struct kvm_txn_request *t = &ops[i].txn;
		size_t p = v->nput, d = v->ndel;
		if (ops[i].type != KVM_OP_TXN)
			continue;
		if (!intervals(v, t->success, t->n_success))
			return false;
		if (!intervals(v, t->failure, t->n_failure))
			return false;
		for (size_t j = p; j < v->nput; j++)
			if (written(v, p0, p, d0, d, *v->put[j]))
				return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (ops[i].type != KVM_OP_PUT)
			continue;
		if (written(v, p0, v->nput, d0, v->ndel, ops[i].put.key))
			return false;
		v->put[v->nput++] = &ops[i].put.key;
	}
	return true;
}

/* etcd checks each branch of the request on its own. Returns NULL or etcd's text. */
static const char *dup_check(const struct kvm_txn_request *t, struct pb_arena *a)
{
	const struct kvm_request_op *ops[2] = { t->success, t->failure };
	size_t n[2] = { t->n_success, t->n_failure };

	for (int b = 0; b < 2; b++) {
		size_t total = tree_ops(ops[b], n[b]);
		struct ivals v = { 0 };
		if (!total)
			continue;
		v.put = pb_arena_array(a, total, sizeof(*v.put));
		v.del = pb_arena_array(a, total, sizeof(*v.del));
		if (!v.put || !v.del)
			return "etcdserver: out of memory";
		if (!intervals(&v, ops[b], n[b]))
			return "etcdserver: duplicate key given in txn request";
	}
	return NULL;
}

static const char *txn_check(const struct kvm_txn_request *t, int depth)
{
	if (t->n_compare > SVC_TXN_OPS_MAX)
		return "etcdserver: too many operations in txn request";
	const char *why = ops_check(t->success, t->n_success, depth);
	return why ? why : ops_check(t->failure, t->n_failure, depth);
}

struct txn_run {
	struct kv_service *svc;
	int64_t start_rev;		/* the store's revision when the txn began */
	struct pb_arena *a;
	bool path[TXN_PATH_MAX];	/* the decision of each txn on the path, in visit order */
	size_t n_path, at;
};

/* Evaluates the compares of t and of the nested txns on its chosen path. */
static int txn_decide(struct txn_run *r, const struct kvm_txn_request *t)
{
	bool ok = true;
	for (size_t i = 0; i < t->n_compare && ok; i++) {
		const struct kvm_compare *c = &t->compare[i];
		struct mvcc_compare m = {
			.result = (enum mvcc_cmp_result)c->result,
			.target = (enum mvcc_cmp_target)c->target, .key = mb(c->key),
			.range_end = mb(c->range_end), .value = mb(c->value),
		};
		/* the union member that matches the target; etcd compares 0 otherwise */
		if (c->target == KVM_TARGET_VERSION && c->which == KVM_CMP_VERSION)
			m.number = c->version;
		else if (c->target == KVM_TARGET_CREATE && c->which == KVM_CMP_CREATE_REVISION)
			m.number = c->create_revision;
		else if (c->target == KVM_TARGET_MOD && c->which == KVM_CMP_MOD_REVISION)
			m.number = c->mod_revision;
		else if (c->target == KVM_TARGET_LEASE && c->which == KVM_CMP_LEASE)
			m.number = c->lease;
		ok = mvcc_txn_compare(r->svc->store, &m);
	}
	if (r->n_path == TXN_PATH_MAX)
		return -E2BIG;
	r->path[r->n_path++] = ok;
	const struct kvm_request_op *ops = ok ? t->success : t->failure;
	size_t n = ok ? t->n_success : t->n_failure;
	for (size_t i = 0; i < n; i++)
		if (ops[i].type == KVM_OP_TXN) {
			int rc = txn_decide(r, &ops[i].txn);
			if (rc < 0)
				return rc;
		}
	return 0;
}

static int txn_exec(struct txn_run *r, const struct kvm_txn_request *t,
		    struct kvm_txn_response *out)
{
	bool ok = r->path[r->at++];
	const struct kvm_request_op *ops = ok ? t->success : t->failure;
	size_t n = ok ? t->n_success : t->n_failure;
	struct kvm_response_op *res = n ? pb_arena_array(r->a, n, sizeof(*res)) : NULL;
	if (n && !res)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	out->succeeded = ok;
	out->responses = res;
	out->n_responses = n;
	for (size_t i = 0; i < n; i++) {
		int64_t rev = 0;
		int rc = 0;
		res[i].type = ops[i].type;
		switch (ops[i].type) {
		case KVM_OP_RANGE:
			/* etcd checks reads against the revision the txn started at */
			if (ops[i].range.revision > r->start_rev)
				rc = MVCC_EFUTURE;
			else
				rc = do_range(r->svc, 1, &ops[i].range, &res[i].range, r->a, &rev);
			break;
		case KVM_OP_PUT:
			rc = do_put(r->svc, 1, &ops[i].put, &res[i].put, r->a, &rev);
			break;
		case KVM_OP_DELETE_RANGE:
			rc = do_delete(r->svc, 1, &ops[i].delete_range, &res[i].delete_range, r->a,
				       &rev);
			break;
		case KVM_OP_TXN:
			rc = txn_exec(r, &ops[i].txn, &res[i].txn);
			break;
		default:
			break;	/* an empty RequestOp: an empty ResponseOp, as etcd */
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* After the commit: every nested response's header is the txn's revision alone. */
static int txn_headers(struct pb_arena *a, struct kvm_txn_response *t, int64_t rev)
{
	for (size_t i = 0; i < t->n_responses; i++) {
		struct kvm_response_op *o = (struct kvm_response_op *)&t->responses[i];
		struct kvm_header *h = rev_header(a, rev);
		if (!h)
			return -ENOMEM;
		switch (o->type) {
		case KVM_OP_RANGE: o->range.header = h; break;
		case KVM_OP_PUT: o->put.header = h; break;
		case KVM_OP_DELETE_RANGE: o->delete_range.header = h; break;
		case KVM_OP_TXN:
			h->revision = 0;	/* etcd leaves a nested txn's header empty */
			o->txn.header = h;
			if (txn_headers(a, &o->txn, rev) < 0)
				return -ENOMEM;
			break;
		default: break;
		}
	}
	return 0;
}

void svc_txn(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	struct kv_service *svc = ctx;
	struct pb_arena a;
	struct kvm_txn_request t;
	struct kvm_txn_response res;
	svc_arena_init(&a);
	if (decode(call, KVM_TXN_REQUEST, msg, len, &t, &a) < 0)
		goto out;
	const char *why = txn_check(&t, 1);
	if (!why)
		why = dup_check(&t, &a);
	if (why) {
		grpc_finish(call, GRPC_INVALID_ARGUMENT, why);
		goto out;
	}
	if (svc_refuse_txn(svc, call, &t))
		goto out;	/* the NOSPACE alarm */
	struct txn_run r = { .svc = svc, .a = &a, .start_rev = mvcc_rev(svc->store) };
	int rc = mvcc_txn_begin(svc->store);
	if (rc == 0 && (rc = txn_decide(&r, &t)) == 0)
		rc = txn_exec(&r, &t, &res);
	if (rc < 0) {
		mvcc_txn_abort(svc->store);
		svc_lease_settle(svc);
		svc_fail_mvcc(call, rc);
		goto out;
	}
	int64_t rev = mvcc_txn_end(svc->store);
	svc_lease_settle(svc);
	struct kvm_header h = svc_header(svc, rev);
	res.header = &h;
	if (txn_headers(&a, &res, rev) < 0)
		svc_fail_mvcc(call, -ENOMEM);
	else
		svc_reply(call, KVM_TXN_RESPONSE, &res);
out:
	pb_arena_free(&a);
}

void svc_compact(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	struct kv_service *svc = ctx;
	struct pb_arena a;
	struct kvm_compaction_request c;
	svc_arena_init(&a);
	if (decode(call, KVM_COMPACTION_REQUEST, msg, len, &c, &a) == 0) {
		int rc = svc_wal_compact(svc, c.revision);
		struct kvm_header h = svc_header(svc, 0);
		struct kvm_header_response res = { .header = &h };
		if (rc < 0)
			svc_fail_mvcc(call, rc);
		else
			svc_reply(call, KVM_HEADER_RESPONSE, &res);
	}
	pb_arena_free(&a);
}
