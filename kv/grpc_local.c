/* Local calls: a method of the gRPC server run without HTTP/2, for the JSON gateway. The
 * method sees an ordinary call; its responses and its end go to the caller's sinks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grpc_int.h"

struct grpc_call *grpc_local_call(struct grpc_server *s, const char *path,
				  grpc_local_msg_fn *on_msg, grpc_local_end_fn *on_end, void *arg)
{
	const struct grpc_method *m = NULL;
	for (size_t i = 0; i < s->n_methods && !m; i++)
		if (strcmp(s->methods[i].path, path) == 0)
			m = &s->methods[i];
	if (!m)
		return NULL;
	struct grpc_call *call = calloc(1, sizeof(*call));
	if (!call)
		return NULL;
	call->m = m;
	call->srv = s;
	call->ctx = s->ctx;
	grpc_stats_start(call);
	call->local_msg = on_msg;
	call->local_end = on_end;
	call->local_arg = arg;
	snprintf(call->path, sizeof(call->path), "%s", path);
	return call;
}

struct grpc_call *grpc_method_call(const struct grpc_method *m, void *ctx,
				   grpc_local_msg_fn *on_msg, grpc_local_end_fn *on_end, void *arg)
{
	struct grpc_call *call = calloc(1, sizeof(*call));
	if (!call)
		return NULL;
	call->m = m;
	call->ctx = ctx;
	call->local_msg = on_msg;
	call->local_end = on_end;
	call->local_arg = arg ? arg : call;
	snprintf(call->path, sizeof(call->path), "%s", m->path);
	return call;
}

void grpc_local_deliver(struct grpc_call *call, const uint8_t *msg, size_t len)
{
	if (!call->finished)
		call->m->on_message(call, msg, len, call->ctx);
}

void grpc_local_half_close(struct grpc_call *call)
{
	if (call->finished)
		return;
	if (call->m->on_half_close)
		call->m->on_half_close(call, call->ctx);
	else if (!call->defer_gone)
		grpc_finish(call, GRPC_INTERNAL, "grpc: no response to the request");
}

void grpc_local_free(struct grpc_call *call)
{
	if (!call)
		return;
	grpc_call_gone(call);
	grpc_call_free(call);
}

void grpc_local_set_pending(struct grpc_call *call, size_t bytes)
{
	call->local_pending = bytes;
}
