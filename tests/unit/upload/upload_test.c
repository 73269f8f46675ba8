/* The pure parts of `cabin upload`: credentials from OS_* variables and from clouds.yaml
 * with secure.yaml (and the errors that name what is missing and where), the Keystone
 * request bodies, the image endpoint from a catalog, and the one-line reasons of error
 * bodies. */
#include <errno.h>
#include <string.h>

#include "../../../image/upload.h"
#include "../testutil.h"

/* NULL-terminated NAME, VALUE pairs. */
static const char *table_env(const char *name, void *ctx)
{
	for (const char *const *p = ctx; *p; p += 2)
		if (strcmp(p[0], name) == 0)
			return p[1];
	return NULL;
}

static int from_env(const char *const *vars, struct upl_cred *c, char *err, size_t len)
{
	int rc = upl_cred_from_env(c, table_env, (void *)vars, err, len);
	return rc ? rc : upl_cred_check(c, err, len);
}

static void test_env_password(void)
{
	static const char *const vars[] = {
		"OS_AUTH_URL", "http://ks:5000/v3", "OS_USERNAME", "alice", "OS_PASSWORD", "s3\"cret",
		"OS_USER_DOMAIN_NAME", "Default", "OS_PROJECT_NAME", "lab",
		"OS_PROJECT_DOMAIN_ID", "default", "OS_REGION_NAME", "RegionTwo",
		"OS_ENDPOINT_TYPE", "internalURL", NULL,
	};
	struct upl_cred c;
	struct upl_buf b = { 0 };
	char err[300] = "";

	TU_EQ_INT(from_env(vars, &c, err, sizeof(err)), 0);
	TU_EQ_INT(c.auth, UPL_AUTH_PASSWORD);
	TU_EQ_STR(c.interface, "internal");
	TU_EQ_STR(c.region, "RegionTwo");
	TU_EQ_INT(upl_auth_body(&c, &b, err, sizeof(err)), 0);
	TU_EQ_STR(b.p, "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":"
		       "{\"name\":\"alice\",\"domain\":{\"name\":\"Default\"},\"password\":"
		       "\"s3\\\"cret\"}}},\"scope\":{\"project\":{\"name\":\"lab\",\"domain\":"
		       "{\"id\":\"default\"}}}}}");
	upl_buf_free(&b);
}

static void test_env_missing(void)
{
	static const char *const no_pass[] = {
		"OS_AUTH_URL", "http://ks/v3", "OS_USERNAME", "a", "OS_USER_DOMAIN_NAME", "d", NULL,
	};
	static const char *const no_domain[] = {
		"OS_AUTH_URL", "http://ks/v3", "OS_USERNAME", "a", "OS_PASSWORD", "p", NULL,
	};
	static const char *const bad_type[] = { "OS_AUTH_TYPE", "kerberos", NULL };
	static const char *const nothing[] = { NULL };
	struct upl_cred c;
	char err[300] = "";

	TU_EQ_INT(from_env(no_pass, &c, err, sizeof(err)), -EINVAL);
	TU_EQ_STR(err, "the OS_* variables: OS_PASSWORD is not set");
	TU_EQ_INT(from_env(no_domain, &c, err, sizeof(err)), -EINVAL);
	TU_EQ_STR(err, "the OS_* variables: OS_USER_DOMAIN_NAME (or OS_USER_DOMAIN_ID) is not set");
	TU_EQ_INT(from_env(bad_type, &c, err, sizeof(err)), -EINVAL);
	TU_CHECK(strstr(err, "OS_AUTH_TYPE: 'kerberos' is not") != NULL);
	TU_EQ_INT(from_env(nothing, &c, err, sizeof(err)), -EINVAL);
	TU_EQ_STR(err, "the OS_* variables: OS_AUTH_URL is not set");
}

