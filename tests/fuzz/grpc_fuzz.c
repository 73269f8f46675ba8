/* The gRPC server's HTTP/2 side: bytes from a client (after the HTTP/2 preface when the
 * first input byte is odd) go through a socket pair into a real connection of a server
 * whose two methods echo, finish early or finish at half-close; the loop turns until the
 * connection is done. Nothing may crash, leak or hang. */
#include "../../kv/grpc.c"

static void echo(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	(void)ctx;
	grpc_send(call, msg, len);
	if (len && (msg[0] & 1))
		grpc_finish(call, GRPC_OK, NULL);
}

static void half(struct grpc_call *call, void *ctx)
{
	(void)ctx;
	grpc_finish(call, GRPC_INVALID_ARGUMENT, "bye \x01 100%");
}

static const struct grpc_method methods[] = {
	{ "/a/B", echo, half, NULL },
	{ "/a/C", echo, NULL, NULL },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ev_loop *loop;
	if (!loop)
		loop = ev_new();
	if (size < 1 || size > 65536)
		return 0;
	struct grpc_server *s = grpc_server_new(loop, methods, 2, NULL);
	int sv[2];
	if (!s || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	if (conn_new(s, sv[0], NULL) < 0)
		abort();
	if (data[0] & 1)
		(void)!write(sv[1], H2_PREFACE, H2_PREFACE_LEN);
	(void)!write(sv[1], data + 1, size - 1);
	shutdown(sv[1], SHUT_WR);
	uint8_t sink[65536];
	for (int i = 0; i < 200 && s->conns; i++) {
		ev_run_once(loop, 0);
		while (read(sv[1], sink, sizeof(sink)) > 0)
			;
	}
	grpc_server_free(s);
	close(sv[1]);
	return 0;
}
