/* The byte stream under a client connection of the KV port: a plain socket, or TLS
 * (mbedtls) over one. Reads and writes never block; TLS runs its handshake inside the first
 * reads, so the connection's owner only has to watch the events tport_read_events names. */
#ifndef CABIN_KV_TPORT_H
#define CABIN_KV_TPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct tport;
struct tport_tls;

/* A server's TLS settings, etcd's client flags. The file names are read at tport_tls_new
 * only. */
struct tport_tls_opts {
	const char *cert_file;		/* --cert-file: PEM or DER, the chain after the leaf */
	const char *key_file;		/* --key-file */
	const char *ca_file;		/* --trusted-ca-file: clients must present a
					 * certificate it signed (etcd 3.4 does the same) */
	int client_cert_auth;		/* --client-cert-auth: needs ca_file */
	int client;			/* the client side (a member dialling a peer): ca_file
					 * verifies the server; the certificate is presented
					 * when the server asks */
	const char *flag_prefix;	/* "peer-" names the peer flags in errors (NULL: "") */
};

/* Loads the certificate, key and CAs and seeds the random generator. ALPN offers
 * "http/1.1" then "h2": a client that offers both (curl, browsers) gets HTTP/1.1 for the
 * JSON gateway; gRPC clients offer only h2. Returns 0 with *out set (free with
 * tport_tls_free), or -EINVAL / -ENOMEM with err naming the flag, the file and mbedtls's
 * reason. */
int tport_tls_new(const struct tport_tls_opts *o, struct tport_tls **out, char *err,
		  size_t errlen);
/* Frees tls; every tport made from it must be freed first. NULL is a no-op. */
void tport_tls_free(struct tport_tls *tls);

/* A transport over the non-blocking socket fd: plain when tls is NULL, else TLS with tls's
 * settings, the server side or the client side as they say (tls must outlive it). Takes ownership of fd only on success.
 * Returns NULL when out of memory. */
struct tport *tport_new(int fd, struct tport_tls *tls);
/* The same for a connection this side dialled to host (a name or an address): the
 * server's certificate must be for it (a DNS or IP subjectAltName, or the CN), as Go's
 * TLS client and so etcd check. host NULL: any name. */
struct tport *tport_dial(int fd, struct tport_tls *tls, const char *host);
/* Closes the socket and frees t. NULL is a no-op. */
void tport_free(struct tport *t);
int tport_fd(const struct tport *t);

/* Reads up to len bytes (give at least 16 KiB: a TLS record holds that much, and bytes of a
 * record left over would wait for no event). Returns the count, 0 at the end of the
 * stream, -EAGAIN when it has to wait (for tport_read_events), or another negative code
 * when the connection is unusable (a failed handshake, which was logged; -errno). */
ssize_t tport_read(struct tport *t, void *buf, size_t len);
/* Writes up to len bytes. Returns how many were taken (maybe fewer), -EAGAIN, or another
 * negative code. After -EAGAIN, call again with the same bytes first (more may follow
 * them): TLS has already sealed a record of them. */
ssize_t tport_write(struct tport *t, const void *buf, size_t len);
/* Writes buf[*off, len) until the socket stalls, moving *off on (the same contract as
 * tport_write: the bytes at *off must not change before they are taken). Returns 0 (all
 * written, or the rest waits for EPOLLOUT) or a negative code. */
int tport_write_out(struct tport *t, const void *buf, size_t *off, size_t len);
/* The events a stalled read waits for: EPOLLIN, or EPOLLOUT while TLS has to send first
 * (its handshake). Watch these plus EPOLLOUT when there is output. */
uint32_t tport_read_events(const struct tport *t);
/* The protocol ALPN chose ("h2", "http/1.1"), or NULL (plain, or the client offered
 * none). */
const char *tport_alpn(const struct tport *t);

#endif
