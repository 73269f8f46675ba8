/* struct node_config: initialisation, defaults, freeing, and the merge that applies one
 * source's findings to what earlier sources set, all-or-nothing. Also the one allocator
 * every config parser allocates through. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

static void *libc_realloc(void *ctx, void *p, size_t n)
{
	(void)ctx;
	if (n == 0) {
		free(p);
		return NULL;
	}
	return realloc(p, n);
}

static cfg_realloc_fn alloc_fn = libc_realloc;
static void *alloc_ctx;

void cfg_set_allocator(cfg_realloc_fn fn, void *ctx)
{
	alloc_fn = fn ? fn : libc_realloc;
	alloc_ctx = fn ? ctx : NULL;
}

void *cfg_malloc(size_t n)
{
	return alloc_fn(alloc_ctx, NULL, n ? n : 1);
}

void *cfg_realloc(void *p, size_t n)
{
	return alloc_fn(alloc_ctx, p, n ? n : 1);
}

void cfg_free(void *p)
{
	if (p)
		alloc_fn(alloc_ctx, p, 0);
}

char *cfg_strndup(const char *s, size_t n)
{
	char *p = cfg_malloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

int cfg_reserve(void **arr, size_t *cap, size_t need, size_t el)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap : 4;
	while (ncap < need)
		ncap *= 2;
	if (ncap > SIZE_MAX / el)
		return -ENOMEM;
	void *p = cfg_realloc(*arr, ncap * el);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

int cfg_strlist_add(struct cfg_strlist *l, const char *s, size_t n)
{
	if (cfg_reserve((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)) < 0)
		return -ENOMEM;
	char *c = cfg_strndup(s, n);
	if (!c)
		return -ENOMEM;
	l->v[l->n++] = c;
	return 0;
}

void cfg_strlist_free(struct cfg_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		cfg_free(l->v[i]);
	cfg_free(l->v);
	memset(l, 0, sizeof(*l));
}

int cabin_label_set(struct cabin_config *c, char *key, char *value)
{
	for (size_t i = 0; i < c->n_labels; i++) {
		if (strcmp(c->labels[i].key, key) == 0) {
			cfg_free(c->labels[i].value);
			cfg_free(key);
			c->labels[i].value = value;
			return 0;
		}
	}
	if (cfg_reserve((void **)&c->labels, &c->cap_labels, c->n_labels + 1,
			sizeof(*c->labels)) < 0)
		return -ENOMEM;
	c->labels[c->n_labels].key = key;
	c->labels[c->n_labels].value = value;
	c->n_labels++;
	return 0;
}

void node_config_init(struct node_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->resolv.manage = -1;
	cfg->ntp.enabled = -1;
	cfg->cabin.kv.quota_backend_bytes = -1;
	cfg->cabin.overlay.prefix_len = -1;
}

static void cabin_free(struct cabin_config *c)
{
	cfg_free(c->members);
	cfg_strlist_free(&c->kv.external);
	cfg_free(c->docker.tls_ca);
	cfg_free(c->docker.tls_cert);
	cfg_free(c->docker.tls_key);
	for (size_t i = 0; i < c->n_labels; i++) {
		cfg_free(c->labels[i].key);
		cfg_free(c->labels[i].value);
	}
	cfg_free(c->labels);
}

void node_config_free(struct node_config *cfg)
{
	for (size_t i = 0; i < cfg->n_files; i++) {
		cfg_free(cfg->files[i].path);
		cfg_free(cfg->files[i].content);
	}
	cfg_free(cfg->files);
	cfg_strlist_free(&cfg->resolv.nameservers);
	cfg_strlist_free(&cfg->resolv.search);
	cfg_strlist_free(&cfg->resolv.options);
	cfg_strlist_free(&cfg->ntp.servers);
	cfg_strlist_free(&cfg->ntp.pools);
	cabin_free(&cfg->cabin);
	node_config_init(cfg);
}

void node_config_defaults(struct node_config *cfg)
{
	struct cabin_config *c = &cfg->cabin;
	if (!c->kv.listen[0])
		strcpy(c->kv.listen, "0.0.0.0");
	if (!c->kv.client_port)
		c->kv.client_port = 2379;
	if (!c->kv.peer_port)
		c->kv.peer_port = 2380;
	if (!c->overlay.subnet_len)
		c->overlay.subnet_len = 24;
	if (c->overlay.backend == CABIN_BACKEND_UNSET)
		c->overlay.backend = CABIN_BACKEND_VXLAN;
}

/* ---- merge: first reserve every array (the only step that can fail), then move ---- */

static int reserve_list(struct cfg_strlist *d, const struct cfg_strlist *s)
{
	return cfg_reserve((void **)&d->v, &d->cap, d->n + s->n, sizeof(*d->v));
}

