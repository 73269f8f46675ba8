/* The etcd v3 API messages (etcdserverpb, mvccpb; etcd 3.4) as C structs, with a protobuf
 * decoder and encoder for each: the server decodes requests and encodes responses, a client
 * does the reverse. Pure: bytes in, structs out and back; memory only through pb.h.
 *
 * Ownership, for every struct here:
 *  - Decoded: struct pb_bytes fields point into the input buffer, or into the arena when
 *    a singular embedded message occurred more than once and had to be merged. Arrays and
 *    pointed-to messages live in the arena. So a decoded message is valid while both the
 *    input and the arena are; pb_arena_free releases everything at once.
 *  - Encoded: every pointer is borrowed for the call. NULL for a pointer to a message
 *    means "absent" (not written); an array may be NULL when its count is 0.
 * Enums are kept as int32_t, since proto3 enums are open: unknown values are preserved.
 * Field names follow the .proto (snake_case), IDs are "id". */
#ifndef CABIN_KV_MSG_H
#define CABIN_KV_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pb.h"

/* Decoding limits. A TxnRequest/Response nests at most KVM_TXN_DEPTH_MAX levels (the
 * outermost is level 1) and holds at most KVM_TXN_OPS_MAX compares and ops over all levels
 * (PB_EDEPTH, PB_ELIMIT). etcd's own "too many operations in txn request" limit (128 per
 * list by default) is the server's to check: it needs its own error message. */
#define KVM_TXN_DEPTH_MAX 32
#define KVM_TXN_OPS_MAX 16384

/* ---- enums ----------------------------------------------------------------------------- */
enum kvm_event_type { KVM_EVENT_PUT = 0, KVM_EVENT_DELETE = 1 };
enum kvm_sort_order { KVM_SORT_NONE = 0, KVM_SORT_ASCEND = 1, KVM_SORT_DESCEND = 2 };
enum kvm_sort_target {
	KVM_SORT_KEY = 0, KVM_SORT_VERSION = 1, KVM_SORT_CREATE = 2, KVM_SORT_MOD = 3,
	KVM_SORT_VALUE = 4,
};
enum kvm_compare_result {
	KVM_CMP_EQUAL = 0, KVM_CMP_GREATER = 1, KVM_CMP_LESS = 2, KVM_CMP_NOT_EQUAL = 3,
};
enum kvm_compare_target {
	KVM_TARGET_VERSION = 0, KVM_TARGET_CREATE = 1, KVM_TARGET_MOD = 2, KVM_TARGET_VALUE = 3,
	KVM_TARGET_LEASE = 4,
};
enum kvm_watch_filter { KVM_FILTER_NOPUT = 0, KVM_FILTER_NODELETE = 1 };
enum kvm_alarm_action { KVM_ALARM_GET = 0, KVM_ALARM_ACTIVATE = 1, KVM_ALARM_DEACTIVATE = 2 };
enum kvm_alarm_type { KVM_ALARM_NONE = 0, KVM_ALARM_NOSPACE = 1, KVM_ALARM_CORRUPT = 2 };

/* ---- shared ---------------------------------------------------------------------------- */

/* Requests without fields (StatusRequest, MemberListRequest in 3.4, LeaseLeasesRequest,
 * DefragmentRequest, SnapshotRequest, WatchProgressRequest, HashRequest): decoding only
 * checks the wire format, skipping whatever fields a newer client sends. */
struct kvm_empty {
	char unused;
};

/* etcdserverpb.ResponseHeader */
struct kvm_header {
	uint64_t cluster_id, member_id;
	int64_t revision;
	uint64_t raft_term;
};

/* Responses made of a header only: CompactionResponse, LeaseRevokeResponse,
 * DefragmentResponse, MoveLeaderResponse. */
struct kvm_header_response {
	const struct kvm_header *header;
};

/* mvccpb.KeyValue */
struct kvm_kv {
	struct pb_bytes key;
	int64_t create_revision, mod_revision, version;
	struct pb_bytes value;
	int64_t lease;
};

/* mvccpb.Event */
struct kvm_event {
	int32_t type;			/* enum kvm_event_type */
	const struct kvm_kv *kv, *prev_kv;
};

/* ---- KV -------------------------------------------------------------------------------- */

