/* A session with the cloud: a Keystone token and the image endpoint from its catalog (or a
 * token and endpoint given as they are), and the Glance v2 calls `cabin upload` makes,
 * each one-line error saying which call failed, with what status and why. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../init/config_int.h"
#include "upload.h"

static void fail(struct upl_session *s, const char *what, const struct upl_resp *r)
{
	char why[300];

	if (r->code) {
		snprintf(s->err, sizeof(s->err), "%s at %s: %s", what, s->base, r->error);
		return;
	}
	upl_error_text(r->body, r->len, why, sizeof(why));
	snprintf(s->err, sizeof(s->err), "%s: HTTP %ld%s%s", what, r->status, why[0] ? ": " : "",
		 why);
}

/* "http://host:5000" and "http://host:5000/v3/" both become ".../v3/auth/tokens". */
static void tokens_url(const char *auth_url, char *out, size_t len)
{
	size_t n = strlen(auth_url);

	while (n && auth_url[n - 1] == '/')
		n--;
	if (n >= 3 && strncmp(auth_url + n - 3, "/v3", 3) == 0)
		snprintf(out, len, "%.*s/auth/tokens", (int)n, auth_url);
	else
		snprintf(out, len, "%.*s/v3/auth/tokens", (int)n, auth_url);
}

/* The image endpoint as the catalog gives it ("http://host:9292", maybe "/v2/"), made the
 * v2 API's base. */
static void v2_base(const char *url, char *out, size_t len)
{
	size_t n = strlen(url);

	while (n && url[n - 1] == '/')
		n--;
	if (n >= 3 && strncmp(url + n - 3, "/v2", 3) == 0)
		n -= 3;
	snprintf(out, len, "%.*s/v2", (int)n, url);
}

int upl_login(struct upl_session *s)
{
	struct upl_buf body = { 0 };
	struct upl_resp r;
	char url[UPL_STR + 32], why[300], ep[UPL_STR];
	int rc;

	s->http.cacert = s->cred->cacert;
	s->http.insecure = s->cred->insecure;
	if (s->cred->auth == UPL_AUTH_TOKEN && s->cred->image_url[0]) {
		snprintf(s->token, sizeof(s->token), "%s", s->cred->token);
		v2_base(s->cred->image_url, s->base, sizeof(s->base));
		return 0;
	}
	if ((rc = upl_auth_body(s->cred, &body, s->err, sizeof(s->err))) < 0) {
		upl_buf_free(&body);
		return rc;
	}
	tokens_url(s->cred->auth_url, url, sizeof(url));
	struct upl_req req = { .method = "POST", .url = url, .body = body.p, .len = body.len,
			       .fd = -1, .timeout_s = 60 };
	rc = upl_http(&s->http, &req, &r);
	upl_buf_free(&body);
	if (!rc && r.status == 201 && r.subject_token[0]) {
		snprintf(s->token, sizeof(s->token), "%s", r.subject_token);
		if (s->cred->image_url[0])
			snprintf(ep, sizeof(ep), "%s", s->cred->image_url);
		else
			rc = upl_catalog_url(r.body, r.len, "image", s->cred->interface,
					     s->cred->region, ep, sizeof(ep), why, sizeof(why));
		if (rc)
			snprintf(s->err, sizeof(s->err), "Keystone at %s: %s", s->cred->auth_url, why);
		else
			v2_base(ep, s->base, sizeof(s->base));
	} else if (!rc) {
		upl_error_text(r.body, r.len, why, sizeof(why));
		snprintf(s->err, sizeof(s->err), "Keystone at %s refused the credentials of %s "
			 "(HTTP %ld%s%s)", s->cred->auth_url, s->cred->source, r.status,
			 why[0] ? ": " : "", why);
		rc = -EACCES;
	} else {
		snprintf(s->err, sizeof(s->err), "Keystone at %s: %s", s->cred->auth_url, r.error);
	}
	upl_resp_free(&r);
	return rc;
}

/* A call to Glance; a token refused once (expired) is renewed and the call made again,
 * unless it was given as it is or the body is a stream already sent. */
static int call(struct upl_session *s, struct upl_req *req, const char *path,
		struct upl_resp *r)
{
	char url[UPL_STR + 256];
	int rc;

	snprintf(url, sizeof(url), "%s%s", s->base, path);
	req->url = url;
	req->token = s->token;
	if (req->fd < 0 && !req->timeout_s)
		req->timeout_s = 120;
	rc = upl_http(&s->http, req, r);
	if (rc || r->status != 401 || s->cred->auth == UPL_AUTH_TOKEN || s->relogged ||
	    (req->fd >= 0 && r->sent))
		return rc;
	s->relogged = true;
	upl_resp_free(r);
	if ((rc = upl_login(s)) < 0)
		return rc;
	snprintf(url, sizeof(url), "%s%s", s->base, path);
	req->token = s->token;
	return upl_http(&s->http, req, r);
}

/* The call, its status one of ok (0 ends the list); anything else is an error that says
 * what, with the expired-token case spelled out. */
static int expect(struct upl_session *s, struct upl_req *req, const char *path,
		  struct upl_resp *r, const char *what, const long *ok)
{
	int rc = call(s, req, path, r);

	for (; !rc && *ok; ok++)
		if (r->status == *ok)
			return 0;
	fail(s, what, r);
	upl_resp_free(r);	/* an error's body is in s->err now */
	if (!rc && r->status == 401 && s->cred->auth == UPL_AUTH_TOKEN) {
		size_t n = strlen(s->err);
		snprintf(s->err + n, sizeof(s->err) - n, " (the token is expired or not valid: "
			 "get a new one with `openstack token issue`)");
	}
	if (!rc)
		rc = r->status == 401 ? -EACCES : r->status == 413 ? -EFBIG
		     : r->status == 409 ? -EEXIST : -EPROTO;
	return rc;
}

