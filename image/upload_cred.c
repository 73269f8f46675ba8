/* OpenStack credentials as the openstack CLI finds them: a clouds.yaml entry named by
 * OS_CLOUD (its secure.yaml beside it supplying secrets), or the OS_* variables of an
 * openrc file. Parsing and checking are pure (text and a variable lookup in, a struct
 * upl_cred out); upl_cred_load does the file search. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../init/config_int.h"
#include "upload.h"

#define F(name) offsetof(struct upl_cred, name), sizeof(((struct upl_cred *)0)->name)

/* Where each setting goes: its clouds.yaml key (under auth: or at the top of the entry)
 * and its variable. */
static const struct field {
	const char *key;
	bool in_auth;
	const char *var;
	size_t off, size;
} fields[] = {
	{ "auth_url", true, "OS_AUTH_URL", F(auth_url) },
	{ "username", true, "OS_USERNAME", F(username) },
	{ "user_id", true, "OS_USER_ID", F(user_id) },
	{ "password", true, "OS_PASSWORD", F(password) },
	{ "user_domain_name", true, "OS_USER_DOMAIN_NAME", F(user_domain_name) },
	{ "user_domain_id", true, "OS_USER_DOMAIN_ID", F(user_domain_id) },
	{ "project_name", true, "OS_PROJECT_NAME", F(project_name) },
	{ "tenant_name", true, "OS_TENANT_NAME", F(project_name) },
	{ "project_id", true, "OS_PROJECT_ID", F(project_id) },
	{ "tenant_id", true, "OS_TENANT_ID", F(project_id) },
	{ "project_domain_name", true, "OS_PROJECT_DOMAIN_NAME", F(project_domain_name) },
	{ "project_domain_id", true, "OS_PROJECT_DOMAIN_ID", F(project_domain_id) },
	{ "application_credential_id", true, "OS_APPLICATION_CREDENTIAL_ID", F(app_cred_id) },
	{ "application_credential_name", true, "OS_APPLICATION_CREDENTIAL_NAME",
	  F(app_cred_name) },
	{ "application_credential_secret", true, "OS_APPLICATION_CREDENTIAL_SECRET",
	  F(app_cred_secret) },
	{ "token", true, "OS_TOKEN", F(token) },
	{ "region_name", false, "OS_REGION_NAME", F(region) },
	{ "interface", false, "OS_INTERFACE", F(interface) },
	{ "cacert", false, "OS_CACERT", F(cacert) },
	{ "image_endpoint_override", false, "OS_IMAGE_URL", F(image_url) },
};

