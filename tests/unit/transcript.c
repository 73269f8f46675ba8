/* The transcript-test runner: reads each file, runs its commands through the test's
 * interpreter, compares or rewrites the expected blocks. Files are small; all in memory. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transcript.h"

void tr_printf(struct tr_out *o, const char *fmt, ...)
{
	va_list ap, ap2;

	va_start(ap, fmt);
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n >= 0 && o->n + (size_t)n + 1 > o->cap) {
		o->cap = (o->n + (size_t)n + 1) * 2;
		o->s = realloc(o->s, o->cap);
		if (!o->s)
			abort();
	}
	if (n >= 0) {
		vsnprintf(o->s + o->n, (size_t)n + 1, fmt, ap2);
		o->n += (size_t)n;
	}
	va_end(ap2);
}

void tr_split(char *line, struct tr_args *a)
{
	a->n = 0;
	for (char *save, *t = strtok_r(line, " \t", &save); t && a->n < TR_MAX_ARGS;
	     t = strtok_r(NULL, " \t", &save)) {
		char *eq = strchr(t, '=');
		a->k[a->n] = t;
		a->v[a->n] = "";
		if (eq) {
			*eq = '\0';
			a->v[a->n] = eq + 1;
		}
		a->n++;
	}
}

const char *tr_arg(const struct tr_args *a, const char *key)
{
	for (int i = 0; i < a->n; i++)
		if (strcmp(a->k[i], key) == 0)
			return a->v[i];
	return NULL;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct tr_out o = {0};
	char buf[4096];
	size_t n;

	if (!f)
		return NULL;
	tr_printf(&o, "%s", "");
	while ((n = fread(buf, 1, sizeof(buf) - 1, f)) > 0) {
		buf[n] = '\0';
		tr_printf(&o, "%s", buf);
	}
	fclose(f);
	return o.s;
}

/* Returns the next line of *p (without its newline, in a static buffer), or NULL at the end. */
static const char *next_line(const char **p, int *lineno)
{
	static char line[1024];
	if (!**p)
		return NULL;
	const char *nl = strchr(*p, '\n');
	size_t n = nl ? (size_t)(nl - *p) : strlen(*p);
	snprintf(line, sizeof(line), "%.*s", (int)n, *p);
	*p += n + (nl ? 1 : 0);
	(*lineno)++;
	return line;
}

struct run {
	const char *path;
	tr_cmd_fn *cmd;
	void *ctx;
	int failures;
	struct tr_out rewritten;
};

/* Runs one case: cmdline, then the expected block after "----" up to a blank line. */
static void run_case(struct run *r, const char *cmdline, int at, const char **p, int *lineno)
{
	struct tr_out want = {0}, got = {0};
	char cmd[1024];
	struct tr_args a;
	const char *save = *p, *l;
	int save_line = *lineno;

	tr_printf(&want, "%s", "");
	tr_printf(&got, "%s", "");
	if ((l = next_line(p, lineno)) && strcmp(l, "----") == 0) {
		while ((l = next_line(p, lineno)) && l[0])
			tr_printf(&want, "%s\n", l);
	} else { /* no expected output written yet */
		*p = save;
		*lineno = save_line;
	}
	snprintf(cmd, sizeof(cmd), "%s", cmdline);
	tr_split(cmd, &a);
	if (a.n == 0 || r->cmd(r->ctx, &a, &got) < 0)
		tr_printf(&got, "error: cannot run this command\n");
	if (strcmp(want.s, got.s) != 0 && !getenv("CABIN_UPDATE_GOLDEN")) {
		r->failures++;
		fprintf(stderr, "FAIL %s:%d: %s\n--- want\n%s--- got\n%s", r->path, at, cmdline,
			want.s, got.s);
	}
	tr_printf(&r->rewritten, "%s\n----\n%s\n", cmdline, got.s);
	free(want.s);
	free(got.s);
}

static void rewrite(struct run *r, const char *old)
{
	struct tr_out *w = &r->rewritten;

	while (w->n >= 2 && w->s[w->n - 1] == '\n' && w->s[w->n - 2] == '\n')
		w->s[--w->n] = '\0';
	if (strcmp(w->s, old) == 0)
		return;
	FILE *f = fopen(r->path, "wb");
	if (!f || fwrite(w->s, 1, w->n, f) != w->n || fclose(f) != 0) {
		fprintf(stderr, "FAIL cannot rewrite %s: %s\n", r->path, strerror(errno));
		r->failures++;
	} else {
		printf("rewrote %s\n", r->path);
	}
}

int tr_run_file(const char *path, tr_cmd_fn *cmd, tr_reset_fn *reset, void *ctx)
{
	struct run r = {path, cmd, ctx, 0, {0}};
	char *text = slurp(path);
	const char *p = text, *l;
	int lineno = 0;

	if (!text) {
		fprintf(stderr, "FAIL cannot read %s: %s\n", path, strerror(errno));
		return 1;
	}
	reset(ctx);
	tr_printf(&r.rewritten, "%s", "");
	while ((l = next_line(&p, &lineno))) {
		struct tr_out *w = &r.rewritten;
		if (l[0] == '\0' && w->n >= 2 && w->s[w->n - 1] == '\n' && w->s[w->n - 2] == '\n')
			continue; /* one blank line between cases */
		if (l[0] == '\0' || l[0] == '#') {
			tr_printf(w, "%s\n", l);
			continue;
		}
		char cmdline[1024];
		snprintf(cmdline, sizeof(cmdline), "%s", l);
		run_case(&r, cmdline, lineno, &p, &lineno);
	}
	if (getenv("CABIN_UPDATE_GOLDEN"))
		rewrite(&r, text);
	printf("%s %s\n", r.failures ? "FAIL" : "ok", path);
	free(r.rewritten.s);
	free(text);
	return r.failures;
}

static int is_txt(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return n > 4 && strcmp(d->d_name + n - 4, ".txt") == 0;
}

int tr_run_dir(const char *dir, tr_cmd_fn *cmd, tr_reset_fn *reset, void *ctx)
{
	struct dirent **names;
	int failures = 0, n = scandir(dir, &names, is_txt, alphasort);

	if (n <= 0) {
		fprintf(stderr, "FAIL no transcripts in %s\n", dir);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		failures += tr_run_file(path, cmd, reset, ctx);
		free(names[i]);
	}
	free(names);
	return failures;
}