/* etcdserverpb.RangeRequest */
struct kvm_range_request {
	struct pb_bytes key, range_end;
	int64_t limit, revision;
	int32_t sort_order;		/* enum kvm_sort_order */
	int32_t sort_target;		/* enum kvm_sort_target */
	bool serializable, keys_only, count_only;
	int64_t min_mod_revision, max_mod_revision, min_create_revision, max_create_revision;
};

/* etcdserverpb.RangeResponse */
struct kvm_range_response {
	const struct kvm_header *header;
	const struct kvm_kv *kvs;
	size_t n_kvs;
	bool more;
	int64_t count;
};

/* etcdserverpb.PutRequest */
struct kvm_put_request {
	struct pb_bytes key, value;
	int64_t lease;
	bool prev_kv, ignore_value, ignore_lease;
};

/* etcdserverpb.PutResponse */
struct kvm_put_response {
	const struct kvm_header *header;
	const struct kvm_kv *prev_kv;
};

/* etcdserverpb.DeleteRangeRequest */
struct kvm_delete_range_request {
	struct pb_bytes key, range_end;
	bool prev_kv;
};

/* etcdserverpb.DeleteRangeResponse */
struct kvm_delete_range_response {
	const struct kvm_header *header;
	int64_t deleted;
	const struct kvm_kv *prev_kvs;
	size_t n_prev_kvs;
};

/* Which member of Compare.target_union is set: its field number, or KVM_CMP_UNSET. */
enum kvm_compare_union {
	KVM_CMP_UNSET = 0, KVM_CMP_VERSION = 4, KVM_CMP_CREATE_REVISION = 5,
	KVM_CMP_MOD_REVISION = 6, KVM_CMP_VALUE = 7, KVM_CMP_LEASE = 8,
};

/* etcdserverpb.Compare. Only the union member named by `which` is meaningful (and the
 * only one written, even when zero); etcd compares against the zero value when `which`
 * does not match the target. */
struct kvm_compare {
	int32_t result;			/* enum kvm_compare_result */
	int32_t target;			/* enum kvm_compare_target */
	struct pb_bytes key;
	uint32_t which;			/* enum kvm_compare_union */
	int64_t version, create_revision, mod_revision, lease;
	struct pb_bytes value;
	struct pb_bytes range_end;	/* field 64 */
};

/* Which member of RequestOp.request / ResponseOp.response is set: its field number. */
enum kvm_op_type {
	KVM_OP_NONE = 0, KVM_OP_RANGE = 1, KVM_OP_PUT = 2, KVM_OP_DELETE_RANGE = 3,
	KVM_OP_TXN = 4,
};

struct kvm_request_op;
struct kvm_response_op;

/* etcdserverpb.TxnRequest */
struct kvm_txn_request {
	const struct kvm_compare *compare;
	size_t n_compare;
	const struct kvm_request_op *success;
	size_t n_success;
	const struct kvm_request_op *failure;
	size_t n_failure;
};

/* etcdserverpb.RequestOp: the member named by type (KVM_OP_NONE: none, nothing written). */
struct kvm_request_op {
	uint32_t type;			/* enum kvm_op_type */
	union {
		struct kvm_range_request range;
		struct kvm_put_request put;
		struct kvm_delete_range_request delete_range;
		struct kvm_txn_request txn;
	};
};

/* etcdserverpb.TxnResponse */
struct kvm_txn_response {
	const struct kvm_header *header;
	bool succeeded;
	const struct kvm_response_op *responses;
	size_t n_responses;
};

/* etcdserverpb.ResponseOp, like kvm_request_op. */
struct kvm_response_op {
	uint32_t type;			/* enum kvm_op_type */
	union {
		struct kvm_range_response range;
		struct kvm_put_response put;
		struct kvm_delete_range_response delete_range;
		struct kvm_txn_response txn;
	};
};

/* etcdserverpb.CompactionRequest (the response is a kvm_header_response) */
struct kvm_compaction_request {
	int64_t revision;
	bool physical;
};

/* ---- Watch ----------------------------------------------------------------------------- */

/* etcdserverpb.WatchCreateRequest. filters arrive packed or unpacked; written packed. */
struct kvm_watch_create_request {
	struct pb_bytes key, range_end;
	int64_t start_revision;
	bool progress_notify;
	const int32_t *filters;		/* enum kvm_watch_filter */
	size_t n_filters;
	bool prev_kv;
	int64_t watch_id;
	bool fragment;
};

