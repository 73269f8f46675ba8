/* etcd's flags for the KV store: names, defaults and checks, so that an etcd command line
 * works for cabind unchanged. Pure: no I/O. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"

const char *const kv_flag_names[] = {
	"name", "data-dir", "listen-client-urls", "advertise-client-urls",
	"listen-peer-urls", "initial-advertise-peer-urls", "initial-cluster",
	"initial-cluster-state", "initial-cluster-token", "cert-file", "key-file",
	"trusted-ca-file", "client-cert-auth", "peer-cert-file", "peer-key-file",
	"peer-trusted-ca-file", "peer-client-cert-auth", "heartbeat-interval",
	"election-timeout", "snapshot-count", "quota-backend-bytes", NULL,
};

void kv_opts_defaults(struct kv_opts *o)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->name, sizeof(o->name), "default");
	snprintf(o->listen_client, sizeof(o->listen_client), "http://localhost:2379");
	snprintf(o->advertise_client, sizeof(o->advertise_client), "http://localhost:2379");
	snprintf(o->listen_peer, sizeof(o->listen_peer), "http://localhost:2380");
	snprintf(o->advertise_peer, sizeof(o->advertise_peer), "http://localhost:2380");
	snprintf(o->initial_cluster_state, sizeof(o->initial_cluster_state), "new");
	snprintf(o->initial_cluster_token, sizeof(o->initial_cluster_token), "etcd-cluster");
	o->heartbeat_ms = 100;
	o->election_ms = 1000;
	o->snapshot_count = 100000;
}

static int set_str(char *dst, size_t cap, const char *flag, const char *v, char *err,
		   size_t errlen)
{
	if (strlen(v) >= cap) {
		snprintf(err, errlen, "--%s: longer than %zu bytes", flag, cap - 1);
		return -EINVAL;
	}
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int set_u64(uint64_t *dst, uint64_t lo, uint64_t hi, const char *flag, const char *v,
		   char *err, size_t errlen)
{
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || n < lo || n > hi) {
		snprintf(err, errlen, "--%s=%s: expected a number from %llu to %llu", flag, v,
			 (unsigned long long)lo, (unsigned long long)hi);
		return -EINVAL;
	}
	*dst = n;
	return 0;
}

static int set_bool(int *dst, const char *flag, const char *v, char *err, size_t errlen)
{
	if (!v || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
		*dst = 1;
	else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
		*dst = 0;
	else {
		snprintf(err, errlen, "--%s=%s: expected true or false", flag, v);
		return -EINVAL;
	}
	return 0;
}

static int set_urls(char *dst, size_t cap, const char *flag, const char *v, char *err,
		    size_t errlen)
{
	struct kv_url u[KV_URLS_MAX];
	char why[300];
	if (kv_parse_urls(v, u, KV_URLS_MAX, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "--%s: %s", flag, why);
		return -EINVAL;
	}
	return set_str(dst, cap, flag, v, err, errlen);
}

#define STR(field) set_str(o->field, sizeof(o->field), flag, value, err, errlen)

int kv_opts_set(struct kv_opts *o, const char *flag, const char *value, char *err,
		size_t errlen)
{
	uint64_t n;
	int rc;
	if (strcmp(flag, "client-cert-auth") == 0)
		return set_bool(&o->client_cert_auth, flag, value, err, errlen);
	if (strcmp(flag, "peer-client-cert-auth") == 0)
		return set_bool(&o->peer_client_cert_auth, flag, value, err, errlen);
	if (!value) {
		snprintf(err, errlen, "--%s: a value is required", flag);
		return -EINVAL;
	}
	if (strcmp(flag, "name") == 0)
		return STR(name);
	if (strcmp(flag, "data-dir") == 0)
		return STR(data_dir);
	if (strcmp(flag, "listen-client-urls") == 0)
		return set_urls(o->listen_client, sizeof(o->listen_client), flag, value, err, errlen);
	if (strcmp(flag, "advertise-client-urls") == 0)
		return set_urls(o->advertise_client, sizeof(o->advertise_client), flag, value, err,
				errlen);
	if (strcmp(flag, "listen-peer-urls") == 0)
		return set_urls(o->listen_peer, sizeof(o->listen_peer), flag, value, err, errlen);
	if (strcmp(flag, "initial-advertise-peer-urls") == 0)
		return set_urls(o->advertise_peer, sizeof(o->advertise_peer), flag, value, err,
				errlen);
	if (strcmp(flag, "initial-cluster") == 0)
		return STR(initial_cluster);
	if (strcmp(flag, "initial-cluster-state") == 0) {
		if (strcmp(value, "new") && strcmp(value, "existing")) {
			snprintf(err, errlen, "--initial-cluster-state=%s: expected new or existing",
				 value);
			return -EINVAL;
		}
		return STR(initial_cluster_state);
	}
	if (strcmp(flag, "initial-cluster-token") == 0)
		return STR(initial_cluster_token);
	if (strcmp(flag, "cert-file") == 0)
		return STR(cert_file);
	if (strcmp(flag, "key-file") == 0)
		return STR(key_file);
	if (strcmp(flag, "trusted-ca-file") == 0)
		return STR(trusted_ca_file);
	if (strcmp(flag, "peer-cert-file") == 0)
		return STR(peer_cert_file);
	if (strcmp(flag, "peer-key-file") == 0)
		return STR(peer_key_file);
	if (strcmp(flag, "peer-trusted-ca-file") == 0)
		return STR(peer_trusted_ca_file);
	if (strcmp(flag, "heartbeat-interval") == 0) {
		if ((rc = set_u64(&n, 1, 60000, flag, value, err, errlen)) == 0)
			o->heartbeat_ms = (unsigned)n;
		return rc;
	}
	if (strcmp(flag, "election-timeout") == 0) {
		if ((rc = set_u64(&n, 1, 600000, flag, value, err, errlen)) == 0)
			o->election_ms = (unsigned)n;
		return rc;
	}
	if (strcmp(flag, "snapshot-count") == 0)
		return set_u64(&o->snapshot_count, 1, UINT64_MAX, flag, value, err, errlen);
	if (strcmp(flag, "quota-backend-bytes") == 0) {
		if ((rc = set_u64(&n, 0, INT64_MAX, flag, value, err, errlen)) == 0)
			o->quota_backend_bytes = (int64_t)n;
		return rc;
	}
	return 1;
}

/* One "scheme://host:port" of a list, between p and end. */
static int parse_url(const char *p, const char *end, struct kv_url *u)
{
	size_t n = (size_t)(end - p);
	if (n > 7 && strncmp(p, "http://", 7) == 0) {
		u->tls = 0;
		p += 7;
	} else if (n > 8 && strncmp(p, "https://", 8) == 0) {
		u->tls = 1;
		p += 8;
	} else {
		return -1;
	}
	if (end > p && end[-1] == '/')
		end--;	/* a trailing slash, as etcd allows */
	const char *colon;
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));
		if (!rb || rb + 1 >= end || rb[1] != ':')
			return -1;
		if ((size_t)(rb - p - 1) >= sizeof(u->host) || rb == p + 1)
			return -1;
		memcpy(u->host, p + 1, (size_t)(rb - p - 1));
		u->host[rb - p - 1] = '\0';
		colon = rb + 1;
	} else {
		colon = NULL;
		for (const char *q = p; q < end; q++)
			if (*q == ':')
				colon = q;
		if (!colon || colon == p || (size_t)(colon - p) >= sizeof(u->host))
			return -1;
		memcpy(u->host, p, (size_t)(colon - p));
		u->host[colon - p] = '\0';
		if (strchr(u->host, '/') || strchr(u->host, ':'))
			return -1;
	}
	long port = 0;
	const char *q = colon + 1;
	if (q == end)
		return -1;
	for (; q < end; q++) {
		if (*q < '0' || *q > '9' || port > 65535)
			return -1;
		port = port * 10 + (*q - '0');
	}
	if (port > 65535)
		return -1;
	u->port = (int)port;
	return 0;
}

int kv_parse_urls(const char *list, struct kv_url *out, int max, char *err, size_t errlen)
{
	int n = 0;
	const char *p = list;
	for (;;) {
		const char *end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		if (n == max) {
			snprintf(err, errlen, "more than %d URLs", max);
			return -EINVAL;
		}
		if (parse_url(p, end, &out[n]) < 0) {
			snprintf(err, errlen, "\"%.*s\": expected http://HOST:PORT or https://HOST:PORT",
				 (int)(end - p > 200 ? 200 : end - p), p);
			return -EINVAL;
		}
		n++;
		if (!*end)
			return n;
		p = end + 1;
	}
}
