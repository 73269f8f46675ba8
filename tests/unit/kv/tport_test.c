/* The KV port's transport over socket pairs: plain pass-through; TLS handshakes against an
 * mbedtls client with a certificate made here (ALPN choice, client certificates, garbage
 * instead of a ClientHello); writes that stall and resume with the bytes mbedtls sealed;
 * and the start-up errors of tport_tls_new. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <psa/crypto.h>

#include "../../../kv/tport.h"
#include "../testutil.h"

static char dir[64], cert_path[96], key_path[96], junk_path[96];
static mbedtls_entropy_context entropy;
static mbedtls_ctr_drbg_context drbg;

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		abort();
}

/* A self-signed P-256 certificate for CN=localhost: the server's, the clients' and the CA
 * all at once (mbedtls trusts a certificate found in its CA list as it is). */
static void make_cert(void)
{
	mbedtls_pk_context key;
	mbedtls_x509write_cert w;
	unsigned char pem[4096], serial[1] = { 1 };
	mbedtls_pk_init(&key);
	mbedtls_x509write_crt_init(&w);
	if (mbedtls_pk_setup(&key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) ||
	    mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(key),
				mbedtls_ctr_drbg_random, &drbg))
		abort();
	mbedtls_x509write_crt_set_subject_key(&w, &key);
	mbedtls_x509write_crt_set_issuer_key(&w, &key);
	mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
	if (mbedtls_x509write_crt_set_subject_name(&w, "CN=localhost") ||
	    mbedtls_x509write_crt_set_issuer_name(&w, "CN=localhost") ||
	    mbedtls_x509write_crt_set_serial_raw(&w, serial, 1) ||
	    mbedtls_x509write_crt_set_validity(&w, "20200101000000", "20991231235959") ||
	    mbedtls_x509write_crt_pem(&w, pem, sizeof(pem), mbedtls_ctr_drbg_random, &drbg))
		abort();
	write_file(cert_path, pem, strlen((char *)pem));
	if (mbedtls_pk_write_key_pem(&key, pem, sizeof(pem)))
		abort();
	write_file(key_path, pem, strlen((char *)pem));
	write_file(junk_path, "junk\n", 5);
	mbedtls_x509write_crt_free(&w);
	mbedtls_pk_free(&key);
}

/* ---- an mbedtls client on the other end of the pair ---- */
struct client {
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	mbedtls_x509_crt crt;
	mbedtls_pk_context key;
	int fd;
};

static int cli_send(void *ctx, const unsigned char *buf, size_t len)
{
	ssize_t n = write(*(int *)ctx, buf, len);
	return n >= 0 ? (int)n : errno == EAGAIN ? MBEDTLS_ERR_SSL_WANT_WRITE : -1;
}

static int cli_recv(void *ctx, unsigned char *buf, size_t len)
{
	ssize_t n = read(*(int *)ctx, buf, len);
	return n >= 0 ? (int)n : errno == EAGAIN ? MBEDTLS_ERR_SSL_WANT_READ : -1;
}

/* alpn: NULL-terminated list or NULL; with_cert: present the certificate. */
static void client_init(struct client *c, int fd, const char **alpn, int with_cert)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	mbedtls_ssl_config_init(&c->conf);
	mbedtls_ssl_init(&c->ssl);
	mbedtls_x509_crt_init(&c->crt);
	mbedtls_pk_init(&c->key);
	if (mbedtls_x509_crt_parse_file(&c->crt, cert_path) ||
	    mbedtls_pk_parse_keyfile(&c->key, key_path, NULL, mbedtls_ctr_drbg_random, &drbg) ||
	    mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT,
					MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT))
		abort();
	mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &drbg);
	mbedtls_ssl_conf_ca_chain(&c->conf, &c->crt, NULL);
	mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	if ((alpn && mbedtls_ssl_conf_alpn_protocols(&c->conf, alpn)) ||
	    (with_cert && mbedtls_ssl_conf_own_cert(&c->conf, &c->crt, &c->key)) ||
	    mbedtls_ssl_setup(&c->ssl, &c->conf) || mbedtls_ssl_set_hostname(&c->ssl, "localhost"))
		abort();
	mbedtls_ssl_set_bio(&c->ssl, &c->fd, cli_send, cli_recv, NULL);
}

static void client_free(struct client *c)
{
	mbedtls_ssl_free(&c->ssl);
	mbedtls_ssl_config_free(&c->conf);
	mbedtls_x509_crt_free(&c->crt);
	mbedtls_pk_free(&c->key);
	close(c->fd);
}

static void pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
}

