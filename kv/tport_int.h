/* Internals of the transport shared by the plain socket (tport.c) and TLS (tport_tls.c). */
#ifndef CABIN_KV_TPORT_INT_H
#define CABIN_KV_TPORT_INT_H

#include "tport.h"

struct tport_ops {
	ssize_t (*read)(struct tport *t, void *buf, size_t len);
	ssize_t (*write)(struct tport *t, const void *buf, size_t len);
	void (*free)(struct tport *t);	/* the layer's state and t itself, not the fd */
};

struct tport {
	const struct tport_ops *ops;
	int fd;
	uint32_t read_events;		/* tport_read_events */
	const char *alpn;
};

/* What tport_new needs of a TLS configuration (tport_tls.c embeds it): a transport of its
 * own kind over fd, or NULL when out of memory. */
struct tport_tls {
	struct tport *(*wrap)(struct tport_tls *tls, int fd, const char *host);
};

#endif
