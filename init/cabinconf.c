/* The cabin: section of user data, the cluster configuration (schema in config.h), read
 * strictly: an unknown key, a wrong type or a bad value is an error naming its path, since
 * a cluster built from a misread configuration is worse than a node that says why not. */
#include <errno.h>
#include <string.h>

#include "config_int.h"

#define PEM_MAX (1u << 20)
#define NKEYS(t) (sizeof(t) / sizeof(*(t)))

/* A string field checked by fn into a fixed buffer. */
static void checked(struct cfg_walk *w, const struct cfg_node *v, const char *path,
		    cfg_check_fn fn, char *out, size_t outsz)
{
	char buf[CFG_URL_MAX + 1];
	size_t max = outsz < sizeof(buf) ? outsz : sizeof(buf);
	if (cfg_get_str(w, v, path, buf, max, 0))
		return;
	const char *why = fn(buf);
	if (why)
		cfg_werr(w, v->line, path, "\"%s\": %s", buf, why);
	else
		strcpy(out, buf);
}

static int port(struct cfg_walk *w, const struct cfg_node *v, const char *path, int *out)
{
	int64_t p;
	if (!cfg_get_int(w, v, path, 1, 65535, &p))
		*out = (int)p;
	return 0;
}

/* ---- members ---- */

static int m_name(struct cfg_walk *w, const struct cfg_node *v, const char *path, void *t)
{
	struct cabin_member *m = t;
	checked(w, v, path, cfg_check_token, m->name, sizeof(m->name));
	return 0;
}

static int m_peer(struct cfg_walk *w, const struct cfg_node *v, const char *path, void *t)
{
	struct cabin_member *m = t;
	checked(w, v, path, cfg_check_http_url, m->peer_url, sizeof(m->peer_url));
	return 0;
}

static int m_client(struct cfg_walk *w, const struct cfg_node *v, const char *path, void *t)
{
	struct cabin_member *m = t;
	checked(w, v, path, cfg_check_http_url, m->client_url, sizeof(m->client_url));
	return 0;
}

static const struct cfg_key member_keys[] = {
	{ "name", m_name },
	{ "peer_url", m_peer },
	{ "client_url", m_client },
};

static int has_key(const struct cfg_node *map, const char *key)
{
	if (map->type != CFG_T_MAP)
		return 0;
	for (const struct cfg_entry *e = map->first; e; e = e->next)
		if (strcmp(e->key, key) == 0)
			return 1;
	return 0;
}

static int members(struct cfg_walk *w, const struct cfg_node *v, const char *path, void *t)
{
	struct cabin_config *c = t;
	char ipath[CFG_PATH_MAX + 1], kpath[CFG_PATH_MAX + 1];
	size_t i = 0, first = c->n_members;
	if (cfg_want(w, v, path, CFG_T_SEQ))
		return 0;
	for (const struct cfg_entry *e = v->first; e; e = e->next, i++) {
		struct cabin_member m;
		size_t errors = w->errors;
		memset(&m, 0, sizeof(m));
		cfg_path_index(ipath, path, i);
		if (e->val->type == CFG_T_NULL) {
			cfg_werr(w, e->val->line, ipath, "expected map, got null");
			continue;
		}
		int rc = cfg_walk_map(w, e->val, ipath, member_keys, NKEYS(member_keys),
				      cfg_unknown_strict, &m);
		if (rc < 0)
			return rc;
		for (size_t k = 0; k < 2 && e->val->type == CFG_T_MAP; k++) {
			const char *key = k ? "peer_url" : "name";
			if (!has_key(e->val, key)) {
				cfg_path_key(kpath, ipath, key);
				cfg_werr(w, e->val->line, kpath, "required");
			}
		}
		for (size_t j = first; j < c->n_members && m.name[0]; j++) {
			if (strcmp(c->members[j].name, m.name) == 0) {
				cfg_path_key(kpath, ipath, "name");
				cfg_werr(w, e->val->line, kpath, "\"%s\" given twice", m.name);
			}
		}
		if (w->errors != errors)
			continue;
		if (cfg_reserve((void **)&c->members, &c->cap_members, c->n_members + 1,
				sizeof(*c->members)) < 0)
			return -ENOMEM;
		c->members[c->n_members++] = m;
	}
	return 0;
}

/* ---- kv ---- */

static int kv_listen(struct cfg_walk *w, const struct cfg_node *v, const char *path, void *t)
{
	struct cabin_config *c = t;
	checked(w, v, path, cfg_check_host, c->kv.listen, sizeof(c->kv.listen));
	return 0;
}

