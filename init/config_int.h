/* Internals of the configuration parsers: the allocator, an arena, the document tree that
 * YAML and JSON are both turned into, the schema walker with its typed getters, and the
 * value checks. Nothing outside the config files and their tests includes this. */
#ifndef CABIN_CONFIG_INT_H
#define CABIN_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

/* ---- nodeconfig.c: allocation and owned containers ---- */
void *cfg_malloc(size_t n);
void *cfg_realloc(void *p, size_t n);
void cfg_free(void *p);
/* Heap copy of s[0..n) plus a NUL, or NULL. */
char *cfg_strndup(const char *s, size_t n);
/* Makes room for need elements of size el in *arr (capacity *cap). 0 or -ENOMEM, with
 * *arr and *cap unchanged on failure. */
int cfg_reserve(void **arr, size_t *cap, size_t need, size_t el);
/* Appends a heap copy of s[0..n). 0 or -ENOMEM (list unchanged). */
int cfg_strlist_add(struct cfg_strlist *l, const char *s, size_t n);
void cfg_strlist_free(struct cfg_strlist *l);
/* Sets the label, replacing one with the same key. Takes ownership of key and value on
 * success (0); -ENOMEM leaves them with the caller. */
int cabin_label_set(struct cabin_config *c, char *key, char *value);
/* Moves everything set in src into dst (see the parsers' merge rules) and leaves src
 * initialised. 0, or -ENOMEM with dst and src unchanged. */
int node_config_merge(struct node_config *dst, struct node_config *src);

/* ---- config_tree.c: arena and document tree ---- */
struct cfg_chunk;
struct cfg_arena {
	struct cfg_chunk *head;
};
/* 8-aligned, zeroed, freed with the arena; NULL when out of memory. */
void *cfg_arena_alloc(struct cfg_arena *a, size_t n);
char *cfg_arena_strndup(struct cfg_arena *a, const char *s, size_t n);
void cfg_arena_free(struct cfg_arena *a);

enum cfg_type { CFG_T_NULL, CFG_T_BOOL, CFG_T_INT, CFG_T_FLOAT, CFG_T_STR, CFG_T_SEQ,
		CFG_T_MAP };

struct cfg_entry;
/* Nodes are arena-allocated and may be shared (YAML aliases); the tree is read-only once
 * built. */
struct cfg_node {
	enum cfg_type type;
	unsigned line;			/* 1-based within the parsed text, 0 unknown */
	const char *str;		/* scalars: the text as written (STR: its value), NUL-ended */
	size_t len;			/* STR may hold NUL bytes (YAML escapes, !!binary) */
	int64_t i;			/* INT */
	bool overflow;			/* INT beyond int64 */
	bool b;				/* BOOL */
	struct cfg_entry *first;	/* SEQ, MAP */
	size_t n;
};

struct cfg_entry {
	const char *key;		/* MAP only */
	unsigned line;			/* the key's line */
	struct cfg_node *val;
	struct cfg_entry *next;
};

/* Where a text came from, for messages: its name and the line of the outer input its
 * first line is on (0 when lines are its own). */
struct cfg_src {
	const char *name;
	unsigned line_base;
};

/* Resolves a YAML plain scalar as YAML 1.1 (PyYAML, and so cloud-init) does: null, bools
 * (yes/no/on/off/true/false), ints (0b, 0 octal, decimal, 0x; '_' allowed), floats; else a
 * string. Sets type, i, b, overflow; str and len must already be set. */
void cfg_resolve_plain(struct cfg_node *n);
/* "string", "integer", "list", ... for messages. */
const char *cfg_type_name(enum cfg_type t);
/* Converts a byte offset in text into 1-based line and column. */
void cfg_offset_pos(const char *text, size_t len, size_t off, unsigned *line, unsigned *col);

/* config_yaml.c / config_json.c: text to tree. 0 with *root (NULL when the YAML stream is
 * empty), CFG_ESYNTAX with an error message added (source, line, column, the problem), or
 * -ENOMEM. */
int cfg_yaml_load(const char *text, size_t len, const struct cfg_src *src,
		  struct cfg_arena *a, struct cfg_diag *d, struct cfg_node **root);
