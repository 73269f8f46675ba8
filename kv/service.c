/* The gRPC methods cabind serves, and the service state behind them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service.h"

struct kv_service {
	char name[64];
};

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

static const struct grpc_method methods[] = {
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
	(void)dir;
	struct kv_service *svc = calloc(1, sizeof(*svc));
	if (!svc) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(svc->name, sizeof(svc->name), "%s", o->name);
	*out = svc;
	return 0;
}

void kv_service_free(struct kv_service *svc)
{
	free(svc);
}