static int kv_client_port(struct cfg_walk *w, const struct cfg_node *v, const char *path,
			  void *t)
{
	return port(w, v, path, &((struct cabin_config *)t)->kv.client_port);
}

static int kv_peer_port(struct cfg_walk *w, const struct cfg_node *v, const char *path,
			void *t)
{
	return port(w, v, path, &((struct cabin_config *)t)->kv.peer_port);
}

static int kv_external(struct cfg_walk *w, const struct cfg_node *v, const char *path,
		       void *t)
{
	struct cabin_config *c = t;
	int rc = cfg_get_strlist(w, v, path, cfg_check_http_url, &c->kv.external);
	return rc < 0 ? rc : 0;
}

static int kv_snapshot(struct cfg_walk *w, const struct cfg_node *v, const char *path,
		       void *t)
{
	struct cabin_config *c = t;
	int64_t n;
	if (!cfg_get_int(w, v, path, 1, INT64_MAX, &n))
		c->kv.snapshot_count = n;
	return 0;
}

static int kv_quota(struct cfg_walk *w, const struct cfg_node *v, const char *path, void *t)
{
	struct cabin_config *c = t;
	int64_t n;
	if (!cfg_get_int(w, v, path, 0, INT64_MAX, &n))
		c->kv.quota_backend_bytes = n;
	return 0;
}

static const struct cfg_key kv_keys[] = {
	{ "listen", kv_listen },
	{ "client_port", kv_client_port },
	{ "peer_port", kv_peer_port },
	{ "external", kv_external },
	{ "snapshot_count", kv_snapshot },
	{ "quota_backend_bytes", kv_quota },
};

/* ---- overlay ---- */

static int ov_network(struct cfg_walk *w, const struct cfg_node *v, const char *path,
		      void *t)
{
	struct cabin_config *c = t;
	char buf[sizeof(c->overlay.network)];
	uint32_t a;
	int prefix;
	if (cfg_get_str(w, v, path, buf, sizeof(buf), 0))
		return 0;
	const char *why = cfg_parse_cidr4(buf, &a, &prefix);
	if (why && strcmp(why, "host bits set") == 0)
		cfg_werr(w, v->line, path, "\"%s\": host bits set (the network is "
			 "%u.%u.%u.%u/%d)", buf, a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255,
			 prefix);
	else if (why)
		cfg_werr(w, v->line, path, "\"%s\": %s", buf, why);
	else {
		strcpy(c->overlay.network, buf);
		c->overlay.addr = a;
		c->overlay.prefix_len = prefix;
	}
	return 0;
}

static int ov_subnet_len(struct cfg_walk *w, const struct cfg_node *v, const char *path,
			 void *t)
{
	struct cabin_config *c = t;
	int64_t n;
	if (!cfg_get_int(w, v, path, 8, 30, &n))
		c->overlay.subnet_len = (int)n;
	return 0;
}

static int ov_backend(struct cfg_walk *w, const struct cfg_node *v, const char *path,
		      void *t)
{
	struct cabin_config *c = t;
	char buf[16];
	if (cfg_get_str(w, v, path, buf, sizeof(buf), 0) == 1)
		return 0;
	if (strcmp(buf, "vxlan") == 0)
		c->overlay.backend = CABIN_BACKEND_VXLAN;
	else if (strcmp(buf, "host-gw") == 0)
		c->overlay.backend = CABIN_BACKEND_HOST_GW;
	else if (strcmp(buf, "udp") == 0)
		c->overlay.backend = CABIN_BACKEND_UDP;
	else
		cfg_werr(w, v->line, path, "\"%s\": expected vxlan, host-gw or udp", buf);
	return 0;
}

static const struct cfg_key overlay_keys[] = {
	{ "network", ov_network },
	{ "subnet_len", ov_subnet_len },
	{ "backend", ov_backend },
};

/* ---- docker ---- */

static int dk_endpoint(struct cfg_walk *w, const struct cfg_node *v, const char *path,
		       void *t)
{
	struct cabin_config *c = t;
	checked(w, v, path, cfg_check_docker_endpoint, c->docker.endpoint,
		sizeof(c->docker.endpoint));
	return 0;
}

