/* Internals of the etcd services: the state behind the methods and the helpers every
 * method uses to decode a request, answer it, or fail it with etcd's status and text. */
#ifndef CABIN_KV_SVC_INT_H
#define CABIN_KV_SVC_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "grpc.h"
#include "lease.h"
#include "msg.h"
#include "mvcc.h"
#include "raft.h"
#include "service.h"

#define SVC_REQUEST_MAX (3u << 19)	/* etcd's --max-request-bytes: 1.5 MiB */
#define SVC_TXN_OPS_MAX 128		/* etcd's --max-txn-ops */

/* Told of each lease grant (ttl: the granted TTL, > 0) and revoke (ttl 0; expiry is a
 * revoke too) once it has taken effect: a revoke's keys are already deleted, in one store
 * transaction. Renewals are not told: like etcd, a restart gives each lease its whole TTL. */
typedef void svc_lease_hook_fn(void *ctx, int64_t id, int64_t ttl);

/* A member of the cluster (svc_members.c). */
struct svc_member {
	uint64_t id;
	char name[64];
	char peer_urls[512], client_urls[512];	/* comma-separated */
	bool learner;
};
struct svc_members {
	struct svc_member m[RAFT_MAX_MEMBERS];
	unsigned n;
	uint64_t index;			/* the last CONF entry the table holds */
	char path[512];			/* DATA_DIR/member/members ("": not kept) */
};

struct kv_service {
	char name[64];
	char token[64];			/* --initial-cluster-token */
	char peer_urls[1024], client_urls[1024];
	uint64_t cluster_id, member_id, raft_term;
	struct mvcc *store;
	struct lease_set *leases;	/* svc_lease.c: the leases, the keys attached to each */
	struct svc_lease *lease;	/* svc_lease.c: expiry timer, a Txn's pending detaches */
	svc_lease_hook_fn *lease_hook;	/* may be NULL; see svc_lease_hook_fn */
	void *lease_hook_ctx;
	struct svc_watch *watch;	/* svc_watch.c: the watch streams, the store's observer */
	struct svc_wal *wal;		/* svc_wal.c: the write-ahead log, held replies, alarms */
	struct svc_raft *raft;		/* svc_raft.c: writes through Raft (NULL: directly) */
	bool applying;			/* a Raft entry is being applied */
	/* kv/server.c: the member starts again from disk (again), or stops serving (it was
	 * removed from the cluster); from a timer, as it frees the service */
	void (*restart)(void *ctx, bool again);
	void *restart_ctx;
	struct svc_members members;
};

/* An arena for one request, bounded (a hostile request cannot make decoding allocate
 * more than SVC_ARENA_MAX). */
#define SVC_ARENA_MAX (64u << 20)
static inline void svc_arena_init(struct pb_arena *a)
{
	pb_arena_init(a, NULL);
	a->limit = SVC_ARENA_MAX;
}

/* The response header at the store's current revision (or rev when > 0). */
struct kvm_header svc_header(const struct kv_service *svc, int64_t rev);
/* Encodes msg (type t), sends it and finishes the call OK; INTERNAL if it cannot. */
void svc_reply(struct grpc_call *call, enum kvm_type t, const void *msg);
/* Finishes the call with the gRPC status etcd gives the store error rc, and its text. */
void svc_fail_mvcc(struct grpc_call *call, int rc);
/* Decodes a request of type t into msg, with a; on failure finishes the call as grpc-go
 * does for a message it cannot unmarshal and returns -1. */
int svc_decode(struct grpc_call *call, enum kvm_type t, const uint8_t *buf, size_t len,
	       void *msg, struct pb_arena *a);
/* A store kv as the wire's KeyValue (bytes borrowed from the store). */
struct kvm_kv svc_kv(const struct mvcc_kv *kv);

/* svc_kv.c: etcdserverpb.KV */
void svc_range(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx);
void svc_put(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx);
void svc_delete_range(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx);
void svc_txn(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx);
void svc_compact(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx);

/* svc_watch.c: etcdserverpb.Watch (a stream: on_message, on_half_close, on_gone). init
 * (after the store exists) returns 0 or -ENOMEM; free (before the store goes) is safe
 * after a failed init. */
