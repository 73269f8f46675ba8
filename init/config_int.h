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
