/* The life of a gRPC call: made for a request (or a local caller), its data and deferred
 * end, the end as its method sees it, freed.
 *
 * A connection's call, once ended, is kept (up to SPARE_MAX, with its buffers when they
 * are small) for the next one: at a few requests per loop turn, malloc would otherwise
 * hand back and map again the same pages turn after turn. Under AddressSanitizer a kept
 * call is poisoned but for its link (lib/asan.h). */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/asan.h"
#include "grpc.h"
#include "grpc_int.h"

#define SPARE_MAX 256
#define SPARE_BUF_MAX ((size_t)16 << 10)

/* A zeroed call for a connection of s: a spare one, its buffers kept, or a new one. */
struct grpc_call *grpc_call_new(struct grpc_server *s)
{
	struct grpc_call *call = s->spare;

	if (!call)
		return calloc(1, sizeof(*call));
	UNPOISON(call, sizeof(*call));
	s->spare = call->next;
	s->n_spare--;
	uint8_t *in = call->in, *out = call->out;
	size_t in_cap = call->in_cap, out_cap = call->out_cap;
	memset(call, 0, sizeof(*call));
	call->in = in;
	call->in_cap = in_cap;
	call->out = out;
	call->out_cap = out_cap;
	return call;
}

/* Keeps call (its headers and message freed) as a spare if there is room: true if so. */
static bool call_keep(struct grpc_server *s, struct grpc_call *call)
{
	if (s->n_spare >= SPARE_MAX)
		return false;
	if (call->in_cap > SPARE_BUF_MAX) {
		free(call->in);
		call->in = NULL;
		call->in_cap = 0;
	}
	if (call->out_cap > SPARE_BUF_MAX) {
		free(call->out);
		call->out = NULL;
		call->out_cap = 0;
	}
	call->next = s->spare;
	s->spare = call;
	s->n_spare++;
	POISON(call, offsetof(struct grpc_call, next));
	POISON(&call->next + 1, sizeof(*call) - offsetof(struct grpc_call, next) - sizeof(call->next));
	return true;
}

void grpc_spares_free(struct grpc_server *s)
{
	while (s->spare) {
		struct grpc_call *call = s->spare;
		UNPOISON(call, sizeof(*call));
		s->spare = call->next;
		free(call->in);
		free(call->out);
		free(call);
	}
	s->n_spare = 0;
}

void grpc_call_free(struct grpc_call *call)
{
	struct conn *c = call->conn;
	if (!c)
		;	/* a local call is on no list */
	else if (call->prev)
		call->prev->next = call->next;
	else
		c->calls = call->next;
	if (c && call->next)
		call->next->prev = call->prev;
	for (int i = 0; i < call->n_hdrs; i++) {
		free(call->hdrs[i].name);
		free(call->hdrs[i].value);
	}
	free(call->message);
	if (c && call_keep(call->srv, call))
		return;
	free(call->in);
	free(call->out);
	free(call);
}

/* The call ended without the handler finishing it: tell the handler, once. */
void grpc_call_gone(struct grpc_call *call)
{
	if (!call->finished && call->defer_gone)
		call->defer_gone(call, call->defer_arg);
	if (!call->finished && call->m && call->m->on_gone) {
		call->finished = 1;
		call->m->on_gone(call, call->ctx);
	}
	call->finished = 1;
}

const char *grpc_call_header(const struct grpc_call *call, const char *name)
{
	for (int i = 0; i < call->n_hdrs; i++)
		if (strcmp(call->hdrs[i].name, name) == 0)
			return call->hdrs[i].value;
	return NULL;
}

void grpc_call_set_data(struct grpc_call *call, void *data)
{
	call->data = data;
}

void *grpc_call_data(const struct grpc_call *call)
{
	return call->data;
}

void *grpc_call_ctx(const struct grpc_call *call)
{
	return call->ctx;
}

void grpc_call_defer(struct grpc_call *call, grpc_defer_gone_fn *gone, void *arg)
{
	call->defer_gone = gone;
	call->defer_arg = arg;
}

size_t grpc_call_pending(const struct grpc_call *call)
{
	return call->conn ? call->out_len - call->out_off : call->local_pending;
}

struct ev_loop *grpc_call_loop(const struct grpc_call *call)
{
	return call->srv ? call->srv->loop : NULL;
}
