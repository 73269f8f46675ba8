/* The kernel-module closure: from a short list of wanted modules and the kernel's
 * modules.dep, every .ko the appliance must carry, in an order finit_module accepts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build.h"
#include "img_priv.h"

struct kmod_entry {
	const char *path;	/* into the dep text copy */
	size_t path_len;
	const char *deps;	/* rest of the line */
	size_t deps_len;
	int state;		/* 0 unseen, 1 visiting, 2 done */
};

struct kmod_index {
	char *text;
	struct kmod_entry *e;
	size_t n;
};

/* Compares a module name with the basename of path minus ".ko", '-' == '_'. */
static int kmod_name_is(const char *path, size_t len, const char *name)
{
	const char *base = path;
	for (size_t i = 0; i < len; i++)
		if (path[i] == '/')
			base = path + i + 1;
	size_t blen = (size_t)(path + len - base);
	if (blen < 4 || memcmp(base + blen - 3, ".ko", 3) != 0)
		return 0;
	blen -= 3;
	if (strlen(name) != blen)
		return 0;
	for (size_t i = 0; i < blen; i++) {
		char a = base[i] == '-' ? '_' : base[i], b = name[i] == '-' ? '_' : name[i];
		if (a != b)
			return 0;
	}
	return 1;
}

static int kmod_index_build(struct kmod_index *ix, const char *dep, size_t len,
			    struct img_err *err)
{
	size_t cap = 0, lineno = 0;
	ix->text = malloc(len + 1);
	if (!ix->text)
		return -ENOMEM;
	memcpy(ix->text, dep, len);
	ix->text[len] = '\0';
	for (char *p = ix->text; p < ix->text + len; lineno++) {
		char *nl = memchr(p, '\n', (size_t)(ix->text + len - p));
		char *end = nl ? nl : ix->text + len;
		char *colon = memchr(p, ':', (size_t)(end - p));
		if (end > p && !colon) {
			img_fail(err, IMG_EARG, "modules.dep line %zu: no ':'", lineno + 1);
			return IMG_EARG;
		}
		if (colon) {
			if (ix->n == cap) {
				cap = cap ? cap * 2 : 1024;
				void *ne = realloc(ix->e, cap * sizeof(*ix->e));
				if (!ne)
					return -ENOMEM;
				ix->e = ne;
			}
			ix->e[ix->n++] = (struct kmod_entry){ p, (size_t)(colon - p), colon + 1,
							      (size_t)(end - colon - 1), 0 };
		}
		p = end + 1;
	}
	return 0;
}

static struct kmod_entry *kmod_find_path(struct kmod_index *ix, const char *p, size_t len)
{
	for (size_t i = 0; i < ix->n; i++)
		if (ix->e[i].path_len == len && memcmp(ix->e[i].path, p, len) == 0)
			return &ix->e[i];
	return NULL;
}

static struct kmod_entry *kmod_find_name(struct kmod_index *ix, const char *name)
{
	for (size_t i = 0; i < ix->n; i++)
		if (kmod_name_is(ix->e[i].path, ix->e[i].path_len, name))
			return &ix->e[i];
	return NULL;
}

static int kmods_push(struct img_kmods *out, const char *p, size_t len)
{
	char **np = realloc(out->paths, (out->n + 1) * sizeof(*np));
	if (!np)
		return -ENOMEM;
	out->paths = np;
	if (!(np[out->n] = strndup(p, len)))
		return -ENOMEM;
	out->n++;
	return 0;
}

/* Depth-first: dependencies are emitted before the module itself. */
static int kmod_visit(struct kmod_index *ix, struct kmod_entry *e, struct img_kmods *out,
		      struct img_err *err)
{
	if (e->state == 2)
		return 0;
	if (e->state == 1) {
		img_fail(err, IMG_EARG, "modules.dep: dependency cycle through %.*s", (int)e->path_len,
			 e->path);
		return IMG_EARG;
	}
	e->state = 1;
	const char *p = e->deps, *end = e->deps + e->deps_len;
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		const char *w = p;
		while (p < end && *p != ' ' && *p != '\t')
			p++;
		if (p == w)
			continue;
		struct kmod_entry *d = kmod_find_path(ix, w, (size_t)(p - w));
		if (!d) {
			img_fail(err, IMG_EARG, "modules.dep: %.*s needs %.*s, which has no line",
				 (int)e->path_len, e->path, (int)(p - w), w);
			return IMG_EARG;
		}
		int rc = kmod_visit(ix, d, out, err);
		if (rc < 0)
			return rc;
	}
	e->state = 2;
	return kmods_push(out, e->path, e->path_len);
}