/* etcdserverpb.WatchCancelRequest */
struct kvm_watch_cancel_request {
	int64_t watch_id;
};

/* Which member of WatchRequest.request_union is set: its field number. */
enum kvm_watch_type {
	KVM_WATCH_NONE = 0, KVM_WATCH_CREATE = 1, KVM_WATCH_CANCEL = 2, KVM_WATCH_PROGRESS = 3,
};

/* etcdserverpb.WatchRequest. KVM_WATCH_PROGRESS carries an empty WatchProgressRequest. */
struct kvm_watch_request {
	uint32_t type;			/* enum kvm_watch_type */
	union {
		struct kvm_watch_create_request create;
		struct kvm_watch_cancel_request cancel;
	};
};

/* etcdserverpb.WatchResponse */
struct kvm_watch_response {
	const struct kvm_header *header;
	int64_t watch_id;
	bool created, canceled;
	int64_t compact_revision;
	struct pb_bytes cancel_reason;
	bool fragment;
	const struct kvm_event *events;	/* field 11 */
	size_t n_events;
};

/* ---- Lease ----------------------------------------------------------------------------- */

/* etcdserverpb.LeaseGrantRequest */
struct kvm_lease_grant_request {
	int64_t ttl, id;
};

/* etcdserverpb.LeaseGrantResponse */
struct kvm_lease_grant_response {
	const struct kvm_header *header;
	int64_t id, ttl;
	struct pb_bytes error;
};

/* etcdserverpb.LeaseRevokeRequest and LeaseKeepAliveRequest */
struct kvm_lease_id_request {
	int64_t id;
};

/* etcdserverpb.LeaseKeepAliveResponse */
struct kvm_lease_keepalive_response {
	const struct kvm_header *header;
	int64_t id, ttl;
};

/* etcdserverpb.LeaseTimeToLiveRequest */
struct kvm_lease_ttl_request {
	int64_t id;
	bool keys;
};

/* etcdserverpb.LeaseTimeToLiveResponse */
struct kvm_lease_ttl_response {
	const struct kvm_header *header;
	int64_t id, ttl, granted_ttl;
	const struct pb_bytes *keys;
	size_t n_keys;
};

/* etcdserverpb.LeaseLeasesResponse; each lease is a LeaseStatus{ID} on the wire. */
struct kvm_lease_leases_response {
	const struct kvm_header *header;
	const int64_t *leases;
	size_t n_leases;
};

/* ---- Cluster --------------------------------------------------------------------------- */

/* etcdserverpb.Member */
struct kvm_member {
	uint64_t id;
	struct pb_bytes name;
	const struct pb_bytes *peer_urls;
	size_t n_peer_urls;
	const struct pb_bytes *client_urls;
	size_t n_client_urls;
	bool is_learner;
};

/* etcdserverpb.MemberListRequest (linearizable is etcd 3.5's; 3.4 clients send nothing) */
struct kvm_member_list_request {
	bool linearizable;
};

/* Responses of a header and the member list: MemberListResponse, MemberRemoveResponse,
 * MemberUpdateResponse, MemberPromoteResponse. */
struct kvm_members_response {
	const struct kvm_header *header;
	const struct kvm_member *members;
	size_t n_members;
};

/* etcdserverpb.MemberAddRequest */
struct kvm_member_add_request {
	const struct pb_bytes *peer_urls;
	size_t n_peer_urls;
	bool is_learner;
};

/* etcdserverpb.MemberAddResponse */
struct kvm_member_add_response {
	const struct kvm_header *header;
	const struct kvm_member *member;
	const struct kvm_member *members;
	size_t n_members;
};

/* etcdserverpb.MemberRemoveRequest and MemberPromoteRequest */
struct kvm_member_id_request {
	uint64_t id;
};

/* etcdserverpb.MemberUpdateRequest */
struct kvm_member_update_request {
	uint64_t id;
	const struct pb_bytes *peer_urls;
	size_t n_peer_urls;
};

/* ---- Maintenance ----------------------------------------------------------------------- */