static int set(struct upl_cred *c, const struct field *f, const char *v, const char *where,
	       char *err, size_t errlen)
{
	char *dst = (char *)c + f->off;

	if (strlen(v) >= f->size) {
		snprintf(err, errlen, "%s: longer than %zu bytes", where, f->size - 1);
		return -EINVAL;
	}
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* auth_type / OS_AUTH_TYPE: the plugin names keystoneauth knows for these methods. */
static int auth_type(struct upl_cred *c, const char *v, const char *where, char *err,
		     size_t errlen)
{
	static const struct { const char *name; enum upl_auth a; } t[] = {
		{ "password", UPL_AUTH_PASSWORD }, { "v3password", UPL_AUTH_PASSWORD },
		{ "v3applicationcredential", UPL_AUTH_APPCRED },
		{ "applicationcredential", UPL_AUTH_APPCRED },
		{ "token", UPL_AUTH_TOKEN }, { "v3token", UPL_AUTH_TOKEN },
		{ "admin_token", UPL_AUTH_TOKEN },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(v, t[i].name) == 0) {
			c->auth = t[i].a;
			c->auth_given = true;
			return 0;
		}
	snprintf(err, errlen, "%s: '%s' is not an authentication cabin knows (password, "
		 "v3applicationcredential, token)", where, v);
	return -EINVAL;
}

int upl_cred_check(struct upl_cred *c, char *err, size_t errlen)
{
#define NAME(var, key) (c->env ? var : key)
	if (!c->auth_given)
		c->auth = c->app_cred_secret[0] ? UPL_AUTH_APPCRED
			  : c->token[0] && !c->password[0] ? UPL_AUTH_TOKEN : UPL_AUTH_PASSWORD;
	if (!c->interface[0] || strcmp(c->interface, "publicURL") == 0)
		snprintf(c->interface, sizeof(c->interface), "public");
	else if (strcmp(c->interface, "internalURL") == 0 || strcmp(c->interface, "adminURL") == 0)
		c->interface[strlen(c->interface) - 3] = 0;
	const char *missing = NULL;
	if (c->auth == UPL_AUTH_TOKEN) {
		if (!c->token[0])
			missing = NAME("OS_TOKEN", "auth.token");
		else if (!c->auth_url[0] && !c->image_url[0])
			missing = NAME("OS_AUTH_URL (or OS_IMAGE_URL)",
				       "auth.auth_url (or image_endpoint_override)");
	} else if (!c->auth_url[0]) {
		missing = NAME("OS_AUTH_URL", "auth.auth_url");
	} else if (c->auth == UPL_AUTH_APPCRED) {
		if (!c->app_cred_secret[0])
			missing = NAME("OS_APPLICATION_CREDENTIAL_SECRET",
				       "auth.application_credential_secret");
		else if (!c->app_cred_id[0] && !c->app_cred_name[0])
			missing = NAME("OS_APPLICATION_CREDENTIAL_ID", "auth.application_credential_id");
		else if (!c->app_cred_id[0] && !c->user_id[0] && !c->username[0])
			missing = NAME("OS_USERNAME (with an application credential's name)",
				       "auth.username (with an application credential's name)");
	} else if (!c->username[0] && !c->user_id[0]) {
		missing = NAME("OS_USERNAME (or OS_USER_ID)", "auth.username (or auth.user_id)");
	} else if (!c->password[0]) {
		missing = NAME("OS_PASSWORD", "auth.password");
	} else if (c->username[0] && !c->user_id[0] && !c->user_domain_name[0] &&
		   !c->user_domain_id[0]) {
		missing = NAME("OS_USER_DOMAIN_NAME (or OS_USER_DOMAIN_ID)",
			       "auth.user_domain_name (or auth.user_domain_id)");
	} else if (c->project_name[0] && !c->project_id[0] && !c->project_domain_name[0] &&
		   !c->project_domain_id[0]) {
		missing = NAME("OS_PROJECT_DOMAIN_NAME (or OS_PROJECT_DOMAIN_ID)",
			       "auth.project_domain_name (or auth.project_domain_id)");
	}
	if (missing) {
		snprintf(err, errlen, "%s: %s is not set", c->source, missing);
		return -EINVAL;
	}
	return 0;
#undef NAME
}

int upl_cred_from_env(struct upl_cred *c, upl_env_fn *env, void *ctx, char *err, size_t errlen)
{
	const char *v;
	int rc;

	memset(c, 0, sizeof(*c));
	c->env = true;
	snprintf(c->source, sizeof(c->source), "the OS_* variables");
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if ((v = env(fields[i].var, ctx)) && *v && !((char *)c + fields[i].off)[0] &&
		    (rc = set(c, &fields[i], v, fields[i].var, err, errlen)) < 0)
			return rc;
	if ((v = env("OS_ENDPOINT_TYPE", ctx)) && *v && !c->interface[0])
		snprintf(c->interface, sizeof(c->interface), "%.*s", (int)sizeof(c->interface) - 1, v);
	if ((v = env("OS_INSECURE", ctx)) && (!strcmp(v, "1") || !strcasecmp(v, "true")))
		c->insecure = true;
	if ((v = env("OS_AUTH_TYPE", ctx)) && *v &&
	    (rc = auth_type(c, v, "OS_AUTH_TYPE", err, errlen)) < 0)
		return rc;
	return 0;
}

/* ---- clouds.yaml ---------------------------------------------------------------------- */

/* Reads the entry's settings into c (values over earlier ones). */
static int apply(struct upl_cred *c, const struct cfg_node *entry, const char *path,
		 const char *name, char *err, size_t errlen)
{
	const struct cfg_node *auth = upl_key(entry, "auth"), *v;
	char where[UPL_STR + 128];
	int rc;

	if (entry->type != CFG_T_MAP || (auth && auth->type != CFG_T_MAP && auth->type != CFG_T_NULL)) {
		snprintf(err, errlen, "%s:%u: clouds.%s%s: expected a map", path,
			 auth && entry->type == CFG_T_MAP ? auth->line : entry->line, name,
			 entry->type == CFG_T_MAP ? ".auth" : "");
		return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct field *f = &fields[i];
		if (!(v = upl_key(f->in_auth ? auth : entry, f->key)) || v->type == CFG_T_NULL)
			continue;
		snprintf(where, sizeof(where), "%s:%u: clouds.%s.%s%s", path, v->line, name,
			 f->in_auth ? "auth." : "", f->key);
		if (v->type == CFG_T_SEQ || v->type == CFG_T_MAP) {
			snprintf(err, errlen, "%s: expected a string, got %s", where,
				 cfg_type_name(v->type));
			return -EINVAL;
		}
		if ((rc = set(c, f, v->str, where, err, errlen)) < 0)
			return rc;
	}
	if ((v = upl_key(entry, "verify")) && v->type == CFG_T_BOOL)
		c->insecure = !v->b;
	if ((v = upl_key(entry, "auth_type")) && v->type == CFG_T_STR) {
		snprintf(where, sizeof(where), "%s:%u: clouds.%s.auth_type", path, v->line, name);
		if ((rc = auth_type(c, v->str, where, err, errlen)) < 0)
			return rc;
	}
	return 0;
}

/* The entry `cloud` of a clouds.yaml or secure.yaml text: 0 with *entry (NULL if the file
 * has none), or -EINVAL with err. */
static int find_entry(const char *text, size_t len, const char *path, const char *cloud,
		      struct cfg_arena *a, const struct cfg_node **entry, char *names,
		      size_t nameslen, char *err, size_t errlen)
{
	struct cfg_src src = { path, 0 };
	struct cfg_diag d;
	struct cfg_node *root = NULL;
	const struct cfg_node *clouds;
	int rc;

	*entry = NULL;
	cfg_diag_init(&d);
	rc = cfg_yaml_load(text, len, &src, a, &d, &root);
	if (rc < 0) {
		const struct cfg_msg *m = cfg_diag_first_error(&d);
		if (m)
			cfg_msg_format(m, err, errlen);
		else
			snprintf(err, errlen, "%s: %s", path, cfg_strerror(rc));
		cfg_diag_free(&d);
		return rc == -ENOMEM ? rc : -EINVAL;
	}
	cfg_diag_free(&d);
	clouds = upl_key(root, "clouds");
	if (!clouds || clouds->type != CFG_T_MAP) {
		if (!names)
			return 0;	/* a secure.yaml may hold other things */
		snprintf(err, errlen, "%s: no clouds: map", path);
		return -EINVAL;
	}
	*entry = upl_key(clouds, cloud);
	if (names) {
		size_t n = 0;
		names[0] = 0;
		for (const struct cfg_entry *e = clouds->first; e && n + 2 < nameslen; e = e->next)
			n += (size_t)snprintf(names + n, nameslen - n, "%s%s", n ? ", " : "", e->key);
	}
	return 0;
}

int upl_cred_from_clouds(struct upl_cred *c, const char *cloud, const char *clouds,
			 size_t clouds_len, const char *clouds_path, const char *secure,
			 size_t secure_len, const char *secure_path, char *err, size_t errlen)
{
	struct cfg_arena a = { 0 };
	const struct cfg_node *entry, *sec = NULL;
	char names[300];
	int rc;

	memset(c, 0, sizeof(*c));
	snprintf(c->source, sizeof(c->source), "cloud '%s' of %s", cloud, clouds_path);
	rc = find_entry(clouds, clouds_len, clouds_path, cloud, &a, &entry, names, sizeof(names),
			err, errlen);
	if (!rc && !entry) {
		snprintf(err, errlen, "%s: no cloud named '%s' (it has: %s)", clouds_path, cloud,
			 names[0] ? names : "none");
		rc = -ENOENT;
	}
	if (!rc && secure)
		rc = find_entry(secure, secure_len, secure_path, cloud, &a, &sec, NULL, 0, err,
				errlen);
	if (!rc)
		rc = apply(c, entry, clouds_path, cloud, err, errlen);
	if (!rc && sec)
		rc = apply(c, sec, secure_path, cloud, err, errlen);
	cfg_arena_free(&a);
	return rc;
}

/* ---- the search ------------------------------------------------------------------------ */

static const char *real_env(const char *name, void *ctx)
{
	(void)ctx;
	return getenv(name);
}

/* The whole of a small file: 0, -ENOENT, or another -errno. */
static int slurp(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *p = NULL;
	size_t n = 0, cap = 0, r;

	if (!f)
		return -errno;
	do {
		if (cap - n < 4096) {
			char *q = realloc(p, cap = cap ? cap * 2 : 8192);
			if (!q) {
				free(p);
				fclose(f);
				return -ENOMEM;
			}
			p = q;
		}
		r = fread(p + n, 1, cap - n - 1, f);
		n += r;
	} while (r > 0 && n < ((size_t)1 << 20));
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		free(p);
		return -EIO;
	}
	p[n] = 0;
	*out = p;
	*len = n;
	return 0;
}

