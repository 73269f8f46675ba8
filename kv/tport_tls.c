/* TLS for the KV client port with mbedtls: the server configuration made from etcd's
 * flags, and a transport whose socket reads and writes go through an ssl context. The
 * handshake runs inside the first reads; a failed one is logged and ends the connection. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <psa/crypto.h>

#include "../lib/log.h"
#include "tport_int.h"

struct tls_conf {
	struct tport_tls base;
	int client;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt crt, ca;
	mbedtls_pk_context key;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
};

struct tls_tport {
	struct tport base;
	mbedtls_ssl_context ssl;
	int hs_done;
	size_t sealed;		/* bytes of a write that returned WANT_*: mbedtls holds
				 * them in a record and expects the same call again */
	int sys_errno;		/* the socket's error, if that is what failed */
	char peer[64];		/* the other side's address, for the log */
	bool client;		/* this side dialled */
};

/* ---- the socket under mbedtls ---- */
static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct tls_tport *t = ctx;
	ssize_t n;
	do
		n = send(t->base.fd, buf, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	t->sys_errno = errno;
	return MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct tls_tport *t = ctx;
	ssize_t n;
	do
		n = recv(t->base.fd, buf, len, 0);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN)
		return MBEDTLS_ERR_SSL_WANT_READ;
	t->sys_errno = errno;
	return MBEDTLS_ERR_NET_RECV_FAILED;
}

/* ---- connections ---- */
static void peer_name(int fd, char *out, size_t len)
{
	struct sockaddr_storage sa = { .ss_family = AF_UNSPEC };
	socklen_t sl = sizeof(sa);
	char host[INET6_ADDRSTRLEN];
	int port = 0;
	getpeername(fd, (struct sockaddr *)&sa, &sl);
	if (sa.ss_family != AF_INET && sa.ss_family != AF_INET6) {
		snprintf(out, len, "a local socket");
		return;
	}
	if (sa.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
	}
	snprintf(out, len, "%s:%d", host, port);
}

/* Logs why the handshake failed (warn: a client with the wrong CA or no certificate wants
 * to know; debug when it just hung up) and returns the code for the caller. */
static ssize_t handshake_failed(struct tls_tport *t, int rc)
{
	char why[200], verify[200] = "";
	if (t->sys_errno)
		snprintf(why, sizeof(why), "%s", strerror(t->sys_errno));
	else
		mbedtls_strerror(rc, why, sizeof(why));
	uint32_t flags = mbedtls_ssl_get_verify_result(&t->ssl);
	if (flags != 0 && flags != (uint32_t)-1) {
		int n = mbedtls_x509_crt_verify_info(verify, sizeof(verify), " (", flags);
		if (n > 0 && verify[n - 1] == '\n')
			verify[n - 1] = ')';
	}
	if (rc == MBEDTLS_ERR_SSL_CONN_EOF || t->sys_errno == ECONNRESET || t->sys_errno == EPIPE)
		log_debug("kv: TLS handshake with %s: the %s hung up (%s)", t->peer,
			  t->client ? "server" : "client", why);
	else if (t->client)
		log_warnx("kv: connection to %s refused: TLS handshake: %s%s", t->peer, why,
			  verify);
	else
		log_warnx("kv: rejected connection from %s: TLS handshake: %s%s", t->peer, why,
			  verify);
	return t->sys_errno ? -t->sys_errno : -EPROTO;
}

/* Maps an mbedtls result that is not a byte count: -EAGAIN when it waits for the socket
 * (read_events says which way, for reads), else a negative errno. */
static ssize_t io_error(struct tls_tport *t, int rc, int reading)
{
	if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
		if (reading)
			t->base.read_events = rc == MBEDTLS_ERR_SSL_WANT_READ ? EPOLLIN : EPOLLOUT;
		return -EAGAIN;
	}
	if (t->sys_errno)
		return -t->sys_errno;
	char why[200];
	mbedtls_strerror(rc, why, sizeof(why));
	log_debug("kv: TLS connection dropped: %s", why);
	return -EPROTO;
}

