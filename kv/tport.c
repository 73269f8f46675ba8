/* The transport's entry points and the plain socket under them; TLS is in tport_tls.c,
 * reached through the configuration it was made from, so that a plain-only build (the
 * gRPC fuzzer) needs no TLS library. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "tport_int.h"

static ssize_t plain_read(struct tport *t, void *buf, size_t len)
{
	ssize_t n;
	do
		n = read(t->fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static ssize_t plain_write(struct tport *t, const void *buf, size_t len)
{
	ssize_t n;
	do
		n = write(t->fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n;
}

static void plain_free(struct tport *t)
{
	free(t);
}

static const struct tport_ops plain_ops = { plain_read, plain_write, plain_free };

struct tport *tport_new(int fd, struct tport_tls *tls)
{
	return tport_dial(fd, tls, NULL);
}

struct tport *tport_dial(int fd, struct tport_tls *tls, const char *host)
{
	if (tls)
		return tls->wrap(tls, fd, host);
	struct tport *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->ops = &plain_ops;
	t->fd = fd;
	t->read_events = EPOLLIN;
	return t;
}

void tport_free(struct tport *t)
{
	if (!t)
		return;
	int fd = t->fd;
	t->ops->free(t);
	if (fd >= 0)
		close(fd);
}

int tport_fd(const struct tport *t)
{
	return t->fd;
}

ssize_t tport_read(struct tport *t, void *buf, size_t len)
{
	return t->ops->read(t, buf, len);
}

ssize_t tport_write(struct tport *t, const void *buf, size_t len)
{
	return t->ops->write(t, buf, len);
}

int tport_write_out(struct tport *t, const void *buf, size_t *off, size_t len)
{
	while (*off < len) {
		ssize_t w = tport_write(t, (const char *)buf + *off, len - *off);
		if (w == -EAGAIN)
			return 0;
		if (w <= 0)
			return w < 0 ? (int)w : -EPIPE;
		*off += (size_t)w;
	}
	return 0;
}

uint32_t tport_read_events(const struct tport *t)
{
	return t->read_events;
}

const char *tport_alpn(const struct tport *t)
{
	return t->alpn;
}
