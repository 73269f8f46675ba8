/* Internals of `cabin upload` (image/upload*.c): OpenStack credentials as the openstack
 * CLI takes them, Keystone v3 tokens and the service catalog, Glance v2 calls, and a small
 * blocking HTTP client on libcurl. The pure parts (credentials from clouds.yaml and the
 * environment, request bodies, the catalog, responses) take text and return structures,
 * so unit tests drive them without a cloud. Nothing outside image/upload*.c and its tests
 * includes this. */
#ifndef CABIN_IMG_UPLOAD_H
#define CABIN_IMG_UPLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UPL_STR 512
#define UPL_TOKEN_MAX 8192

/* ---- credentials (upload_cred.c) -------------------------------------------------------
 * What the openstack CLI would use, from one source: a clouds.yaml entry (with its
 * secure.yaml) when OS_CLOUD (or --os-cloud) names one, else the OS_* variables. "" = not
 * given. */
enum upl_auth { UPL_AUTH_PASSWORD, UPL_AUTH_APPCRED, UPL_AUTH_TOKEN };

struct upl_cred {
	enum upl_auth auth;
	char auth_url[UPL_STR];
	char username[UPL_STR], user_id[UPL_STR], password[UPL_STR];
	char user_domain_name[UPL_STR], user_domain_id[UPL_STR];
	char project_name[UPL_STR], project_id[UPL_STR];
	char project_domain_name[UPL_STR], project_domain_id[UPL_STR];
	char app_cred_id[UPL_STR], app_cred_name[UPL_STR], app_cred_secret[UPL_STR];
	char token[UPL_TOKEN_MAX];
	char region[UPL_STR], interface[32];		/* interface: public unless said */
	char cacert[UPL_STR];
	bool insecure;					/* verify: false */
	char image_url[UPL_STR];			/* OS_IMAGE_URL, --os-image-url */
	char source[UPL_STR + 64];			/* "OS_* variables", "cloud X in FILE" */
	bool auth_given;				/* auth_type / OS_AUTH_TYPE said */
	bool env;					/* from the variables */
};

/* A lookup of environment variables (getenv, or a table in tests). */
typedef const char *upl_env_fn(const char *name, void *ctx);

/* From the OS_* variables. Returns 0, or -EINVAL with err (a value too long, an unknown
 * OS_AUTH_TYPE). */
int upl_cred_from_env(struct upl_cred *c, upl_env_fn *env, void *ctx, char *err, size_t errlen);
/* Picks the method where none was said and checks that c has what it needs. Returns 0, or
 * -EINVAL with err naming what is missing as its source calls it (OS_PASSWORD,
 * auth.password). */
int upl_cred_check(struct upl_cred *c, char *err, size_t errlen);
/* From entry `cloud` of clouds.yaml (text, named path for messages) and secure.yaml (may be
 * NULL), the latter's values winning. Returns 0, or -EINVAL / -ENOENT (no such cloud) /
 * -ENOMEM with err saying what and where ("clouds.yaml:4:3: ..."). */
int upl_cred_from_clouds(struct upl_cred *c, const char *cloud, const char *clouds,
			 size_t clouds_len, const char *clouds_path, const char *secure,
			 size_t secure_len, const char *secure_path, char *err, size_t errlen);
/* The whole search: OS_CLOUD (or cloud, when not NULL) picks a clouds.yaml entry, found
 * at OS_CLIENT_CONFIG_FILE, ./clouds.yaml, ~/.config/openstack/clouds.yaml or
 * /etc/openstack/clouds.yaml (secure.yaml found the same way, or OS_CLIENT_SECURE_FILE);
 * without one, the OS_* variables. --os-image-url (image_url, may be NULL) or OS_IMAGE_URL
 * set the image endpoint. Checked as upl_cred_check. Returns 0 or a negative code with err
 * set. */
int upl_cred_load(struct upl_cred *c, const char *cloud, const char *image_url, char *err,
		  size_t errlen);

/* ---- JSON bodies and responses (upload_keystone.c) ------------------------------------- */