static ssize_t tls_read(struct tport *b, void *buf, size_t len)
{
	struct tls_tport *t = (struct tls_tport *)b;
	if (!t->hs_done) {
		int rc = mbedtls_ssl_handshake(&t->ssl);
		if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
			return io_error(t, rc, 1);
		if (rc != 0)
			return handshake_failed(t, rc);
		t->hs_done = 1;
		t->base.alpn = mbedtls_ssl_get_alpn_protocol(&t->ssl);
		t->base.read_events = EPOLLIN;
	}
	int rc = mbedtls_ssl_read(&t->ssl, buf, len);
	if (rc >= 0) {
		t->base.read_events = EPOLLIN;
		return rc;
	}
	if (rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || rc == MBEDTLS_ERR_SSL_CONN_EOF)
		return 0;
	return io_error(t, rc, 1);
}

static ssize_t tls_write(struct tport *b, const void *buf, size_t len)
{
	struct tls_tport *t = (struct tls_tport *)b;
	if (!t->hs_done || (t->base.read_events == EPOLLOUT && !t->sealed))
		return -EAGAIN;	/* the handshake, or a read's own message, goes out first */
	int max = mbedtls_ssl_get_max_out_record_payload(&t->ssl);
	if (t->sealed)
		len = t->sealed < len ? t->sealed : len;
	else if (max > 0 && len > (size_t)max)
		len = (size_t)max;	/* what mbedtls seals of it: exactly t->sealed below */
	int rc = mbedtls_ssl_write(&t->ssl, buf, len);
	if (rc >= 0) {
		t->sealed = 0;
		return rc;
	}
	if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
		t->sealed = len;
	return io_error(t, rc, 0);
}

static void tls_free(struct tport *b)
{
	struct tls_tport *t = (struct tls_tport *)b;
	if (t->hs_done && !t->sys_errno)	/* best effort: clients see a clean end */
		mbedtls_ssl_close_notify(&t->ssl);
	mbedtls_ssl_free(&t->ssl);
	free(t);
}

static const struct tport_ops tls_ops = { tls_read, tls_write, tls_free };

static struct tport *tls_wrap(struct tport_tls *base, int fd, const char *host)
{
	struct tls_conf *cf = (struct tls_conf *)base;
	struct tls_tport *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	mbedtls_ssl_init(&t->ssl);
	if (mbedtls_ssl_setup(&t->ssl, &cf->conf) != 0) {
		mbedtls_ssl_free(&t->ssl);
		free(t);
		return NULL;
	}
	/* a member checks a peer's certificate against the peer CA and the host of its
	 * peer URL (mbedtls matches an address against the IP subjectAltNames) */
	if (cf->client && mbedtls_ssl_set_hostname(&t->ssl, host) != 0) {
		mbedtls_ssl_free(&t->ssl);
		free(t);
		return NULL;
	}
	mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
	t->base.ops = &tls_ops;
	t->base.fd = fd;
	t->client = cf->client;
	t->base.read_events = EPOLLIN;
	if (t->client && host)	/* not connected yet: no address to ask for */
		snprintf(t->peer, sizeof(t->peer), "%s", host);
	else
		peer_name(fd, t->peer, sizeof(t->peer));
	return &t->base;
}

/* ---- the configuration ---- */
/* "--flag FILE: reason" for a file that cannot be opened or that mbedtls refused. */
static int file_error(const char *flag, const char *path, int rc, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s %s: %s", flag, path, strerror(errno));
		return -EINVAL;
	}
	fclose(f);
	char why[200];
	mbedtls_strerror(rc, why, sizeof(why));
	snprintf(err, errlen, "%s %s: %s", flag, path, why);
	return -EINVAL;
}

static int load_files(struct tls_conf *cf, const struct tport_tls_opts *o, char *err,
		      size_t errlen)
{
	const char *pre = o->flag_prefix ? o->flag_prefix : "";
	char cf_flag[40], kf_flag[40], ca_flag[48];
	snprintf(cf_flag, sizeof(cf_flag), "--%scert-file", pre);
	snprintf(kf_flag, sizeof(kf_flag), "--%skey-file", pre);
	snprintf(ca_flag, sizeof(ca_flag), "--%strusted-ca-file", pre);
	int rc = mbedtls_x509_crt_parse_file(&cf->crt, o->cert_file);
	if (rc != 0)
		return file_error(cf_flag, o->cert_file, rc, err, errlen);
	rc = mbedtls_pk_parse_keyfile(&cf->key, o->key_file, NULL, mbedtls_ctr_drbg_random,
				      &cf->drbg);
	if (rc != 0)
		return file_error(kf_flag, o->key_file, rc, err, errlen);
	if (mbedtls_pk_check_pair(&cf->crt.pk, &cf->key, mbedtls_ctr_drbg_random, &cf->drbg)) {
		snprintf(err, errlen, "%s %s is not the key of %s %s", kf_flag, o->key_file,
			 cf_flag, o->cert_file);
		return -EINVAL;
	}
	if (o->ca_file && o->ca_file[0] &&
	    (rc = mbedtls_x509_crt_parse_file(&cf->ca, o->ca_file)) != 0)
		return file_error(ca_flag, o->ca_file, rc, err, errlen);
	return 0;
}

