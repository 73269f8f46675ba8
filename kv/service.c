/* The gRPC methods cabind serves, the service state behind them, and the helpers every
 * method shares: headers, replies, and etcd's errors. Cluster and Maintenance for one
 * member live here too; KV is in svc_kv.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "svc_int.h"

/* The etcd API level cabind implements, as Status and /version report it. */
#define SVC_API_VERSION "3.4.0"

struct kvm_header svc_header(const struct kv_service *svc, int64_t rev)
{
	return (struct kvm_header){ .cluster_id = svc->cluster_id, .member_id = svc->member_id,
				    .revision = rev > 0 ? rev : mvcc_rev(svc->store),
				    .raft_term = svc->raft_term };
}

struct kvm_kv svc_kv(const struct mvcc_kv *kv)
{
	return (struct kvm_kv){
		.key = { kv->key.p, kv->key.len }, .create_revision = kv->create_revision,
		.mod_revision = kv->mod_revision, .version = kv->version,
		.value = { kv->value.p, kv->value.len }, .lease = kv->lease,
	};
}

void svc_reply(struct grpc_call *call, enum kvm_type t, const void *msg)
{
	struct pb_buf b;
	pb_buf_init(&b, NULL);
	int rc = kvm_encode(&b, t, msg);
	if (rc < 0) {
		char why[120];
		snprintf(why, sizeof(why), "grpc: error while marshaling: %s", pb_strerror(rc));
		grpc_finish(call, GRPC_INTERNAL, why);
	} else if (svc_wal_hold(call, b.data, b.len)) {
		/* the log has it: sent once what it answers is durable */
	} else if (grpc_send(call, b.data ? b.data : (const uint8_t *)"", b.len) < 0) {
		grpc_finish(call, GRPC_RESOURCE_EXHAUSTED, "out of memory");
	} else {
		grpc_finish(call, GRPC_OK, NULL);
	}
	pb_buf_free(&b);
}

void svc_fail_mvcc(struct grpc_call *call, int rc)
{
	switch (rc) {
	case MVCC_ECOMPACTED:
	case MVCC_EFUTURE:
		grpc_finish(call, GRPC_OUT_OF_RANGE, mvcc_strerror(rc));
		break;
	case MVCC_ENOTFOUND:
	case MVCC_EVALUE:
	case MVCC_ELEASE:
	case MVCC_ENOKEY:
	case MVCC_ESORT:
		grpc_finish(call, GRPC_INVALID_ARGUMENT, mvcc_strerror(rc));
		break;
	case -ENOENT:
		grpc_finish(call, GRPC_NOT_FOUND, "etcdserver: requested lease not found");
		break;
	case -E2BIG:
		grpc_finish(call, GRPC_INVALID_ARGUMENT,
			    "etcdserver: too many operations in txn request");
		break;
	case -ENOMEM:
		grpc_finish(call, GRPC_RESOURCE_EXHAUSTED, "etcdserver: out of memory");
		break;
	default:
		grpc_finish(call, GRPC_INTERNAL, mvcc_strerror(rc));
		break;
	}
}

int svc_decode(struct grpc_call *call, enum kvm_type t, const uint8_t *buf, size_t len,
	       void *msg, struct pb_arena *a)
{
	int rc = kvm_decode(t, buf, len, msg, a);
	if (rc == 0)
		return 0;
	char why[160];
	snprintf(why, sizeof(why), "grpc: error unmarshalling request: %s",
		 rc == -ENOMEM ? "out of memory" : pb_strerror(rc));
	grpc_finish(call, rc == -ENOMEM ? GRPC_RESOURCE_EXHAUSTED : GRPC_INTERNAL, why);
	return -1;
}

/* grpc.health.v1.Health/Check: SERVING (status = 1) for any service name. */
static void health_check(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	static const uint8_t serving[] = { 0x08, 0x01 };
	(void)msg;
	(void)len;
	(void)ctx;
	grpc_send(call, serving, sizeof(serving));
	grpc_finish(call, GRPC_OK, NULL);
}

/* ---- Cluster ---- */

/* ---- Maintenance ---- */