static struct tport_tls *server_tls(const char *ca, int client_cert_auth)
{
	struct tport_tls_opts o = { .cert_file = cert_path, .key_file = key_path, .ca_file = ca,
				    .client_cert_auth = client_cert_auth };
	struct tport_tls *tls = NULL;
	char err[300];
	if (tport_tls_new(&o, &tls, err, sizeof(err)) < 0) {
		fprintf(stderr, "tport_tls_new: %s\n", err);
		abort();
	}
	return tls;
}

/* Turns both ends until the client has finished its handshake and the server has read
 * the client's "ping" after it. Returns the server's last tport_read result: 4 when it
 * got the ping, else the error that ended it. */
static ssize_t handshake(struct tport *srv, struct client *c)
{
	int cdone = 0, sent = 0;
	for (int i = 0; i < 200; i++) {
		if (!cdone) {
			int rc = mbedtls_ssl_handshake(&c->ssl);
			if (rc == 0)
				cdone = 1;
			else if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE)
				cdone = -1;	/* the client gave up: the server must too */
		}
		if (cdone == 1 && !sent)
			sent = mbedtls_ssl_write(&c->ssl, (const unsigned char *)"ping", 4) == 4;
		char buf[16384];
		ssize_t n = tport_read(srv, buf, sizeof(buf));
		if (n != -EAGAIN)
			return n == 4 && memcmp(buf, "ping", 4) == 0 ? 4 : n < 0 ? n : -1000;
	}
	return -EAGAIN;
}

static void test_plain(void)
{
	int sv[2];
	pair(sv);
	struct tport *t = tport_new(sv[0], NULL);
	char buf[64];
	TU_EQ_INT(tport_read(t, buf, sizeof(buf)), -EAGAIN);
	TU_EQ_INT(tport_read_events(t), EPOLLIN);
	TU_EQ_INT(tport_write(t, "hello", 5), 5);
	TU_EQ_INT(read(sv[1], buf, sizeof(buf)), 5);
	TU_EQ_INT(write(sv[1], "abc", 3), 3);
	TU_EQ_INT(tport_read(t, buf, sizeof(buf)), 3);
	TU_CHECK(tport_alpn(t) == NULL);
	close(sv[1]);
	TU_EQ_INT(tport_read(t, buf, sizeof(buf)), 0);
	tport_free(t);
}

/* The server's preference: http/1.1 when offered (curl), h2 for gRPC clients. */
static void test_alpn(void)
{
	static const char *h2[] = { "h2", NULL }, *both[] = { "h2", "http/1.1", NULL };
	const char **offers[] = { h2, both, NULL };
	const char *want[] = { "h2", "http/1.1", NULL };
	struct tport_tls *tls = server_tls(NULL, 0);
	for (int i = 0; i < 3; i++) {
		int sv[2];
		struct client c;
		pair(sv);
		struct tport *t = tport_new(sv[0], tls);
		client_init(&c, sv[1], offers[i], 0);
		TU_EQ_INT(handshake(t, &c), 4);
		if (want[i])
			TU_EQ_STR(tport_alpn(t), want[i]);
		else
			TU_CHECK(tport_alpn(t) == NULL);
		TU_EQ_STR(mbedtls_ssl_get_alpn_protocol(&c.ssl) ? mbedtls_ssl_get_alpn_protocol(&c.ssl) :
			  "none", want[i] ? want[i] : "none");
		tport_free(t);
		client_free(&c);
	}
	tport_tls_free(tls);
}

static void test_client_certs(void)
{
	struct tport_tls *tls = server_tls(cert_path, 1);
	for (int with = 1; with >= 0; with--) {
		int sv[2];
		struct client c;
		pair(sv);
		struct tport *t = tport_new(sv[0], tls);
		client_init(&c, sv[1], NULL, with);
		ssize_t rc = handshake(t, &c);
		if (with)
			TU_EQ_INT(rc, 4);
		else
			TU_CHECK(rc < 0 && rc != -EAGAIN);
		tport_free(t);
		client_free(&c);
	}
	tport_tls_free(tls);
}

/* A plain-text HTTP request, then random bytes, where a ClientHello belongs. */
static void test_not_tls(void)
{
	struct tport_tls *tls = server_tls(NULL, 0);
	const char *inputs[] = { "GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
				 "\x16\x03\x01\xff\xff\x01\x02 a record longer than TLS allows" };
	for (int i = 0; i < 2; i++) {
		int sv[2];
		char buf[16384];
		pair(sv);
		struct tport *t = tport_new(sv[0], tls);
		TU_EQ_INT(tport_read(t, buf, sizeof(buf)), -EAGAIN);
		TU_CHECK(write(sv[1], inputs[i], strlen(inputs[i])) > 0);
		ssize_t n = tport_read(t, buf, sizeof(buf));
		TU_CHECK(n < 0 && n != -EAGAIN);
		tport_free(t);
		close(sv[1]);
	}
	tport_tls_free(tls);
}

