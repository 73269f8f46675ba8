/* The appliance's KV store options, made from the cabin: section of its user data the way
 * an operator would write etcd's flags by hand: this node is the member named after its
 * host name. Pure: no I/O, so every mapping can be checked by feeding it configurations. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cabind.h"
#include "config.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Writes fmt into dst[cap]; returns 0, or -EINVAL when it does not fit (never truncated). */
static int put(char *dst, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int put(char *dst, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(dst, cap, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= cap ? -EINVAL : 0;
}

/* A host as it goes into a URL: IPv6 literals in brackets. */
static const char *lb(const char *host) { return strchr(host, ':') ? "[" : ""; }
static const char *rb(const char *host) { return strchr(host, ':') ? "]" : ""; }

/* The whole --initial-cluster list, name=peer_url for every member. */
static int initial_cluster(const struct cabin_config *cc, struct kv_opts *o, char *err,
			   size_t errlen)
{
	size_t len = 0;
	o->initial_cluster[0] = '\0';
	for (size_t i = 0; i < cc->n_members; i++) {
		const struct cabin_member *m = &cc->members[i];
		if (put(o->initial_cluster + len, sizeof(o->initial_cluster) - len, "%s%s=%s",
			i ? "," : "", m->name, m->peer_url) < 0)
			return fail(err, errlen, "cabin.members: the initial cluster is longer than "
				    "%zu bytes", sizeof(o->initial_cluster) - 1);
		len += strlen(o->initial_cluster + len);
	}
	return 0;
}

/* This node as one of the members: the one named like the host. */
static int member_opts(const struct cabin_config *cc, const char *hostname,
		       struct kv_opts *o, int client_port, int peer_port, char *err,
		       size_t errlen)
{
	const struct cabin_member *me = NULL;
	for (size_t i = 0; i < cc->n_members && !me; i++)
		if (strcmp(cc->members[i].name, hostname) == 0)
			me = &cc->members[i];
	if (!me)
		return fail(err, errlen, "cabin.members: no member is named after this node's "
			    "host name %s", hostname);
	struct kv_url peer;
	char why[300];
	if (kv_parse_urls(me->peer_url, &peer, 1, why, sizeof(why)) != 1)
		return fail(err, errlen, "cabin.members: %s: peer_url %s", me->name, why);
	/* without kv.peer_port, listen where the member's own peer URL says */
	if (!peer_port)
		peer_port = peer.port;
	if (initial_cluster(cc, o, err, errlen) < 0)
		return -EINVAL;
	int rc = put(o->name, sizeof(o->name), "%s", me->name);
	rc |= put(o->advertise_peer, sizeof(o->advertise_peer), "%s", me->peer_url);
	rc |= put(o->listen_peer, sizeof(o->listen_peer), "%s://0.0.0.0:%d",
		  peer.tls ? "https" : "http", peer_port);
	if (me->client_url[0])
		rc |= put(o->advertise_client, sizeof(o->advertise_client), "%s",
			  me->client_url);
	else
		rc |= put(o->advertise_client, sizeof(o->advertise_client), "http://%s%s%s:%d",
			  lb(peer.host), peer.host, rb(peer.host), client_port);
	return rc ? fail(err, errlen, "cabin.members: %s: a URL is too long", me->name) : 0;
}

/* A node without a members list is a cluster of one, named after the host; its peer
 * URLs stay etcd's defaults (a member alone opens no peer port). */
static int single_opts(const char *hostname, struct kv_opts *o, int client_port,
		       char *err, size_t errlen)
{
	int rc = put(o->name, sizeof(o->name), "%s", hostname);
	rc |= put(o->initial_cluster, sizeof(o->initial_cluster), "%s=%s", hostname,
		  o->advertise_peer);
	rc |= put(o->advertise_client, sizeof(o->advertise_client), "http://%s:%d", hostname,
		  client_port);
	return rc ? fail(err, errlen, "host name %s is too long for a member name",
			 hostname) : 0;
}

int kvconf_from_cabin(const struct cabin_config *cc, const char *hostname,
		      const char *data_dir, struct kv_opts *o, char *err, size_t errlen)
{
	kv_opts_defaults(o);
	if (cc && cc->kv.external.n)
		return 0;
	int client_port = cc && cc->kv.client_port ? cc->kv.client_port : 2379;
	int peer_port = cc ? cc->kv.peer_port : 0;
	const char *listen = cc && cc->kv.listen[0] ? cc->kv.listen : "0.0.0.0";
	if (put(o->data_dir, sizeof(o->data_dir), "%s", data_dir) < 0)
		return fail(err, errlen, "data dir %s: too long", data_dir);
	if (put(o->listen_client, sizeof(o->listen_client), "http://%s%s%s:%d", lb(listen),
		listen, rb(listen), client_port) < 0)
		return fail(err, errlen, "cabin.kv.listen: too long");
	/* without cabin.cluster, etcd's default token */
	if (cc && cc->cluster[0] && put(o->initial_cluster_token,
					sizeof(o->initial_cluster_token), "%s", cc->cluster) < 0)
		return fail(err, errlen, "cabin.cluster: too long");
	if (cc && cc->kv.snapshot_count > 0)
		o->snapshot_count = (uint64_t)cc->kv.snapshot_count;
	if (cc && cc->kv.quota_backend_bytes >= 0)
		o->quota_backend_bytes = cc->kv.quota_backend_bytes;
	int rc = cc && cc->n_members ?
		 member_opts(cc, hostname, o, client_port, peer_port, err, errlen) :
		 single_opts(hostname, o, client_port, err, errlen);
	return rc < 0 ? rc : 1;
}