/* A growing text buffer; on allocation failure it stays as it was and oom is set. */
struct upl_buf {
	char *p;
	size_t len, cap;
	bool oom;
};
void upl_buf_add(struct upl_buf *b, const char *s, size_t n);
void upl_buf_addf(struct upl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s as a JSON string, quotes included. */
void upl_buf_json(struct upl_buf *b, const char *s);
void upl_buf_free(struct upl_buf *b);

/* Reading JSON and YAML trees (init/config_int.h's): the value of key k of a map (its
 * last occurrence; NULL if absent or not a map), a string value ("" otherwise), and a JSON
 * body parsed into arena a (NULL when it is not JSON). */
struct cfg_node;
struct cfg_arena;
const struct cfg_node *upl_key(const struct cfg_node *map, const char *k);
const char *upl_str(const struct cfg_node *map, const char *k);
struct cfg_node *upl_parse(const char *body, size_t len, struct cfg_arena *a);

/* The body of POST /v3/auth/tokens for c (password, application credential, or a token
 * with the project scope). Returns 0, -EINVAL (err: what c lacks), -ENOMEM. */
int upl_auth_body(const struct upl_cred *c, struct upl_buf *out, char *err, size_t errlen);
/* The endpoint URL of service type `type` for interface and region ("" any) in a token
 * response body (JSON). Returns 0 with url set, -ENOENT (err: no such endpoint, with the
 * interfaces and regions the catalog has), -EINVAL (not a token response). */
int upl_catalog_url(const char *body, size_t len, const char *type, const char *interface,
		    const char *region, char *url, size_t urllen, char *err, size_t errlen);
/* The "message" of an OpenStack error body (Keystone's error.message, Glance's HTML or
 * JSON text), reduced to one line, or "" when there is none. */
void upl_error_text(const char *body, size_t len, char *out, size_t outlen);

/* ---- HTTP (upload_http.c) ---------------------------------------------------------------- */
struct upl_http_opts {
	const char *cacert;		/* NULL: the system's CAs */
	bool insecure;
};

/* Called as bytes of an upload go out (data: the next n bytes, borrowed). Returning
 * nonzero stops the transfer. */
typedef int upl_sent_fn(void *ctx, const uint8_t *data, size_t n);

struct upl_req {
	const char *method;		/* GET, POST, PUT, PATCH, DELETE */
	const char *url;
	const char *token;		/* X-Auth-Token, or NULL */
	const char *content_type;	/* for a body; NULL: application/json */
	const char *body;		/* a body in memory, or NULL */
	size_t len;
	int fd;				/* or a body streamed from fd (>= 0), its size bytes */
	uint64_t size;
	upl_sent_fn *sent;
	void *ctx;
	unsigned timeout_s;		/* 0: none (a stream); else the whole request */
};

struct upl_resp {
	int code;			/* 0: an answer came; else -ECONNREFUSED, -ETIMEDOUT,
					 * -ECONNRESET (dropped), -ECANCELED (sent said stop),
					 * -EIO, -ENOMEM */
	long status;
	char *body;			/* NUL-terminated (not counted in len) */
	size_t len;
	uint64_t sent;			/* body bytes that went out */
	char subject_token[UPL_TOKEN_MAX];	/* X-Subject-Token */
	char import_methods[256];	/* OpenStack-image-import-methods */
	char error[300];		/* why, when code != 0 */
};

/* Carries out r and waits for the answer. Returns resp->code. Free with upl_resp_free. */
int upl_http(const struct upl_http_opts *o, const struct upl_req *r, struct upl_resp *resp);
void upl_resp_free(struct upl_resp *resp);

/* ---- the session and Glance v2 (upload_glance.c) ---------------------------------------
 * Each call returns 0 or a negative code with s->err saying which call failed and why
 * (-EACCES: 401/403 after a renewed token, -EFBIG: 413, -EEXIST: 409, -EPROTO: another
 * status, -ECONNRESET: the connection dropped, or the transport's code). */
struct upl_session {
	struct upl_cred *cred;		/* borrowed */
	struct upl_http_opts http;
	char token[UPL_TOKEN_MAX];
	char base[UPL_STR + 8];		/* the image API: "http://host:9292/v2" */
	bool relogged;			/* a refused token was renewed once already */
	long status;			/* the last upload's HTTP status */
	char err[1024];
};

struct upl_image {
	char status[32];		/* queued, saving, uploading, importing, active, killed */
	char hash_algo[32], hash_value[160];
	char failed[256];		/* os_glance_failed_import */
	int64_t size;			/* -1 unknown */
};

/* A token and the image endpoint: from Keystone (the catalog's image service for the
 * interface and region, unless an endpoint is given), or the token and endpoint given. */
int upl_login(struct upl_session *s);
/* Up to max ids of images named name; returns how many, or a negative code. */
int upl_find_by_name(struct upl_session *s, const char *name, char ids[][64], int max);
/* POST /v2/images with the JSON body: id and the import methods the cloud offers. */
int upl_create(struct upl_session *s, const char *json, char *id, size_t idlen,
	       char *methods, size_t mlen);
/* PUT /file (or /stage) streamed from fd; *done: the bytes that went out. */
int upl_send(struct upl_session *s, const char *id, bool stage, int fd, uint64_t size,
	     upl_sent_fn *sent, void *ctx, uint64_t *done);
/* POST /import with glance-direct. */
int upl_import(struct upl_session *s, const char *id);
int upl_show(struct upl_session *s, const char *id, struct upl_image *img);
/* DELETE (an image already gone counts as deleted). */
int upl_delete(struct upl_session *s, const char *id);

#endif