/* The first of the places the openstack CLI looks for file (clouds.yaml or secure.yaml). */
static bool search(const char *file, const char *env_var, char *path, size_t len)
{
	const char *v = getenv(env_var), *home = getenv("HOME");
	char dirs[3][UPL_STR];

	if (v && *v) {
		snprintf(path, len, "%s", v);
		return access(path, R_OK) == 0;
	}
	snprintf(dirs[0], sizeof(dirs[0]), ".");
	snprintf(dirs[1], sizeof(dirs[1]), "%s/.config/openstack", home ? home : "/nonexistent");
	snprintf(dirs[2], sizeof(dirs[2]), "/etc/openstack");
	for (int i = 0; i < 3; i++) {
		snprintf(path, len, "%s/%s", dirs[i], file);
		if (access(path, R_OK) == 0)
			return true;
	}
	return false;
}

int upl_cred_load(struct upl_cred *c, const char *cloud, const char *image_url, char *err,
		  size_t errlen)
{
	char cpath[UPL_STR], spath[UPL_STR];
	char *ctext = NULL, *stext = NULL;
	size_t clen = 0, slen = 0;
	int rc;

	if (!cloud || !*cloud)
		cloud = getenv("OS_CLOUD");
	if (!cloud || !*cloud) {
		rc = upl_cred_from_env(c, real_env, NULL, err, errlen);
	} else if (!search("clouds.yaml", "OS_CLIENT_CONFIG_FILE", cpath, sizeof(cpath))) {
		snprintf(err, errlen, "cloud '%s': no clouds.yaml (looked at %s, ./clouds.yaml, "
			 "~/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml)", cloud,
			 getenv("OS_CLIENT_CONFIG_FILE") ? getenv("OS_CLIENT_CONFIG_FILE")
							 : "OS_CLIENT_CONFIG_FILE (unset)");
		rc = -ENOENT;
	} else if ((rc = slurp(cpath, &ctext, &clen)) < 0) {
		snprintf(err, errlen, "%s: %s", cpath, strerror(-rc));
	} else {
		if (search("secure.yaml", "OS_CLIENT_SECURE_FILE", spath, sizeof(spath)) &&
		    (rc = slurp(spath, &stext, &slen)) < 0)
			snprintf(err, errlen, "%s: %s", spath, strerror(-rc));
		else
			rc = upl_cred_from_clouds(c, cloud, ctext, clen, cpath, stext, slen, spath,
						  err, errlen);
	}
	free(ctext);
	free(stext);
	if (rc)
		return rc;
	const char *url = image_url && *image_url ? image_url : getenv("OS_IMAGE_URL");
	if (url && *url)
		snprintf(c->image_url, sizeof(c->image_url), "%s", url);
	return upl_cred_check(c, err, errlen);
}