static void status(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	struct kv_service *svc = ctx;
	struct pb_arena a;
	struct kvm_empty req;
	svc_arena_init(&a);
	if (svc_decode(call, KVM_EMPTY, msg, len, &req, &a) == 0) {
		struct mvcc_stats st;
		struct raft_status rs;
		mvcc_stats(svc->store, &st);
		svc_raft_status(svc, &rs);
		struct kvm_header h = svc_header(svc, 0);
		struct kvm_status_response res = {
			.header = &h,
			.version = { (const uint8_t *)SVC_API_VERSION, strlen(SVC_API_VERSION) },
			.db_size = (int64_t)st.bytes, .db_size_in_use = (int64_t)st.bytes,
			.leader = svc->raft ? rs.lead : svc->member_id,
			.raft_index = svc->raft ? rs.commit : (uint64_t)mvcc_rev(svc->store),
			.raft_applied_index = svc->raft ? rs.applied
							: (uint64_t)mvcc_rev(svc->store),
			.raft_term = svc->raft_term,
		};
		svc_reply(call, KVM_STATUS_RESPONSE, &res);
	}
	pb_arena_free(&a);
}

static void hash_kv(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	struct kv_service *svc = ctx;
	struct pb_arena a;
	struct kvm_hash_kv_request req;
	svc_arena_init(&a);
	if (svc_decode(call, KVM_HASH_KV_REQUEST, msg, len, &req, &a) == 0) {
		struct mvcc_hash hs;
		int rc = mvcc_hash_kv(svc->store, req.revision, &hs);
		if (rc < 0) {
			svc_fail_mvcc(call, rc);
		} else {
			struct kvm_header h = svc_header(svc, hs.revision);
			struct kvm_hash_kv_response res = { .header = &h, .hash = hs.hash,
							    .compact_revision = hs.compact_revision };
			svc_reply(call, KVM_HASH_KV_RESPONSE, &res);
		}
	}
	pb_arena_free(&a);
}

static void alarm(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	struct kv_service *svc = ctx;
	struct pb_arena a;
	struct kvm_alarm_request req;
	svc_arena_init(&a);
	if (svc_decode(call, KVM_ALARM_REQUEST, msg, len, &req, &a) == 0) {
		struct kvm_header h = svc_header(svc, 0);
		struct kvm_alarm_member m[8];
		struct kvm_alarm_response res = { .header = &h, .alarms = m };
		res.n_alarms = svc_alarm(svc, &req, m, 8);
		svc_reply(call, KVM_ALARM_RESPONSE, &res);
	}
	pb_arena_free(&a);
}

/* Defragment: the store has nothing to defragment; etcd answers with a header. */
static void defragment(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	struct kv_service *svc = ctx;
	struct pb_arena a;
	struct kvm_empty req;
	svc_arena_init(&a);
	if (svc_decode(call, KVM_EMPTY, msg, len, &req, &a) == 0) {
		/* the disk held by compacted history comes back with a snapshot, which keeps
		 * only what the store holds and deletes the log before it */
		struct kvm_header h = svc_header(svc, 0);
		struct kvm_header_response res = { .header = &h };
		char err[200];
		int rc = svc_wal_defrag(svc, err, sizeof(err));
		if (rc)
			grpc_finish(call, rc == -ENOMEM ? GRPC_RESOURCE_EXHAUSTED : GRPC_UNAVAILABLE,
				    err);
		else
			svc_reply(call, KVM_HEADER_RESPONSE, &res);
	}
	pb_arena_free(&a);
}