static void test_env_appcred_and_token(void)
{
	static const char *const app[] = {
		"OS_AUTH_URL", "http://ks:5000", "OS_APPLICATION_CREDENTIAL_ID", "abc",
		"OS_APPLICATION_CREDENTIAL_SECRET", "xyz", "OS_AUTH_TYPE", "v3applicationcredential",
		"OS_PROJECT_NAME", "ignored", NULL,
	};
	static const char *const tok[] = {
		"OS_TOKEN", "gAAAA", "OS_IMAGE_URL", "http://glance:9292", NULL,
	};
	struct upl_cred c;
	struct upl_buf b = { 0 };
	char err[300] = "";

	TU_EQ_INT(from_env(app, &c, err, sizeof(err)), 0);
	TU_EQ_INT(c.auth, UPL_AUTH_APPCRED);
	TU_EQ_INT(upl_auth_body(&c, &b, err, sizeof(err)), 0);
	/* an application credential is scoped already: no scope asked */
	TU_EQ_STR(b.p, "{\"auth\":{\"identity\":{\"methods\":[\"application_credential\"],"
		       "\"application_credential\":{\"id\":\"abc\",\"secret\":\"xyz\"}}}}");
	upl_buf_free(&b);
	TU_EQ_INT(from_env(tok, &c, err, sizeof(err)), 0);
	TU_EQ_INT(c.auth, UPL_AUTH_TOKEN);
	TU_EQ_STR(c.image_url, "http://glance:9292");
	TU_EQ_INT(upl_auth_body(&c, &b, err, sizeof(err)), 0);
	TU_EQ_STR(b.p, "{\"auth\":{\"identity\":{\"methods\":[\"token\"],\"token\":{\"id\":"
		       "\"gAAAA\"}}}}");
	upl_buf_free(&b);
}

static const char clouds[] =
	"clouds:\n"
	"  lab:\n"
	"    auth:\n"
	"      auth_url: http://ks:5000/v3\n"
	"      username: bob\n"
	"      project_id: 42\n"
	"      user_domain_id: default\n"
	"    region_name: RegionOne\n"
	"    verify: false\n"
	"  other:\n"
	"    auth_type: v3applicationcredential\n"
	"    auth:\n"
	"      auth_url: http://ks:5000\n"
	"      application_credential_id: id1\n";
static const char secure[] =
	"clouds:\n"
	"  lab:\n"
	"    auth:\n"
	"      password: from-secure\n"
	"  other:\n"
	"    auth:\n"
	"      application_credential_secret: sec\n";

static int from_clouds(const char *name, const char *sec, struct upl_cred *c, char *err,
		       size_t len)
{
	int rc = upl_cred_from_clouds(c, name, clouds, strlen(clouds), "/x/clouds.yaml", sec,
				      sec ? strlen(sec) : 0, "/x/secure.yaml", err, len);
	return rc ? rc : upl_cred_check(c, err, len);
}

static void test_clouds(void)
{
	struct upl_cred c;
	char err[300] = "";

	TU_EQ_INT(from_clouds("lab", secure, &c, err, sizeof(err)), 0);
	TU_EQ_STR(c.password, "from-secure");
	TU_EQ_STR(c.project_id, "42");		/* a number written plain is a string here */
	TU_EQ_STR(c.region, "RegionOne");
	TU_EQ_STR(c.interface, "public");
	TU_CHECK(c.insecure);
	TU_EQ_INT(from_clouds("other", secure, &c, err, sizeof(err)), 0);
	TU_EQ_INT(c.auth, UPL_AUTH_APPCRED);
	TU_EQ_STR(c.app_cred_secret, "sec");
	/* without secure.yaml, the password is missing, named as clouds.yaml names it */
	TU_EQ_INT(from_clouds("lab", NULL, &c, err, sizeof(err)), -EINVAL);
	TU_EQ_STR(err, "cloud 'lab' of /x/clouds.yaml: auth.password is not set");
	TU_EQ_INT(from_clouds("nope", secure, &c, err, sizeof(err)), -ENOENT);
	TU_EQ_STR(err, "/x/clouds.yaml: no cloud named 'nope' (it has: lab, other)");
}