static int pem(struct cfg_walk *w, const struct cfg_node *v, const char *path, char **out)
{
	char *s = NULL;
	int rc = cfg_get_strdup(w, v, path, PEM_MAX, CFG_S_MULTILINE, &s);
	if (rc)
		return rc < 0 ? rc : 0;
	if (!strstr(s, "-----BEGIN ") || !strstr(s, "-----END ")) {
		cfg_werr(w, v->line, path, "not PEM text (-----BEGIN ... -----END ...)");
		cfg_free(s);
		return 0;
	}
	cfg_free(*out);
	*out = s;
	return 0;
}

static int dk_ca(struct cfg_walk *w, const struct cfg_node *v, const char *path, void *t)
{
	return pem(w, v, path, &((struct cabin_config *)t)->docker.tls_ca);
}

static int dk_cert(struct cfg_walk *w, const struct cfg_node *v, const char *path, void *t)
{
	return pem(w, v, path, &((struct cabin_config *)t)->docker.tls_cert);
}

static int dk_key(struct cfg_walk *w, const struct cfg_node *v, const char *path, void *t)
{
	return pem(w, v, path, &((struct cabin_config *)t)->docker.tls_key);
}

static const struct cfg_key docker_keys[] = {
	{ "endpoint", dk_endpoint },
	{ "tls_ca", dk_ca },
	{ "tls_cert", dk_cert },
	{ "tls_key", dk_key },
};

/* ---- labels ---- */

static int labels(struct cfg_walk *w, const struct cfg_node *v, const char *path, void *t)
{
	struct cabin_config *c = t;
	char kpath[CFG_PATH_MAX + 1];
	if (cfg_want(w, v, path, CFG_T_MAP))
		return 0;
	if (v->n > CFG_LABELS_MAX) {
		cfg_werr(w, v->line, path, "%zu labels; at most %d", v->n, CFG_LABELS_MAX);
		return 0;
	}
	for (const struct cfg_entry *e = v->first; e; e = e->next) {
		char *key, *val = NULL;
		cfg_path_key(kpath, path, e->key);
		const char *why = cfg_check_label_key(e->key);
		if (why) {
			cfg_werr(w, e->line, kpath, "%s", why);
			continue;
		}
		int rc = cfg_get_strdup(w, e->val, kpath, 255, CFG_S_EMPTY, &val);
		if (rc < 0)
			return rc;
		if (rc)
			continue;
		if (!(key = cfg_strndup(e->key, strlen(e->key))) ||
		    cabin_label_set(c, key, val) < 0) {
			cfg_free(key);
			cfg_free(val);
			return -ENOMEM;
		}
	}
	return 0;
}

/* ---- the section ---- */

static int cluster(struct cfg_walk *w, const struct cfg_node *v, const char *path, void *t)
{
	struct cabin_config *c = t;
	checked(w, v, path, cfg_check_token, c->cluster, sizeof(c->cluster));
	return 0;
}

#define SUBSECTION(fn, keys)                                                            \
	static int fn(struct cfg_walk *w, const struct cfg_node *v, const char *path,   \
		      void *t)                                                          \
	{                                                                               \
		return cfg_walk_map(w, v, path, keys, NKEYS(keys), cfg_unknown_strict, t); \
	}
SUBSECTION(kv, kv_keys)
SUBSECTION(overlay, overlay_keys)
SUBSECTION(docker, docker_keys)

static const struct cfg_key cabin_keys[] = {
	{ "cluster", cluster },
	{ "members", members },
	{ "kv", kv },
	{ "overlay", overlay },
	{ "docker", docker },
	{ "labels", labels },
};

void cabin_check(struct cfg_walk *w, const struct cabin_config *c)
{
	int sub = c->overlay.subnet_len ? c->overlay.subnet_len : 24;
	if (c->overlay.prefix_len >= 0 && sub <= c->overlay.prefix_len)
		cfg_werr(w, 0, c->overlay.subnet_len ? "cabin.overlay.subnet_len" :
			 "cabin.overlay.network", "subnets of /%d do not fit in the /%d network",
			 sub, c->overlay.prefix_len);
	if (!c->docker.tls_cert != !c->docker.tls_key)
		cfg_werr(w, 0, "cabin.docker", "tls_cert and tls_key must be given together");
}

int cabin_apply(struct cfg_walk *w, const struct cfg_node *v, const char *path, void *t)
{
	struct node_config *cfg = t;
	cfg->cabin.present = 1;
	if (v->type == CFG_T_NULL)
		return 0;
	return cfg_walk_map(w, v, path, cabin_keys, NKEYS(cabin_keys), cfg_unknown_strict,
			    &cfg->cabin);
}