/* etcdserverpb.StatusResponse */
struct kvm_status_response {
	const struct kvm_header *header;
	struct pb_bytes version;
	int64_t db_size;
	uint64_t leader, raft_index, raft_term, raft_applied_index;
	const struct pb_bytes *errors;
	size_t n_errors;
	int64_t db_size_in_use;
	bool is_learner;
};

/* etcdserverpb.AlarmRequest */
struct kvm_alarm_request {
	int32_t action;			/* enum kvm_alarm_action */
	uint64_t member_id;
	int32_t alarm;			/* enum kvm_alarm_type */
};

/* etcdserverpb.AlarmMember */
struct kvm_alarm_member {
	uint64_t member_id;
	int32_t alarm;			/* enum kvm_alarm_type */
};

/* etcdserverpb.AlarmResponse */
struct kvm_alarm_response {
	const struct kvm_header *header;
	const struct kvm_alarm_member *alarms;
	size_t n_alarms;
};

/* etcdserverpb.HashKVRequest */
struct kvm_hash_kv_request {
	int64_t revision;
};

/* etcdserverpb.HashKVResponse */
struct kvm_hash_kv_response {
	const struct kvm_header *header;
	uint32_t hash;
	int64_t compact_revision;
};

/* etcdserverpb.SnapshotResponse */
struct kvm_snapshot_response {
	const struct kvm_header *header;
	uint64_t remaining_bytes;
	struct pb_bytes blob;
};

/* etcdserverpb.MoveLeaderRequest */
struct kvm_move_leader_request {
	uint64_t target_id;
};

/* ---- the codecs -------------------------------------------------------------------------
 * Every message type: its enum constant, the suffix of its typed functions, its struct. */
#define KVM_MESSAGES(X)                                                               \
	X(KVM_EMPTY, empty, kvm_empty)                                                \
	X(KVM_HEADER, header, kvm_header)                                             \
	X(KVM_HEADER_RESPONSE, header_response, kvm_header_response)                  \
	X(KVM_KV, kv, kvm_kv)                                                         \
	X(KVM_EVENT, event, kvm_event)                                                \
	X(KVM_RANGE_REQUEST, range_request, kvm_range_request)                        \
	X(KVM_RANGE_RESPONSE, range_response, kvm_range_response)                     \
	X(KVM_PUT_REQUEST, put_request, kvm_put_request)                              \
	X(KVM_PUT_RESPONSE, put_response, kvm_put_response)                           \
	X(KVM_DELETE_RANGE_REQUEST, delete_range_request, kvm_delete_range_request)   \
	X(KVM_DELETE_RANGE_RESPONSE, delete_range_response, kvm_delete_range_response) \
	X(KVM_COMPARE, compare, kvm_compare)                                          \
	X(KVM_REQUEST_OP, request_op, kvm_request_op)                                 \
	X(KVM_RESPONSE_OP, response_op, kvm_response_op)                              \
	X(KVM_TXN_REQUEST, txn_request, kvm_txn_request)                              \
	X(KVM_TXN_RESPONSE, txn_response, kvm_txn_response)                           \
	X(KVM_COMPACTION_REQUEST, compaction_request, kvm_compaction_request)         \
	X(KVM_WATCH_REQUEST, watch_request, kvm_watch_request)                        \
	X(KVM_WATCH_CREATE_REQUEST, watch_create_request, kvm_watch_create_request)   \
	X(KVM_WATCH_CANCEL_REQUEST, watch_cancel_request, kvm_watch_cancel_request)   \
	X(KVM_WATCH_RESPONSE, watch_response, kvm_watch_response)                     \
	X(KVM_LEASE_GRANT_REQUEST, lease_grant_request, kvm_lease_grant_request)      \
	X(KVM_LEASE_GRANT_RESPONSE, lease_grant_response, kvm_lease_grant_response)   \
	X(KVM_LEASE_ID_REQUEST, lease_id_request, kvm_lease_id_request)               \
	X(KVM_LEASE_KEEPALIVE_RESPONSE, lease_keepalive_response, kvm_lease_keepalive_response) \
	X(KVM_LEASE_TTL_REQUEST, lease_ttl_request, kvm_lease_ttl_request)            \
	X(KVM_LEASE_TTL_RESPONSE, lease_ttl_response, kvm_lease_ttl_response)         \
	X(KVM_LEASE_LEASES_RESPONSE, lease_leases_response, kvm_lease_leases_response) \
	X(KVM_MEMBER, member, kvm_member)                                             \
	X(KVM_MEMBER_LIST_REQUEST, member_list_request, kvm_member_list_request)      \
	X(KVM_MEMBERS_RESPONSE, members_response, kvm_members_response)               \
	X(KVM_MEMBER_ADD_REQUEST, member_add_request, kvm_member_add_request)         \
	X(KVM_MEMBER_ADD_RESPONSE, member_add_response, kvm_member_add_response)      \
	X(KVM_MEMBER_ID_REQUEST, member_id_request, kvm_member_id_request)            \
	X(KVM_MEMBER_UPDATE_REQUEST, member_update_request, kvm_member_update_request) \
	X(KVM_STATUS_RESPONSE, status_response, kvm_status_response)                  \
	X(KVM_ALARM_REQUEST, alarm_request, kvm_alarm_request)                        \
	X(KVM_ALARM_MEMBER, alarm_member, kvm_alarm_member)                           \
	X(KVM_ALARM_RESPONSE, alarm_response, kvm_alarm_response)                     \
	X(KVM_HASH_KV_REQUEST, hash_kv_request, kvm_hash_kv_request)                  \
	X(KVM_HASH_KV_RESPONSE, hash_kv_response, kvm_hash_kv_response)               \
	X(KVM_SNAPSHOT_RESPONSE, snapshot_response, kvm_snapshot_response)            \
	X(KVM_MOVE_LEADER_REQUEST, move_leader_request, kvm_move_leader_request)

