/* The build manifest: inputs with their real sha256 and size, the output's hash, build
 * parameters, JSON escaping of odd paths, and errors for missing inputs. The JSON is
 * read back with python3's json module when it is there. */
#include <stdlib.h>
#include <unistd.h>

#include "../../../image/build.h"
#include "../testutil.h"
#include "imgtest.h"

static void test_manifest(void)
{
	char *dir = tu_tmpdir();
	char *a = tu_join(dir, "in \"quoted\"\\name"), *out = tu_join(dir, "out.qcow2"),
	     *man = tu_join(dir, "m.json");
	struct img_err err = { "" };
	TU_EQ_INT(tu_write_file(a, "abc", 3), 0);
	TU_EQ_INT(tu_write_file(out, "", 0), 0);
	struct img_manifest *m = img_manifest_new();
	TU_CHECK(m != NULL);
	TU_EQ_INT(img_manifest_add(m, "cabind", a, &err), 0);
	TU_CHECK(img_manifest_add(m, "kernel", "/nonexistent/vmlinuz", &err) < 0);
	TU_CHECK(strstr(err.msg, "/nonexistent/vmlinuz") != NULL);
	struct img_build b = { .output = "build/x.qcow2", .append = "a=\"b\"", .kver = "6.1.0-test",
			       .disk_size = 1 << 30, .epoch = 1700000000 };
	TU_EQ_INT(img_manifest_write(m, &b, out, man, &err), 0);
	size_t len;
	char *json = (char *)tu_read_file(man, &len);
	TU_CHECK(json != NULL);
	if (json) {
		/* sha256("abc") and sha256("") */
		TU_CHECK(strstr(json, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
		TU_CHECK(strstr(json, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
		TU_CHECK(strstr(json, "\"source_date_epoch\": 1700000000"));
		TU_CHECK(strstr(json, "\\\"quoted\\\"\\\\name"));
		TU_CHECK(strstr(json, "\"extra_cmdline\": \"a=\\\"b\\\"\""));
		TU_CHECK(strstr(json, "\"size\": 3"));
		free(json);
	}
	if (access("/usr/bin/python3", X_OK) == 0)
		TU_EQ_INT(tu_sh("/usr/bin/python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); "
				"assert m[\"inputs\"][0][\"path\"].endswith(\"in \\\"quoted\\\"\\\\name\"); "
				"assert m[\"output\"][\"path\"] == \"build/x.qcow2\"' %s", man), 0);
	/* an output that is not there is an error, and no manifest is left */
	unlink(man);
	TU_CHECK(img_manifest_write(m, &b, "/nonexistent/out", man, &err) < 0);
	TU_CHECK(access(man, F_OK) != 0);
	img_manifest_free(m);
	tu_rmrf(dir);
	free(a);
	free(out);
	free(man);
	free(dir);
}

int main(void)
{
	TU_RUN(test_manifest);
	return TU_EXIT();
}