void svc_watch(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx);
void svc_watch_half_close(struct grpc_call *call, void *ctx);
void svc_watch_gone(struct grpc_call *call, void *ctx);
int svc_watch_init(struct kv_service *svc);
void svc_watch_free(struct kv_service *svc);
/* For /metrics, as etcd counts them: open watch streams, their watchers, and those of
 * them catching up from history (etcd's slow watchers). */
void svc_watch_counts(const struct kv_service *svc, size_t *streams, size_t *watchers,
		      size_t *slow);

/* svc_lease.c: etcdserverpb.Lease; LeaseKeepAlive is a stream (svc_lease_keepalive_end
 * finishes it when the client half-closes). */
void svc_lease_grant(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx);
void svc_lease_revoke(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx);
void svc_lease_keepalive(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx);
void svc_lease_keepalive_end(struct grpc_call *call, void *ctx);
/* Renews lease id here: returns its TTL, or 0 (unknown, or expired and waiting for its
 * revoke). The answer to one keepalive on its stream: */
int64_t svc_lease_renew(struct kv_service *svc, int64_t id);
/* Returns 1 if it had to finish the call (out of memory). */
int svc_lease_keepalive_reply(struct grpc_call *call, struct kv_service *svc, int64_t id,
			      int64_t ttl);
void svc_lease_ttl(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx);
void svc_lease_leases(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx);
/* Sets up svc->leases (minimum TTL from o's heartbeat and election timeout) and
 * svc->lease. Returns 0 or -ENOMEM. cleanup frees both (and is safe after a failed init). */
int svc_lease_init(struct kv_service *svc, const struct kv_opts *o);
void svc_lease_cleanup(struct kv_service *svc);
/* The KV writes' side, in do_put/do_delete. Before a put reaches the store: its lease must
 * exist (-ENOENT: etcd's "requested lease not found") and the key is attached (-ENOMEM).
 * After it (rc the store's result, res its result with prev filled whenever the key
 * existed): detaches the key from the lease it left; returns rc, or -ENOMEM in a Txn. */
int svc_lease_put(struct kv_service *svc, bool in_txn, const struct kvm_put_request *p);
int svc_lease_put_done(struct kv_service *svc, bool in_txn, const struct kvm_put_request *p,
		       int rc, const struct mvcc_put_res *res);
/* After a delete: kvs are the deleted keys' old kvs. Returns 0, or -ENOMEM in a Txn. */
int svc_lease_deleted(struct kv_service *svc, bool in_txn, const struct mvcc_kv *kvs, size_t n);
/* After mvcc_txn_end or mvcc_txn_abort of a Txn: carries out its pending detaches. */
void svc_lease_settle(struct kv_service *svc);
/* True if a lease exists: only then may a key carry one (a delete needs the old kvs). */
bool svc_lease_any(const struct kv_service *svc);
/* Recovery, for the WAL, before serving. Enumerate with lease_count and lease_list on
 * svc->leases (id, granted ttl). restore re-creates lease id with its granted ttl,
 * whole from now, without telling the hook: 0, LEASE_EEXIST, LEASE_ETOOLARGE, -ENOMEM.
 * reattach, once the store and the leases are back, attaches every key carrying a lease
 * to it: returns how many keys carry a lease that does not exist (left as they are), or
 * -ENOMEM. */
int svc_lease_restore(struct kv_service *svc, int64_t id, int64_t ttl);
long svc_lease_reattach(struct kv_service *svc);

/* svc_wal.c: persistence (see there). open, after the leases exist, replays the log in dir
 * into the store and the leases; err says why not (a corrupt file: its name and the
 * offset). close syncs what is pending and frees; safe after a failed open. */
int svc_wal_open(struct kv_service *svc, const struct kv_opts *o, const char *dir, char *err,
		 size_t errlen);
void svc_wal_close(struct kv_service *svc);
/* Maintenance/Snapshot's file: the log written up to now, then a fresh snapshot (or the
 * newest one if nothing changed since, unless fresh). Returns a read-only descriptor of
 * it (the caller's) with *size, or a negative code with err set (etcd-style text). */
int svc_wal_snapshot_file(struct kv_service *svc, bool fresh, uint64_t *size, char *err,
			  size_t errlen);