#define KVM_TYPE_ENUM(id, name, type) id,
enum kvm_type { KVM_MESSAGES(KVM_TYPE_ENUM) KVM_TYPES };
#undef KVM_TYPE_ENUM

/* Returns the type's name as in the typed functions ("put_request"), or NULL for an
 * invalid type. */
const char *kvm_type_name(enum kvm_type t);
/* Returns sizeof the struct of type t, 0 for an invalid type. */
size_t kvm_type_size(enum kvm_type t);

/* Decodes len bytes at buf (borrowed; must outlive the result) into *msg, which must be
 * the struct of type t and is overwritten whole. Everything allocated comes from a (see
 * the ownership rules at the top); on failure a may hold allocations too: free it as
 * usual. Unknown fields are skipped; a scalar field that occurs twice keeps its last
 * value; repeated fields append (numeric ones packed or not); an embedded message that
 * occurs twice is merged (each occurrence must be well-formed alone; the merged bytes are
 * copied into a); the last member of a oneof wins.
 * Returns 0, or -ENOMEM, or a PB_E* code: a wire-format error, PB_EWIRETYPE for a known
 * field of the wrong wire type, PB_EDEPTH / PB_ELIMIT past the Txn limits, and
 * PB_EFIELD for an invalid type t. */
int kvm_decode(enum kvm_type t, const uint8_t *buf, size_t len, void *msg,
	       struct pb_arena *a);

/* Appends the encoding of *msg (borrowed; the struct of type t) to b. Fields at their
 * zero value are left out (oneof members and repeated elements are always written), in
 * field-number order, as the reference encoders do. Returns 0, or -ENOMEM, PB_ETOOBIG,
 * PB_EDEPTH (nested past PB_NEST_MAX) or PB_EFIELD for an invalid t, with b unchanged. */
int kvm_encode(struct pb_buf *b, enum kvm_type t, const void *msg);

/* Typed forms of the two, one pair per message type:
 *   int kvm_decode_put_request(const uint8_t *buf, size_t len, struct kvm_put_request *m,
 *                              struct pb_arena *a);
 *   int kvm_encode_put_request(struct pb_buf *b, const struct kvm_put_request *m);  */
#define KVM_TYPED(id, name, type)                                                      \
	static inline int kvm_decode_##name(const uint8_t *buf, size_t len, struct type *m, \
					    struct pb_arena *a)                        \
	{                                                                              \
		return kvm_decode(id, buf, len, m, a);                                 \
	}                                                                              \
	static inline int kvm_encode_##name(struct pb_buf *b, const struct type *m)    \
	{                                                                              \
		return kvm_encode(b, id, m);                                           \
	}
KVM_MESSAGES(KVM_TYPED)
#undef KVM_TYPED

#endif