int upl_find_by_name(struct upl_session *s, const char *name, char ids[][64], int max)
{
	struct upl_buf path = { 0 };
	struct upl_resp r;
	struct cfg_arena a = { 0 };
	static const long ok[] = { 200, 0 };
	int n = 0, rc;

	upl_buf_add(&path, "/images?limit=100&name=", 23);
	for (const char *p = name; *p; p++)	/* percent-encode all but unreserved bytes */
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p))
			upl_buf_add(&path, p, 1);
		else
			upl_buf_addf(&path, "%%%02X", (unsigned char)*p);
	struct upl_req req = { .method = "GET", .fd = -1 };
	rc = path.oom ? -ENOMEM : expect(s, &req, path.p, &r, "listing the images", ok);
	upl_buf_free(&path);
	if (rc)
		return rc;
	const struct cfg_node *list = upl_key(upl_parse(r.body, r.len, &a), "images");
	for (const struct cfg_entry *e = list && list->type == CFG_T_SEQ ? list->first : NULL;
	     e && n < max; e = e->next)
		if (strcmp(upl_str(e->val, "name"), name) == 0)
			snprintf(ids[n++], 64, "%s", upl_str(e->val, "id"));
	cfg_arena_free(&a);
	upl_resp_free(&r);
	return n;
}

int upl_create(struct upl_session *s, const char *json, char *id, size_t idlen,
	       char *methods, size_t mlen)
{
	struct upl_req req = { .method = "POST", .body = json, .len = strlen(json), .fd = -1 };
	struct upl_resp r;
	struct cfg_arena a = { 0 };
	static const long ok[] = { 201, 0 };
	int rc = expect(s, &req, "/images", &r, "creating the image", ok);

	if (!rc) {
		snprintf(id, idlen, "%s", upl_str(upl_parse(r.body, r.len, &a), "id"));
		snprintf(methods, mlen, "%s", r.import_methods);
		if (!id[0]) {
			snprintf(s->err, sizeof(s->err), "creating the image: Glance's answer has no id");
			rc = -EPROTO;
		}
	}
	cfg_arena_free(&a);
	upl_resp_free(&r);
	return rc;
}

int upl_send(struct upl_session *s, const char *id, bool stage, int fd, uint64_t size,
	     upl_sent_fn *sent, void *ctx, uint64_t *done)
{
	struct upl_req req = { .method = "PUT", .content_type = "application/octet-stream",
			       .fd = fd, .size = size, .sent = sent, .ctx = ctx };
	struct upl_resp r;
	char path[128], what[160];
	static const long ok[] = { 204, 201, 200, 0 };
	int rc;

	snprintf(path, sizeof(path), "/images/%s/%s", id, stage ? "stage" : "file");
	snprintf(what, sizeof(what), "%s the image data", stage ? "staging" : "uploading");
	rc = expect(s, &req, path, &r, what, ok);
	*done = r.sent;
	if (rc == -ECONNRESET || (rc == -EIO && r.sent < size)) {
		snprintf(s->err, sizeof(s->err), "%s: the connection to %s was lost after %llu of "
			 "%llu bytes (%s)", what, s->base, (unsigned long long)r.sent,
			 (unsigned long long)size, r.error);
		rc = -ECONNRESET;
	}
	s->status = r.status;
	upl_resp_free(&r);
	return rc;
}

int upl_import(struct upl_session *s, const char *id)
{
	static const char body[] = "{\"method\":{\"name\":\"glance-direct\"}}";
	struct upl_req req = { .method = "POST", .body = body, .len = sizeof(body) - 1, .fd = -1 };
	struct upl_resp r;
	char path[128];
	static const long ok[] = { 202, 0 };
	int rc;

	snprintf(path, sizeof(path), "/images/%s/import", id);
	rc = expect(s, &req, path, &r, "importing the staged data (glance-direct)", ok);
	upl_resp_free(&r);
	return rc;
}

int upl_show(struct upl_session *s, const char *id, struct upl_image *img)
{
	struct upl_req req = { .method = "GET", .fd = -1 };
	struct upl_resp r;
	struct cfg_arena a = { 0 };
	char path[128];
	static const long ok[] = { 200, 0 };
	int rc;

	snprintf(path, sizeof(path), "/images/%s", id);
	memset(img, 0, sizeof(*img));
	if ((rc = expect(s, &req, path, &r, "reading the image's state", ok)))
		return rc;
	const struct cfg_node *root = upl_parse(r.body, r.len, &a), *v;
	snprintf(img->status, sizeof(img->status), "%s", upl_str(root, "status"));
	snprintf(img->hash_algo, sizeof(img->hash_algo), "%s", upl_str(root, "os_hash_algo"));
	snprintf(img->hash_value, sizeof(img->hash_value), "%s", upl_str(root, "os_hash_value"));
	snprintf(img->failed, sizeof(img->failed), "%s", upl_str(root, "os_glance_failed_import"));
	if ((v = upl_key(root, "size")) && v->type == CFG_T_INT)
		img->size = v->i;
	else
		img->size = -1;
	cfg_arena_free(&a);
	upl_resp_free(&r);
	return 0;
}

int upl_delete(struct upl_session *s, const char *id)
{
	struct upl_req req = { .method = "DELETE", .fd = -1 };
	struct upl_resp r;
	char path[128];
	static const long ok[] = { 204, 200, 404, 0 };
	int rc;

	snprintf(path, sizeof(path), "/images/%s", id);
	rc = expect(s, &req, path, &r, "deleting the image", ok);
	upl_resp_free(&r);
	return rc;
}