static const struct grpc_method methods[] = {
	{ "/etcdserverpb.KV/Range", svc_raft_range, NULL, NULL },
	{ "/etcdserverpb.KV/Put", svc_raft_put, NULL, NULL },
	{ "/etcdserverpb.KV/DeleteRange", svc_raft_delete, NULL, NULL },
	{ "/etcdserverpb.KV/Txn", svc_raft_txn, NULL, NULL },
	{ "/etcdserverpb.KV/Compact", svc_raft_compact, NULL, NULL },
	{ "/etcdserverpb.Watch/Watch", svc_watch, svc_watch_half_close, svc_watch_gone },
	{ "/etcdserverpb.Lease/LeaseGrant", svc_raft_lease_grant, NULL, NULL },
	{ "/etcdserverpb.Lease/LeaseRevoke", svc_raft_lease_revoke, NULL, NULL },
	{ "/etcdserverpb.Lease/LeaseKeepAlive", svc_raft_keepalive, svc_raft_keepalive_end,
	  svc_raft_keepalive_gone },
	{ "/etcdserverpb.Lease/LeaseTimeToLive", svc_lease_ttl, NULL, NULL },
	{ "/etcdserverpb.Lease/LeaseLeases", svc_lease_leases, NULL, NULL },
	{ "/etcdserverpb.Cluster/MemberAdd", svc_member_add, NULL, NULL },
	{ "/etcdserverpb.Cluster/MemberRemove", svc_member_remove, NULL, NULL },
	{ "/etcdserverpb.Cluster/MemberUpdate", svc_member_update, NULL, NULL },
	{ "/etcdserverpb.Cluster/MemberList", svc_member_list, NULL, NULL },
	{ "/etcdserverpb.Cluster/MemberPromote", svc_member_promote, NULL, NULL },
	{ "/etcdserverpb.Maintenance/Status", status, NULL, NULL },
	{ "/etcdserverpb.Maintenance/HashKV", hash_kv, NULL, NULL },
	{ "/etcdserverpb.Maintenance/Alarm", alarm, NULL, NULL },
	{ "/etcdserverpb.Maintenance/Defragment", defragment, NULL, NULL },
	{ "/etcdserverpb.Maintenance/Snapshot", svc_snapshot, NULL, NULL },
	{ "/etcdserverpb.Maintenance/MoveLeader", svc_move_leader, NULL, NULL },
	{ "/grpc.health.v1.Health/Check", health_check, NULL, NULL },
};

const struct grpc_method *kv_service_methods(size_t *n)
{
	*n = sizeof(methods) / sizeof(*methods);
	return methods;
}

int kv_service_new(const struct kv_opts *o, const char *dir, struct kv_service **out,
		   char *err, size_t errlen)
{
	struct kv_service *svc = calloc(1, sizeof(*svc));
	if (!svc || mvcc_new(NULL, &svc->store) < 0) {
		free(svc);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(svc->name, sizeof(svc->name), "%s", o->name);
	snprintf(svc->peer_urls, sizeof(svc->peer_urls), "%s", o->advertise_peer);
	snprintf(svc->client_urls, sizeof(svc->client_urls), "%s", o->advertise_client);
	struct svc_member init[RAFT_MAX_MEMBERS];
	int n = svc_initial_cluster(o, init, RAFT_MAX_MEMBERS, err, errlen);
	if (n < 0) {
		kv_service_free(svc);
		return n;
	}
	snprintf(svc->token, sizeof(svc->token), "%s", o->initial_cluster_token);
	svc->member_id = svc_member_id(o->initial_cluster_token, o->advertise_peer);
	svc->cluster_id = svc_cluster_id(o->initial_cluster_token);
	svc->raft_term = 1;
	int rc0 = svc_snap_boot(dir, err, errlen);
	if (rc0 == 0)
		rc0 = svc_members_load(svc, dir, err, errlen);
	if (rc0 < 0) {
		kv_service_free(svc);
		return rc0;
	}
	if (svc_lease_init(svc, o) < 0 || svc_watch_init(svc) < 0) {
		kv_service_free(svc);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int rc = svc_wal_open(svc, o, dir, err, errlen);	/* the store and leases back */
	if (rc < 0) {
		kv_service_free(svc);
		return rc;
	}
	*out = svc;
	return 0;
}

int kv_service_start_raft(struct kv_service *svc, struct ev_loop *loop, const struct kv_opts *o,
			  const char *dir, char *err, size_t errlen)
{
	char rdir[512];

	if (snprintf(rdir, sizeof(rdir), "%s/member/raft", dir) >= (int)sizeof(rdir)) {
		snprintf(err, errlen, "%s: the path is too long", dir);
		return -ENAMETOOLONG;
	}
	return svc_raft_start(svc, loop, o, rdir, err, errlen);
}

void kv_service_free(struct kv_service *svc)
{
	if (!svc)
		return;
	svc_raft_stop(svc);
	svc_wal_close(svc);
	svc_lease_cleanup(svc);
	svc_watch_free(svc);
	mvcc_free(svc->store);
	free(svc);
}
