/* Internals of the etcd services: the state behind the methods and the helpers every
 * method uses to decode a request, answer it, or fail it with etcd's status and text. */
#ifndef CABIN_KV_SVC_INT_H
#define CABIN_KV_SVC_INT_H

#include <stdint.h>

#include "grpc.h"
#include "msg.h"
#include "mvcc.h"
#include "service.h"

#define SVC_REQUEST_MAX (3u << 19)	/* etcd's --max-request-bytes: 1.5 MiB */
#define SVC_TXN_OPS_MAX 128		/* etcd's --max-txn-ops */

struct kv_service {
	char name[64];
	char peer_urls[1024], client_urls[1024];
	uint64_t cluster_id, member_id, raft_term;
	struct mvcc *store;
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

#endif