static int merge_reserve(struct node_config *d, const struct node_config *s)
{
	if (cfg_reserve((void **)&d->files, &d->cap_files, d->n_files + s->n_files,
			sizeof(*d->files)) < 0 ||
	    reserve_list(&d->resolv.nameservers, &s->resolv.nameservers) < 0 ||
	    reserve_list(&d->resolv.search, &s->resolv.search) < 0 ||
	    reserve_list(&d->resolv.options, &s->resolv.options) < 0 ||
	    reserve_list(&d->ntp.servers, &s->ntp.servers) < 0 ||
	    reserve_list(&d->ntp.pools, &s->ntp.pools) < 0 ||
	    reserve_list(&d->cabin.kv.external, &s->cabin.kv.external) < 0 ||
	    cfg_reserve((void **)&d->cabin.members, &d->cabin.cap_members,
			d->cabin.n_members + s->cabin.n_members, sizeof(*d->cabin.members)) < 0 ||
	    cfg_reserve((void **)&d->cabin.labels, &d->cabin.cap_labels,
			d->cabin.n_labels + s->cabin.n_labels, sizeof(*d->cabin.labels)) < 0)
		return -ENOMEM;
	return 0;
}

static void move_list(struct cfg_strlist *d, struct cfg_strlist *s)
{
	for (size_t i = 0; i < s->n; i++)
		d->v[d->n++] = s->v[i];
	s->n = 0;
}

#define MOVE_STR(field)                                  \
	do {                                             \
		if (s->field[0])                         \
			strcpy(d->field, s->field);      \
	} while (0)

static void move_pem(char **d, char **s)
{
	if (*s) {
		cfg_free(*d);
		*d = *s;
		*s = NULL;
	}
}

static void merge_cabin(struct cabin_config *d, struct cabin_config *s)
{
	d->present |= s->present;
	MOVE_STR(cluster);
	for (size_t i = 0; i < s->n_members; i++)
		d->members[d->n_members++] = s->members[i];
	s->n_members = 0;
	MOVE_STR(kv.listen);
	if (s->kv.client_port)
		d->kv.client_port = s->kv.client_port;
	if (s->kv.peer_port)
		d->kv.peer_port = s->kv.peer_port;
	move_list(&d->kv.external, &s->kv.external);
	if (s->kv.snapshot_count)
		d->kv.snapshot_count = s->kv.snapshot_count;
	if (s->kv.quota_backend_bytes >= 0)
		d->kv.quota_backend_bytes = s->kv.quota_backend_bytes;
	if (s->overlay.prefix_len >= 0) {
		strcpy(d->overlay.network, s->overlay.network);
		d->overlay.addr = s->overlay.addr;
		d->overlay.prefix_len = s->overlay.prefix_len;
	}
	if (s->overlay.subnet_len)
		d->overlay.subnet_len = s->overlay.subnet_len;
	if (s->overlay.backend != CABIN_BACKEND_UNSET)
		d->overlay.backend = s->overlay.backend;
	MOVE_STR(docker.endpoint);
	move_pem(&d->docker.tls_ca, &s->docker.tls_ca);
	move_pem(&d->docker.tls_cert, &s->docker.tls_cert);
	move_pem(&d->docker.tls_key, &s->docker.tls_key);
	/* Room for every label was reserved, so setting cannot fail. */
	for (size_t i = 0; i < s->n_labels; i++)
		(void)cabin_label_set(d, s->labels[i].key, s->labels[i].value);
	s->n_labels = 0;
}

int node_config_merge(struct node_config *d, struct node_config *s)
{
	if (merge_reserve(d, s) < 0)
		return -ENOMEM;
	MOVE_STR(hostname);
	MOVE_STR(fqdn);
	MOVE_STR(instance_id);
	MOVE_STR(instance_name);
	MOVE_STR(availability_zone);
	MOVE_STR(timezone);
	for (size_t i = 0; i < s->n_files; i++)
		d->files[d->n_files++] = s->files[i];
	s->n_files = 0;
	move_list(&d->resolv.nameservers, &s->resolv.nameservers);
	move_list(&d->resolv.search, &s->resolv.search);
	MOVE_STR(resolv.domain);
	move_list(&d->resolv.options, &s->resolv.options);
	if (s->resolv.manage >= 0)
		d->resolv.manage = s->resolv.manage;
	if (s->ntp.enabled >= 0)
		d->ntp.enabled = s->ntp.enabled;
	move_list(&d->ntp.servers, &s->ntp.servers);
	move_list(&d->ntp.pools, &s->ntp.pools);
	merge_cabin(&d->cabin, &s->cabin);
	if (s->net.present)
		d->net = s->net;
	node_config_free(s);
	return 0;
}