int cfg_json_load(const char *text, size_t len, const struct cfg_src *src,
		  struct cfg_arena *a, struct cfg_diag *d, struct cfg_node **root);

/* ---- config_walk.c: the schema walker ---- */
struct cfg_walk {
	struct cfg_diag *diag;
	struct cfg_src src;
	size_t errors;			/* CFG_ERROR messages added through this walker */
	size_t file_bytes;		/* decoded write_files bytes so far */
};

void cfg_werr(struct cfg_walk *w, unsigned line, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void cfg_wwarn(struct cfg_walk *w, unsigned line, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void cfg_wignored(struct cfg_walk *w, unsigned line, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A callback for unknown keys of a map: notes each once as ignored ("not supported by
 * cabin"), never an error. t is unused. Returns 0. */
int cfg_ignore_unknown(struct cfg_walk *w, const struct cfg_entry *e, const char *path, void *t);
/* A node's or key's line in the outer input (0 stays 0). */
unsigned cfg_wline(const struct cfg_walk *w, unsigned line);

/* Child paths: "a.b", "a[3]". Truncated to CFG_PATH_MAX. */
void cfg_path_key(char *out, const char *path, const char *key);
void cfg_path_index(char *out, const char *path, size_t i);

/* Typed getters. Each returns 0 when *out was set, 1 when the value was wrong (an error was
 * added: "PATH: expected string, got list"), or -ENOMEM. */
#define CFG_S_MULTILINE 1u		/* allow \n, \r and \t (PEM text) */
#define CFG_S_EMPTY 2u			/* allow "" */
int cfg_get_str(struct cfg_walk *w, const struct cfg_node *n, const char *path, char *out,
		size_t outsz, unsigned flags);
int cfg_get_strdup(struct cfg_walk *w, const struct cfg_node *n, const char *path,
		   size_t max, unsigned flags, char **out);
int cfg_get_int(struct cfg_walk *w, const struct cfg_node *n, const char *path, int64_t min,
		int64_t max, int64_t *out);
int cfg_get_bool(struct cfg_walk *w, const struct cfg_node *n, const char *path, int *out);
/* Checks a type; adds the error when it does not match. null counts as an empty SEQ/MAP. */
int cfg_want(struct cfg_walk *w, const struct cfg_node *n, const char *path,
	     enum cfg_type t);
/* A list of strings, each passed through check (may be NULL: any string up to 255 bytes;
 * check returns NULL or the problem, e.g. "not an IP address"). Appended to out. */
typedef const char *(*cfg_check_fn)(const char *s);
int cfg_get_strlist(struct cfg_walk *w, const struct cfg_node *n, const char *path,
		    cfg_check_fn check, struct cfg_strlist *out);

/* A map walked against a table: each key's handler runs once, for the last occurrence (an
 * earlier duplicate gets a warning); other keys go to unknown, in document order. Handlers
 * return 0 or -ENOMEM (problems are messages). */
struct cfg_key {
	const char *name;
	int (*fn)(struct cfg_walk *w, const struct cfg_node *v, const char *path, void *target);
};
typedef int (*cfg_unknown_fn)(struct cfg_walk *w, const struct cfg_entry *e,
			      const char *path, void *target);
int cfg_walk_map(struct cfg_walk *w, const struct cfg_node *map, const char *path,
		 const struct cfg_key *keys, size_t nkeys, cfg_unknown_fn unknown,
		 void *target);
/* An unknown_fn for strict sections: "PATH: unknown key". */
int cfg_unknown_strict(struct cfg_walk *w, const struct cfg_entry *e, const char *path,
		       void *target);

/* ---- config_check.c: value checks; each returns NULL or the problem ---- */
const char *cfg_check_hostname(const char *s);	/* one label, 1-64 of [A-Za-z0-9-] */
const char *cfg_check_fqdn(const char *s);	/* labels of 1-63, at most 253 */
const char *cfg_check_ip(const char *s);	/* IPv4 or IPv6 literal */
const char *cfg_check_host(const char *s);	/* IP literal or domain name */
const char *cfg_check_http_url(const char *s);	/* http(s)://host[:port][/path] */
const char *cfg_check_token(const char *s);	/* [A-Za-z0-9._-]{1,63} */
const char *cfg_check_timezone(const char *s);
const char *cfg_check_label_key(const char *s);
const char *cfg_check_docker_endpoint(const char *s);
/* "a.b.c.d/n", octets without leading zeros, host bits zero. NULL with *addr (host order)
 * and *prefix set, or the problem; for "host bits set" they hold the network meant. */
const char *cfg_parse_cidr4(const char *s, uint32_t *addr, int *prefix);
/* Host name from the first label of name; when name has more labels, it is also the
 * fqdn. Used by hostname keys of every source. Returns 0, or 1 after an error. */
int cfg_set_hostname(struct cfg_walk *w, unsigned line, const char *path, const char *name,
		     struct node_config *cfg);

/* ---- netconfig.c, netconfig_value.c: shared by the network configuration parsers ---- */
/* One parse of a network configuration: the walker, what it built so far (copied into the
 * caller's config only when nothing was wrong), and which limits were already reported, so
 * that a long list gets one "more than N" error, not one per entry. */
struct net_parse {
	struct cfg_walk w;
	struct net_config net;
	bool full_links, full_dns, full_search;
	bool full_addrs[NETCFG_LINKS_MAX], full_routes[NETCFG_LINKS_MAX];
};

/* Starts a parse; source NULL means dflt. Nothing allocated. */
void net_parse_init(struct net_parse *p, struct cfg_diag *d, const char *source,
		    const char *dflt);
/* Loads text as JSON, or as YAML when yaml and it does not open with '{'. 0 with *root
 * (NULL when the text is empty or null: a warning says so), CFG_ETOOBIG over CFG_META_MAX,
 * CFG_ESYNTAX, or -ENOMEM; every failure but -ENOMEM adds an error. */
int net_load(struct net_parse *p, const char *text, size_t len, int yaml,
	     struct cfg_arena *a, struct cfg_node **root);
/* Ends a parse whose walk returned rc: CFG_EINVALID when errors were added; on 0 the net
 * section built (when present) replaces cfg->net whole. Returns the final code. */
int net_parse_done(struct net_parse *p, int rc, struct node_config *cfg);

/* The values of a map's keys: v[i] for names[i], NULL when absent; a key given twice gets
 * a warning and the later one wins. Other keys go to unknown (NULL: skipped silently).
 * A null node is an empty map. 0, or 1 when the node is not a map (error added). */
int net_keys(struct cfg_walk *w, const struct cfg_node *map, const char *path,
	     const char *const *names, size_t n, const struct cfg_node **v,
	     cfg_unknown_fn unknown);

/* The value of a map's key (the last one given), or NULL; no messages. */
const struct cfg_node *net_key(const struct cfg_node *map, const char *name);

/* Value getters: 0 with the value set, or 1 after adding an error naming path. */
int net_get_mac(struct cfg_walk *w, const struct cfg_node *v, const char *path,
		uint8_t mac[6]);				/* 52:54:00:12:34:56 */
int net_get_ifname(struct cfg_walk *w, const struct cfg_node *v, const char *path,
		   char name[16]);			/* as Linux dev_valid_name() */
int net_get_mtu(struct cfg_walk *w, const struct cfg_node *v, const char *path,
		unsigned *mtu);				/* 68-65535; null: 0 */
/* An address literal of family (0: either), *fam set to the one found. */
int net_get_ip(struct cfg_walk *w, const struct cfg_node *v, const char *path, int family,
	       int *fam, uint8_t addr[16]);
/* An interface address: "addr/prefix", or "addr" with mask (a netmask, an IPv6 mask like
 * ffff:ffff::, or a prefix length, as string or integer; NULL when not given). Both given
 * must agree; neither is an error. family 0 accepts either. */
int net_get_addr(struct cfg_walk *w, const struct cfg_node *v, const char *path,
		 const struct cfg_node *mask, const char *mask_path, int family,
		 struct netcfg_addr *out);

/* The parts of a route as a source names them; a NULL node is a part not given. */
struct net_route_keys {
	const struct cfg_node *dst, *mask, *via, *metric;
	const char *dst_key, *mask_key, *via_key, *metric_key;
};
/* A route: dst is "default", "addr/prefix" or "addr" with the mask (neither: a host
 * route); host bits must be zero. via of the same family, or absent or all zeros for an
 * on-link route; metric 0-4294967295. family 0 lets the addresses decide. path names the
 * route's map, line its line (for a missing dst). 0 or 1 as the getters. */
int net_get_route(struct cfg_walk *w, const char *path, unsigned line,
		  const struct net_route_keys *k, int family, struct netcfg_route *out);

/* Adders: each checks its NETCFG_*_MAX limit ("more than N ...", once per list). */
/* A new link with this id (unique), defined at line and path; NULL after an error. */
struct netcfg_link *net_add_link(struct net_parse *p, unsigned line, const char *path,
				 const char *id);
int net_add_addr(struct net_parse *p, struct netcfg_link *l, unsigned line,
		 const char *path, const struct netcfg_addr *a);
int net_add_route(struct net_parse *p, struct netcfg_link *l, unsigned line,
		  const char *path, const struct netcfg_route *r);
/* A name server (an address literal) or search domain from node v; repeats are kept
 * once. A default route on a link via gw (family fam) is added by net_add_gateway. */
int net_add_dns(struct net_parse *p, const struct cfg_node *v, const char *path);
int net_add_search(struct net_parse *p, const struct cfg_node *v, const char *path);
int net_add_gateway(struct net_parse *p, struct netcfg_link *l, const struct cfg_node *gw,
		    const char *path, int fam);
/* Calls fn on v when it is a string, on each entry when it is a list; null is empty. */
int net_each_str(struct net_parse *p, const struct cfg_node *v, const char *path,
		 int (*fn)(struct net_parse *, const struct cfg_node *, const char *));

/* ---- netconfig_nocloud.c / netconfig_v2.c: NoCloud network-config, by version ---- */
/* Walk root (the map holding version) at path ("" or "network"); problems are errors in
 * p->w. Return 0 (never fail: they allocate nothing). */
int net_nocloud_v1(struct net_parse *p, const struct cfg_node *root, const char *path);
int net_nocloud_v2(struct net_parse *p, const struct cfg_node *root, const char *path);

/* ---- base64.c ---- */
/* Decodes base64 (RFC 4648 alphabet, whitespace skipped, '=' padding optional) into out,
 * which must hold b64_decoded_max(len) bytes. Returns the decoded length, or -1 with *bad
 * set to the offset of the first character that does not belong. */
ssize_t b64_decode(const char *in, size_t len, uint8_t *out, size_t *bad);
static inline size_t b64_decoded_max(size_t len) { return len / 4 * 3 + 3; }

/* ---- cloudconfig.c, writefiles.c, cabinconf.c: the schemas ---- */
/* Applies one cloud-config document (its root node) to cfg: scalars replace, lists append.
 * Returns 0 or -ENOMEM; problems are counted in w->errors. */
int cc_apply(struct cfg_walk *w, const struct cfg_node *root, struct node_config *cfg);
int cc_write_files(struct cfg_walk *w, const struct cfg_node *v, const char *path,
		   void *cfg);
int cabin_apply(struct cfg_walk *w, const struct cfg_node *v, const char *path,
		void *cfg);
/* Rules across cabin keys (subnet_len against the network's prefix, tls_cert with
 * tls_key), checked on what every part of the user data set together. */
void cabin_check(struct cfg_walk *w, const struct cabin_config *c);

/* ---- userdata.c / userdata_mime.c ---- */
struct ud_ctx {
	struct cfg_diag *diag;
	struct node_config *acc;	/* what every part so far configured */
	size_t errors;
	int fail;			/* the code of the first error, 0 for a schema error */
	int depth;			/* nested MIME / gzip */
	size_t file_bytes;		/* decoded write_files bytes, all parts */
};
/* Handles one payload whose kind is found from its first bytes. part (NULL at the top)
 * names a MIME part for notices. Returns 0 or -ENOMEM. */
int ud_dispatch(struct ud_ctx *c, const char *data, size_t len, const struct cfg_src *src,
		const char *part);
/* Parses one cloud-config payload (YAML or, when it opens with '{', JSON). */
int ud_cloud_config(struct ud_ctx *c, const char *data, size_t len,
		    const struct cfg_src *src);
/* A MIME message (headers, then a body). Returns 0 or -ENOMEM. */
int ud_mime(struct ud_ctx *c, const char *data, size_t len, const struct cfg_src *src);

#endif