/* Drains what the client can read now into got (at most cap bytes in all). */
static size_t client_drain(struct client *c, uint8_t *got, size_t have, size_t cap)
{
	for (;;) {
		int n = mbedtls_ssl_read(&c->ssl, got + have, cap - have);
		if (n <= 0)
			return have;
		have += (size_t)n;
	}
}

/* A socket buffer far smaller than the data: writes stall, resume with the sealed bytes,
 * and the client gets every byte in order. A retry with more bytes than were sealed takes
 * only those (a record's worth). */
static void test_partial_writes(void)
{
	enum { LEN = 1 << 20 };
	uint8_t *data = malloc(LEN), *got = malloc(LEN);
	for (size_t i = 0; i < LEN; i++)
		data[i] = (uint8_t)(i * 7 + i / 251);
	struct tport_tls *tls = server_tls(NULL, 0);
	int sv[2], small = 4096;
	struct client c;
	pair(sv);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	struct tport *t = tport_new(sv[0], tls);
	client_init(&c, sv[1], NULL, 0);
	TU_EQ_INT(handshake(t, &c), 4);
	/* fill the socket until a record is sealed but not sent */
	size_t off = 0, have = 0;
	ssize_t w;
	while ((w = tport_write(t, data + off, 16384)) > 0)
		off += (size_t)w;
	TU_EQ_INT(w, -EAGAIN);
	int spins = 0;
	do {	/* must not claim the extra bytes */
		have = client_drain(&c, got, have, LEN);
		w = tport_write(t, data + off, 16384 + 1000);
	} while (w == -EAGAIN && spins++ < 1000);
	TU_CHECK(w > 0 && w <= 16384);	/* a record's worth, what was sealed */
	off += w > 0 ? (size_t)w : 0;
	int stalls = 0;
	for (spins = 0; (off < LEN || have < LEN) && spins < 100000; spins++) {
		if (tport_write_out(t, data, &off, LEN) < 0)
			break;
		stalls += off < LEN;
		have = client_drain(&c, got, have, LEN);
	}
	TU_CHECK(stalls > 0);
	TU_EQ_INT(off, LEN);
	TU_EQ_INT(have, LEN);
	TU_CHECK(memcmp(data, got, LEN) == 0);
	tport_free(t);
	client_free(&c);
	tport_tls_free(tls);
	free(data);
	free(got);
}

static void test_config_errors(void)
{
	struct tport_tls *tls = NULL;
	char err[300], want[400];
	struct tport_tls_opts o = { .cert_file = "/nonexistent/cert.pem", .key_file = key_path };
	TU_EQ_INT(tport_tls_new(&o, &tls, err, sizeof(err)), -EINVAL);
	TU_EQ_STR(err, "--cert-file /nonexistent/cert.pem: No such file or directory");
	o.cert_file = junk_path;
	TU_EQ_INT(tport_tls_new(&o, &tls, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "--cert-file %s: X509 - ", junk_path);
	TU_CHECK(strncmp(err, want, strlen(want)) == 0);
	o.cert_file = cert_path;
	o.key_file = junk_path;
	TU_EQ_INT(tport_tls_new(&o, &tls, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "--key-file %s: PK - ", junk_path);
	TU_CHECK(strncmp(err, want, strlen(want)) == 0);
	o.key_file = key_path;
	o.client_cert_auth = 1;
	TU_EQ_INT(tport_tls_new(&o, &tls, err, sizeof(err)), -EINVAL);
	TU_CHECK(strstr(err, "--client-cert-auth needs --trusted-ca-file") != NULL);
	o.ca_file = "/nonexistent/ca.pem";
	TU_EQ_INT(tport_tls_new(&o, &tls, err, sizeof(err)), -EINVAL);
	TU_EQ_STR(err, "--trusted-ca-file /nonexistent/ca.pem: No such file or directory");
	TU_CHECK(tls == NULL);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/tport_test.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(cert_path, sizeof(cert_path), "%s/cert.pem", dir);
	snprintf(key_path, sizeof(key_path), "%s/key.pem", dir);
	snprintf(junk_path, sizeof(junk_path), "%s/junk.pem", dir);
	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	if (psa_crypto_init() != PSA_SUCCESS ||
	    mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0))
		abort();
	make_cert();
	TU_RUN(test_plain);
	TU_RUN(test_alpn);
	TU_RUN(test_client_certs);
	TU_RUN(test_not_tls);
	TU_RUN(test_partial_writes);
	TU_RUN(test_config_errors);
	unlink(cert_path);
	unlink(key_path);
	unlink(junk_path);
	rmdir(dir);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&entropy);
	mbedtls_psa_crypto_free();
	return TU_EXIT();
}
