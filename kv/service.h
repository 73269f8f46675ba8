/* The etcd services (KV, Watch, Lease, Cluster, Maintenance) and grpc.health.v1 as gRPC
 * methods over the store: decode the request, act, encode the response or etcd's error. */
#ifndef CABIN_KV_SERVICE_H
#define CABIN_KV_SERVICE_H

#include <stddef.h>

#include "grpc.h"
#include "kv.h"

struct kv_service;

/* A service over a new store for the member o->name, keeping its files in dir. Returns 0
 * with *out set, or a negative code with err saying why. */
int kv_service_new(const struct kv_opts *o, const char *dir, struct kv_service **out,
		   char *err, size_t errlen);
void kv_service_free(struct kv_service *svc);
/* Gives the service its event loop (borrowed; it must outlive the service): until then,
 * leases do not expire on their own. */
void kv_service_set_loop(struct kv_service *svc, struct ev_loop *loop);
/* Syncs the write-ahead log from loop's before-sleep hook, once per turn, and releases the
 * replies that waited for it then (group commit). Without it every reply syncs at once. */
void kv_service_attach_wal(struct kv_service *svc, struct ev_loop *loop);
/* Starts Raft (its log in dir/member/raft): from then on writes are Raft entries, applied
 * from the loop's before-sleep hook (attach the WAL first). Returns 0 or a negative code
 * with err set. */
int kv_service_start_raft(struct kv_service *svc, struct ev_loop *loop, const struct kv_opts *o,
			  const char *dir, char *err, size_t errlen);
/* The method table (static); the service is each method's ctx. */
const struct grpc_method *kv_service_methods(size_t *n);

#endif