static int configure(struct tls_conf *cf, const struct tport_tls_opts *o, char *err,
		     size_t errlen)
{
	static const char *alpn[] = { "http/1.1", "h2", NULL };
	char why[200];
	int rc;
	if ((rc = psa_crypto_init()) != PSA_SUCCESS) {
		snprintf(err, errlen, "TLS: cannot start the crypto library (psa error %d)", rc);
		return -EINVAL;
	}
	rc = mbedtls_ctr_drbg_seed(&cf->drbg, mbedtls_entropy_func, &cf->entropy,
				   (const unsigned char *)"cabind-kv", 9);
	if (rc == 0 && (rc = load_files(cf, o, err, errlen)) < 0)
		return rc;
	if (rc == 0)
		rc = mbedtls_ssl_config_defaults(&cf->conf, o->client ? MBEDTLS_SSL_IS_CLIENT
								       : MBEDTLS_SSL_IS_SERVER,
						 MBEDTLS_SSL_TRANSPORT_STREAM,
						 MBEDTLS_SSL_PRESET_DEFAULT);
	if (rc == 0)
		rc = mbedtls_ssl_conf_own_cert(&cf->conf, &cf->crt, &cf->key);
	if (rc == 0 && !o->client)
		rc = mbedtls_ssl_conf_alpn_protocols(&cf->conf, alpn);
	if (rc != 0) {
		mbedtls_strerror(rc, why, sizeof(why));
		snprintf(err, errlen, "TLS: %s", why);
		return rc == MBEDTLS_ERR_SSL_ALLOC_FAILED ? -ENOMEM : -EINVAL;
	}
	mbedtls_ssl_conf_rng(&cf->conf, mbedtls_ctr_drbg_random, &cf->drbg);
	if (o->ca_file && o->ca_file[0]) {
		mbedtls_ssl_conf_ca_chain(&cf->conf, &cf->ca, NULL);
		mbedtls_ssl_conf_authmode(&cf->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	} else {
		mbedtls_ssl_conf_authmode(&cf->conf, MBEDTLS_SSL_VERIFY_NONE);
	}
	return 0;
}

int tport_tls_new(const struct tport_tls_opts *o, struct tport_tls **out, char *err,
		  size_t errlen)
{
	if (o->client_cert_auth && !(o->ca_file && o->ca_file[0])) {
		snprintf(err, errlen, "--client-cert-auth needs --trusted-ca-file (the CA that "
			 "signs the client certificates)");
		return -EINVAL;
	}
	struct tls_conf *cf = calloc(1, sizeof(*cf));
	if (!cf) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	cf->base.wrap = tls_wrap;
	cf->client = o->client;
	mbedtls_ssl_config_init(&cf->conf);
	mbedtls_x509_crt_init(&cf->crt);
	mbedtls_x509_crt_init(&cf->ca);
	mbedtls_pk_init(&cf->key);
	mbedtls_entropy_init(&cf->entropy);
	mbedtls_ctr_drbg_init(&cf->drbg);
	int rc = configure(cf, o, err, errlen);
	if (rc < 0) {
		tport_tls_free(&cf->base);
		return rc;
	}
	*out = &cf->base;
	return 0;
}

void tport_tls_free(struct tport_tls *tls)
{
	struct tls_conf *cf = (struct tls_conf *)tls;
	if (!cf)
		return;
	mbedtls_ssl_config_free(&cf->conf);
	mbedtls_x509_crt_free(&cf->crt);
	mbedtls_x509_crt_free(&cf->ca);
	mbedtls_pk_free(&cf->key);
	mbedtls_ctr_drbg_free(&cf->drbg);
	mbedtls_entropy_free(&cf->entropy);
	free(cf);
}
