/* etcd's JSON gateway and its plain HTTP endpoints (/health, /version, /metrics), served
 * on the gRPC port to clients that speak HTTP/1.1. */
#ifndef CABIN_KV_GATEWAY_H
#define CABIN_KV_GATEWAY_H

#include <stddef.h>

#include "../lib/ev.h"
#include "grpc.h"

/* Writes the Prometheus text for GET /metrics into a malloc'd *text of *len bytes.
 * Returns 0 or -ENOMEM. */
typedef int gw_metrics_fn(void *arg, char **text, size_t *len);

struct gateway;
/* Takes the HTTP/1.1 connections of grpc (grpc_server_set_http1) and runs /v3/... as
 * local calls of its methods. Returns NULL when out of memory. */
struct gateway *gw_new(struct ev_loop *loop, struct grpc_server *grpc, gw_metrics_fn *metrics,
		       void *arg);
/* Closes the gateway's connections and frees it; call before freeing grpc. */
void gw_free(struct gateway *gw);

#endif
