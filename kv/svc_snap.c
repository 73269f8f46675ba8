/* Maintenance/Snapshot: the whole store as one snapshot file of cabind's own format
 * (kv/wal.h, not etcd's bbolt database), streamed as etcd streams its backend: pieces of
 * 32 KiB, each with the bytes still to come after it, then a last message with
 * remaining_bytes 0 and the SHA-256 of everything sent (which `etcdctl snapshot save`
 * keeps at the end of the file, as it does with etcd's). The file is a fresh snapshot
 * written through the log (or the newest one when nothing changed since), read from its
 * own descriptor, so later snapshots may delete it meanwhile. The stream follows the
 * client: a piece goes out only while less than SNAP_WINDOW bytes wait for it. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <mbedtls/sha256.h>

#include "../lib/log.h"
#include "svc_int.h"

#define SNAP_PIECE (32u << 10)
#define SNAP_WINDOW (256u << 10)
#define SNAP_POLL_MS 5

struct snap_stream {
	struct kv_service *svc;
	struct grpc_call *call;
	struct ev_loop *loop;
	int fd;
	uint64_t size, sent;
	long timer;
	mbedtls_sha256_context sha;
	uint8_t piece[SNAP_PIECE];
};

static void stream_free(struct snap_stream *st)
{
	if (st->timer)
		ev_cancel(st->loop, st->timer);
	close(st->fd);
	mbedtls_sha256_free(&st->sha);
	free(st);
}

/* Encodes and queues one response. Returns 0 or -ENOMEM / -EPIPE. */
static int send_piece(struct snap_stream *st, uint64_t remaining, const uint8_t *p, size_t n)
{
	struct kvm_header h = svc_header(st->svc, mvcc_rev(st->svc->store));
	struct kvm_snapshot_response r = { &h, remaining, { p, n } };
	struct pb_buf b;
	int rc;

	pb_buf_init(&b, NULL);
	rc = kvm_encode(&b, KVM_SNAPSHOT_RESPONSE, &r);
	if (!rc)
		rc = grpc_send(st->call, b.data, b.len);
	pb_buf_free(&b);
	return rc;
}

static void pump(struct ev_loop *loop, void *arg);

/* Sends what the client's window allows; ends the call after the digest. */
static void pump(struct ev_loop *loop, void *arg)
{
	struct snap_stream *st = arg;
	const char *why = NULL;
	uint8_t digest[32];

	(void)loop;
	st->timer = 0;
	while (st->sent < st->size && grpc_call_pending(st->call) < SNAP_WINDOW) {
		size_t want = st->size - st->sent < SNAP_PIECE ? (size_t)(st->size - st->sent)
							      : SNAP_PIECE;
		ssize_t n = pread(st->fd, st->piece, want, (off_t)st->sent);
		if (n <= 0) {
			why = "etcdserver: the snapshot file could not be read";
			break;
		}
		st->sent += (uint64_t)n;
		mbedtls_sha256_update(&st->sha, st->piece, (size_t)n);
		if (send_piece(st, st->size - st->sent, st->piece, (size_t)n)) {
			why = "etcdserver: out of memory";
			break;
		}
	}
	if (!why && st->sent < st->size) {
		long id = ev_timer(st->loop, SNAP_POLL_MS, pump, st);
		if (id > 0) {
			st->timer = id;
			return;
		}
		why = "etcdserver: out of memory";
	}
	if (!why && (mbedtls_sha256_finish(&st->sha, digest) ||
		     send_piece(st, 0, digest, sizeof(digest))))
		why = "etcdserver: out of memory";
	grpc_call_defer(st->call, NULL, NULL);
	grpc_finish(st->call, why ? GRPC_INTERNAL : GRPC_OK, why);
	if (!why)
		log_info("kv: snapshot of %llu bytes sent", (unsigned long long)st->size);
	stream_free(st);
}

/* The client went away: stop. */
static void gone(struct grpc_call *call, void *arg)
{
	(void)call;
	stream_free(arg);
}

void svc_snapshot(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	struct kv_service *svc = ctx;
	struct snap_stream *st;
	char err[200];
	uint64_t size;
	int fd;

	(void)msg;
	(void)len;
	fd = svc_wal_snapshot_file(svc, false, &size, err, sizeof(err));
	if (fd < 0) {
		grpc_finish(call, fd == -ENOMEM ? GRPC_RESOURCE_EXHAUSTED : GRPC_UNAVAILABLE, err);
		return;
	}
	st = calloc(1, sizeof(*st));
	if (!st) {
		close(fd);
		grpc_finish(call, GRPC_RESOURCE_EXHAUSTED, "etcdserver: out of memory");
		return;
	}
	st->svc = svc;
	st->call = call;
	st->loop = grpc_call_loop(call);
	st->fd = fd;
	st->size = size;
	mbedtls_sha256_init(&st->sha);
	if (mbedtls_sha256_starts(&st->sha, 0)) {
		grpc_finish(call, GRPC_INTERNAL, "etcdserver: sha256");
		stream_free(st);
		return;
	}
	grpc_call_defer(call, gone, st);
	log_info("kv: sending a snapshot of %llu bytes", (unsigned long long)size);
	pump(st->loop, st);
}