void svc_snapshot(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx);
/* Maintenance/Defragment: a snapshot if anything changed since the last, so the log the
 * compacted history was in goes. Returns 0, or a negative code with err set. */
int svc_wal_defrag(struct kv_service *svc, char *err, size_t errlen);
/* svc_reply's: 0 to send the encoded reply now, or 1 when the log has taken the call (held
 * until the log is durable, or failed). */
int svc_wal_hold(struct grpc_call *call, const uint8_t *msg, size_t len);
/* The log's counters for /metrics: fdatasyncs, record bytes written and snapshots taken
 * since start; false for a member that keeps no data directory. */
bool svc_wal_counters(const struct kv_service *svc, uint64_t *syncs, uint64_t *bytes,
		      uint64_t *snapshots);
/* The Raft log's counters (as node_log_counters); false for a member without Raft. Under
 * Raft the Raft log makes writes durable and the store's log is synced once a second. */
bool svc_raft_log_counters(const struct kv_service *svc, uint64_t *syncs, uint64_t *bytes);
/* mvcc_compact through the log: the only way to compact the store. Returns as it does. */
int svc_wal_compact(struct kv_service *svc, int64_t rev);
/* The NOSPACE alarm: true while raised. The refusers finish the call with etcd's error and
 * return 1 when it must be refused, else 0: a Put, a Txn with a top-level put, a LeaseGrant
 * while the alarm is raised, or one whose cost (etcd's: 256 + key + value for a put, the
 * larger branch's puts for a txn, 64 for a grant) would take the store past
 * --quota-backend-bytes, which raises the alarm. */
bool svc_nospace(const struct kv_service *svc);
#define SVC_COST_PUT(key, value) (256 + (key) + (value))
#define SVC_COST_LEASE 64
int svc_refuse_put(struct kv_service *svc, struct grpc_call *call, size_t cost);
int svc_refuse_txn(struct kv_service *svc, struct grpc_call *call,
		   const struct kvm_txn_request *t);
/* Maintenance/Alarm: carries out req; out gets up to max alarms for the response. */
size_t svc_alarm(struct kv_service *svc, const struct kvm_alarm_request *req,
		 struct kvm_alarm_member *out, size_t max);

/* svc_raft.c: the writes as Raft proposals; see there. The method handlers for the write
 * methods (they run the svc_ handler at once without Raft or while applying). */
void svc_raft_put(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx);
/* LeaseKeepAlive: the leader renews at once; another member renews through a Raft entry
 * (every member renews when it is applied), answered on the stream then. gone: the
 * stream's end (its keepalives still waiting are forgotten). */
void svc_raft_keepalive(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx);
void svc_raft_keepalive_gone(struct grpc_call *call, void *ctx);
void svc_raft_keepalive_end(struct grpc_call *call, void *ctx);
/* Range: a serializable one at once, a linearizable one once a ReadIndex round says. */
void svc_raft_range(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx);
void svc_raft_delete(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx);
void svc_raft_txn(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx);
void svc_raft_compact(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx);
void svc_raft_lease_grant(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx);
void svc_raft_lease_revoke(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx);
/* Proposes the revoke of an expired lease (the leader's job). */
void svc_raft_expire(struct kv_service *svc, int64_t id);
/* This member leads (or runs without Raft). */
bool svc_raft_leader(const struct kv_service *svc);
/* Starts Raft with its log in dir (DATA_DIR/member/raft), the store being at the index
 * svc_wal_applied says. Returns 0 or a negative code with err set. */
int svc_raft_start(struct kv_service *svc, struct ev_loop *loop, const struct kv_opts *o,
		   const char *dir, char *err, size_t errlen);
void svc_raft_stop(struct kv_service *svc);
/* From the before-sleep hook, before the store's log is written: Raft's readies (entries
 * applied to the store). durable: the index the store's log has made durable. */
void svc_raft_process(struct kv_service *svc, uint64_t durable);
bool svc_raft_busy(const struct kv_service *svc);
void svc_raft_status(const struct kv_service *svc, struct raft_status *st);
/* svc_raft_snap.c: before the store opens, a snapshot staged from the leader that the Raft
 * log in dir took is installed (the member list and the store's log replaced); one it
 * did not take is thrown away. Returns 0 or a negative code with err set. */