static int kmod_builtin(const char *builtin, const char *name)
{
	if (!builtin)
		return 0;
	for (const char *p = builtin; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (kmod_name_is(p, len, name))
			return 1;
		p += len + (nl ? 1 : 0);
	}
	return 0;
}

int img_kmod_closure(const char *dep, size_t dep_len, const char *builtin,
		     const char *const *names, size_t nnames, struct img_kmods *out,
		     struct img_err *err)
{
	struct kmod_index ix = { 0 };
	int rc = kmod_index_build(&ix, dep, dep_len, err);
	out->paths = NULL;
	out->n = 0;
	for (size_t i = 0; rc == 0 && i < nnames; i++) {
		struct kmod_entry *e = kmod_find_name(&ix, names[i]);
		if (e)
			rc = kmod_visit(&ix, e, out, err);
		else if (!kmod_builtin(builtin, names[i])) {
			img_fail(err, IMG_EARG, "module '%s' is in neither modules.dep nor modules.builtin",
				 names[i]);
			rc = IMG_EARG;
		}
	}
	free(ix.text);
	free(ix.e);
	if (rc < 0)
		img_kmods_free(out);
	return rc;
}

void img_kmods_free(struct img_kmods *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->paths[i]);
	free(m->paths);
	m->paths = NULL;
	m->n = 0;
}

static int name_ok(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

const char *const img_stage_names[IMG_STAGES] = { "boot", "data", "cdrom", "after-ready" };
const char *const img_stage_lists[IMG_STAGES] = { "lib/modules/cabin.list",
						  "lib/modules/cabin-data.list",
						  "lib/modules/cabin-cdrom.list",
						  "lib/modules/cabin-late.list" };

/* Handles a "[section]" line: returns 1 if it was one (moving *stage on and closing the
 * stages before it at n), or IMG_EARG if unknown or out of order. */
static int read_section(const char *s, const char *path, int lineno, int *stage, size_t n,
			size_t end[IMG_STAGES], struct img_err *err)
{
	if (s[0] != '[')
		return 0;
	for (int i = *stage; i < IMG_STAGES; i++) {
		size_t len = strlen(img_stage_names[i]);
		if (strncmp(s + 1, img_stage_names[i], len) != 0 || strcmp(s + 1 + len, "]") != 0)
			continue;
		for (; *stage < i; (*stage)++)
			end[*stage] = n;
		return 1;
	}
	return img_fail(err, IMG_EARG, "%s:%d: '%s': expected [boot], [data], [cdrom] or [after-ready], "
			"in that order", path, lineno, s);
}

int img_read_names(const char *path, char ***names, size_t *n, size_t end[IMG_STAGES],
		   struct img_err *err)
{
	FILE *f = fopen(path, "re");
	char line[256];
	int lineno = 0, rc = 0, stage = IMG_STAGE_BOOT;
	*names = NULL;
	*n = 0;
	for (int i = 0; i < IMG_STAGES; i++)
		end[i] = 0;
	if (!f) {
		int e = errno;
		return img_fail(err, -e, "%s: %s", path, strerror(e));
	}
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		lineno++;
		line[strcspn(line, "#")] = '\0';
		char *s = line + strspn(line, " \t\r\n");
		s[strcspn(s, " \t\r\n")] = '\0';
		if (!*s)
			continue;
		int sec = read_section(s, path, lineno, &stage, *n, end, err);
		if (sec) {
			rc = sec < 0 ? sec : 0;
			continue;
		}
		if (!name_ok(s)) {
			img_fail(err, IMG_EARG, "%s:%d: '%s' is not a module name", path, lineno, s);
			rc = IMG_EARG;
			break;
		}
		char **nn = realloc(*names, (*n + 2) * sizeof(*nn));
		if (!nn || !(nn[*n] = strdup(s))) {
			if (nn)
				*names = nn;
			rc = -ENOMEM;
			break;
		}
		*names = nn;
		nn[++*n] = NULL;
	}
	fclose(f);
	for (; stage < IMG_STAGES; stage++)
		end[stage] = *n;
	if (rc < 0) {
		img_names_free(*names);
		*names = NULL;
		*n = 0;
		for (int i = 0; i < IMG_STAGES; i++)
			end[i] = 0;
	}
	return rc;
}

void img_names_free(char **names)
{
	if (!names)
		return;
	for (char **p = names; *p; p++)
		free(*p);
	free(names);
}
