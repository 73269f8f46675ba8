/* The build manifest: every file that went into the image with its sha256, the build
 * parameters, and the output's sha256, as JSON. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build.h"
#include "img_priv.h"

struct img_manifest_entry {
	char *role, *path;
	char sha[IMG_SHA256_HEX];
	uint64_t size;
};

struct img_manifest {
	struct img_manifest_entry *e;
	size_t n;
};

struct img_manifest *img_manifest_new(void)
{
	return calloc(1, sizeof(struct img_manifest));
}

void img_manifest_free(struct img_manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->e[i].role);
		free(m->e[i].path);
	}
	free(m->e);
	free(m);
}

int img_manifest_add(struct img_manifest *m, const char *role, const char *path,
		     struct img_err *err)
{
	struct img_manifest_entry ent = { 0 };
	struct stat st;
	if (stat(path, &st) < 0)
		return img_fail(err, -errno, "%s: %s", path, strerror(errno));
	int rc = img_sha256_file(path, ent.sha, err);
	if (rc < 0)
		return rc;
	ent.size = (uint64_t)st.st_size;
	void *ne = realloc(m->e, (m->n + 1) * sizeof(*m->e));
	if (!ne)
		return img_fail(err, -ENOMEM, "manifest: out of memory");
	m->e = ne;
	ent.role = strdup(role);
	ent.path = strdup(path);
	if (!ent.role || !ent.path) {
		free(ent.role);
		free(ent.path);
		return img_fail(err, -ENOMEM, "manifest: out of memory");
	}
	m->e[m->n++] = ent;
	return 0;
}

/* Writes s as a JSON string literal. */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void manifest_body(FILE *f, const struct img_manifest *m, const struct img_build *b,
			  const char *out_sha, uint64_t out_size)
{
	fprintf(f, "{\n  \"format\": 1,\n  \"cabin_version\": ");
	json_str(f, cabin_version);
	fprintf(f, ",\n  \"source_date_epoch\": %" PRId64 ",\n  \"kernel_version\": ", b->epoch);
	json_str(f, b->kver);
	fprintf(f, ",\n  \"extra_cmdline\": ");
	json_str(f, b->append ? b->append : "");
	fprintf(f, ",\n  \"disk_size\": %" PRIu64 ",\n  \"inputs\": [\n", b->disk_size);
	for (size_t i = 0; i < m->n; i++) {
		fprintf(f, "    {\"role\": ");
		json_str(f, m->e[i].role);
		fprintf(f, ", \"path\": ");
		json_str(f, m->e[i].path);
		fprintf(f, ", \"size\": %" PRIu64 ", \"sha256\": \"%s\"}%s\n", m->e[i].size,
			m->e[i].sha, i + 1 < m->n ? "," : "");
	}
	fprintf(f, "  ],\n  \"output\": {\"path\": ");
	json_str(f, b->output);
	fprintf(f, ", \"format\": \"qcow2\", \"size\": %" PRIu64 ", \"sha256\": \"%s\"}\n}\n",
		out_size, out_sha);
}

int img_manifest_write(const struct img_manifest *m, const struct img_build *b,
		       const char *built, const char *tmp, struct img_err *err)
{
	char out_sha[IMG_SHA256_HEX];
	struct stat st;
	int rc = img_sha256_file(built, out_sha, err);
	if (rc < 0)
		return rc;
	if (stat(built, &st) < 0)
		return img_fail(err, -errno, "%s: %s", built, strerror(errno));
	FILE *f = fopen(tmp, "we");
	if (!f)
		return img_fail(err, -errno, "manifest %s: %s", tmp, strerror(errno));
	manifest_body(f, m, b, out_sha, (uint64_t)st.st_size);
	rc = fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -errno;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		return img_fail(err, rc, "manifest %s: %s", tmp, strerror(-rc));
	}
	return 0;
}