int svc_snap_boot(const char *dir, char *err, size_t errlen);
/* svc_wal.c: the Raft index applied (written as an APPLIED record with the next batch), the
 * one the store came back at, and the one its log has made durable. */
void svc_wal_set_applied(struct kv_service *svc, uint64_t index);
uint64_t svc_wal_applied(const struct kv_service *svc);
uint64_t svc_wal_durable(const struct kv_service *svc);
/* The Raft log makes writes durable: the store's log is written each turn and synced
 * every second (see wal_set_lazy); the Raft log keeps what is not yet synced there. */
void svc_wal_set_lazy(struct kv_service *svc);
/* Raises this member's NOSPACE alarm (the Raft log could not be written). */
void svc_wal_raise_nospace(struct kv_service *svc);
/* svc_members.c: the member table. ids from the token and the peer URLs; the initial
 * cluster from the flags (default: this member alone), as members with ids (count or
 * -EINVAL with err); CONF entry data (encode returns its length, 0 if cap is too small);
 * load from DATA_DIR/member/members (0 if there is none); apply a CONF entry. */
uint64_t svc_member_id(const char *token, const char *peer_urls);
uint64_t svc_cluster_id(const char *token);
int svc_initial_cluster(const struct kv_opts *o, struct svc_member *out, size_t max,
			char *err, size_t errlen);
#define SVC_MEMBER_MAX (RAFT_CONF_HEAD + 6 + 64 + 512 + 512 + 16)	/* encoded */
size_t svc_member_encode(uint8_t *buf, size_t cap, enum raft_conf_op op,
			 const struct svc_member *m, uint64_t origin, uint64_t seq);
int svc_member_decode(const uint8_t *data, size_t len, enum raft_conf_op *op,
		      struct svc_member *m, uint64_t *origin, uint64_t *seq);
int svc_members_load(struct kv_service *svc, const char *dir, char *err, size_t errlen);
void svc_members_apply(struct kv_service *svc, const struct raft_entry *e);
struct svc_member *svc_member_find(struct kv_service *svc, uint64_t id);
/* svc_raft.c: the table changed (the transport learns where members are); a change was
 * applied, or refused by the leader (the client of (origin, seq) gets its answer). */
void svc_raft_members_changed(struct kv_service *svc, enum raft_conf_op op, uint64_t id);
void svc_raft_conf_applied(struct kv_service *svc, uint64_t origin, uint64_t seq, uint64_t id);
void svc_raft_conf_refused(struct kv_service *svc, uint64_t origin, uint64_t seq);
/* Proposes a membership change for call (answered as answer says once applied). Returns
 * 0 or finishes the call with etcd's error. */
enum svc_answer { SVC_ANSWER_WRITE, SVC_ANSWER_MEMBER_ADD, SVC_ANSWER_MEMBERS,
		  SVC_ANSWER_KEEPALIVE };
void svc_raft_propose_conf(struct kv_service *svc, struct grpc_call *call,
			   enum raft_conf_op op, const struct svc_member *m, enum svc_answer answer);
/* Hands leadership to member id (MoveLeader). 0, -EAGAIN (no leader), -EINVAL. */
int svc_raft_transfer(struct kv_service *svc, uint64_t id);
/* A learner's progress as the leader sees it: its match and the leader's commit; false
 * when this member does not lead. */
bool svc_raft_progress(const struct kv_service *svc, uint64_t id, uint64_t *match,
		       uint64_t *commit);
/* svc_cluster.c: the answer to a membership change, once applied. */
void svc_cluster_answer(struct kv_service *svc, struct grpc_call *call, enum svc_answer a,
			uint64_t id);
void svc_member_list(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx);
void svc_member_add(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx);
void svc_member_remove(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx);
void svc_member_update(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx);
void svc_member_promote(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx);
void svc_move_leader(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx);

/* svc_lease.c: leases expire by the leader's proposals alone; a new leader gives every
 * lease its whole TTL from now (etcd's promotion). */
void svc_lease_leader(struct kv_service *svc, bool leader);

#endif