static void test_clouds_errors(void)
{
	static const char bad_yaml[] = "clouds:\n  lab: [\n";
	static const char bad_type[] = "clouds:\n  lab:\n    auth:\n      username: [a, b]\n";
	struct upl_cred c;
	char err[300] = "";

	TU_CHECK(upl_cred_from_clouds(&c, "lab", bad_yaml, strlen(bad_yaml), "/x/clouds.yaml",
				      NULL, 0, NULL, err, sizeof(err)) == -EINVAL);
	TU_CHECK(strncmp(err, "/x/clouds.yaml:", 15) == 0);
	TU_EQ_INT(upl_cred_from_clouds(&c, "lab", bad_type, strlen(bad_type), "/x/clouds.yaml",
				       NULL, 0, NULL, err, sizeof(err)), -EINVAL);
	TU_EQ_STR(err, "/x/clouds.yaml:4: clouds.lab.auth.username: expected a string, got list");
}

static const char catalog[] =
	"{\"token\":{\"catalog\":["
	"{\"type\":\"identity\",\"endpoints\":[{\"interface\":\"public\",\"region_id\":\"R1\","
	"\"url\":\"http://ks\"}]},"
	"{\"type\":\"image\",\"name\":\"glance\",\"endpoints\":["
	"{\"interface\":\"internal\",\"region_id\":\"R1\",\"url\":\"http://int:9292\"},"
	"{\"interface\":\"public\",\"region_id\":\"R1\",\"region\":\"R1\",\"url\":\"http://r1:9292\"},"
	"{\"interface\":\"public\",\"region_id\":\"R2\",\"url\":\"http://r2:9292/v2/\"}]}]}}";

static void test_catalog(void)
{
	char url[200], err[300] = "";

	TU_EQ_INT(upl_catalog_url(catalog, strlen(catalog), "image", "public", "R2", url,
				  sizeof(url), err, sizeof(err)), 0);
	TU_EQ_STR(url, "http://r2:9292/v2/");
	TU_EQ_INT(upl_catalog_url(catalog, strlen(catalog), "image", "internal", "", url,
				  sizeof(url), err, sizeof(err)), 0);
	TU_EQ_STR(url, "http://int:9292");
	TU_EQ_INT(upl_catalog_url(catalog, strlen(catalog), "image", "admin", "R1", url,
				  sizeof(url), err, sizeof(err)), -ENOENT);
	TU_EQ_STR(err, "the service catalog has no image endpoint for interface admin in region "
		       "R1 (it has: internal in R1, public in R1, public in R2)");
	TU_EQ_INT(upl_catalog_url(catalog, strlen(catalog), "volume", "public", "", url,
				  sizeof(url), err, sizeof(err)), -ENOENT);
	TU_EQ_STR(err, "the service catalog has no volume service");
	TU_EQ_INT(upl_catalog_url("{\"token\":{}}", 12, "image", "public", "", url, sizeof(url),
				  err, sizeof(err)), -EINVAL);
}

static void test_error_text(void)
{
	static const char ks[] = "{\"error\":{\"code\":401,\"message\":\"The request you have made "
				 "requires authentication.\",\"title\":\"Unauthorized\"}}";
	static const char html[] = "<html>\n <head>\n  <title>413 Request Entity Too Large</title>\n"
				   " </head>\n <body>\n  <h1>413 Request Entity Too Large</h1>\n"
				   "  Image exceeds the storage quota: 20 bytes.<br /><br />\n\n\n"
				   " </body>\n</html>";
	char out[200];

	upl_error_text(ks, strlen(ks), out, sizeof(out));
	TU_EQ_STR(out, "The request you have made requires authentication.");
	upl_error_text(html, strlen(html), out, sizeof(out));
	TU_EQ_STR(out, "Image exceeds the storage quota: 20 bytes.");
	upl_error_text("plain\ntext", 10, out, sizeof(out));
	TU_EQ_STR(out, "plain text");
	upl_error_text(NULL, 0, out, sizeof(out));
	TU_EQ_STR(out, "");
}

int main(void)
{
	TU_RUN(test_env_password);
	TU_RUN(test_env_missing);
	TU_RUN(test_env_appcred_and_token);
	TU_RUN(test_clouds);
	TU_RUN(test_clouds_errors);
	TU_RUN(test_catalog);
	TU_RUN(test_error_text);
	return TU_EXIT();
}
