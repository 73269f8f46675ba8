/* Golden-file and failing-allocation drivers for the configuration parser tests, in the
 * manner of OpenBSD's regress/usr.sbin/bgpd/config: parse NAME.in, print what was
 * understood, compare with NAME.ok. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../image/imgtest.h"
#include "cfgtest.h"

static char *render_parts(int rc, const struct node_config *cfg, const struct cfg_diag *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		abort();
	fprintf(f, "result: %s\n", rc == 0 ? "ok" : cfg_strerror(rc));
	node_config_dump(f, cfg);
	fprintf(f, "--- messages\n");
	cfg_diag_dump(f, d);
	fclose(f);
	return buf;
}

static char *dump_cfg(const struct node_config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		abort();
	node_config_dump(f, cfg);
	fclose(f);
	return buf;
}

char *cfgtest_render(cfgtest_fn fn, const char *data, size_t len, const char *source)
{
	struct node_config cfg;
	struct cfg_diag d;
	node_config_init(&cfg);
	cfg_diag_init(&d);
	int rc = fn(data, len, source, &cfg, &d);
	char *out = render_parts(rc, &cfg, &d);
	node_config_free(&cfg);
	cfg_diag_free(&d);
	return out;
}

/* Prints the first differing line of want and got, then got in full. */
static void show_diff(const char *name, const char *want, const char *got)
{
	unsigned line = 1;
	const char *w = want, *g = got;
	while (*w && *w == *g) {
		line += *w == '\n';
		w++;
		g++;
	}
	const char *we = strchr(w, '\n'), *ge = strchr(g, '\n');
	while (w > want && w[-1] != '\n')
		w--;
	while (g > got && g[-1] != '\n')
		g--;
	fprintf(stderr, "%s: line %u differs\n  want: %.*s\n  got:  %.*s\n--- got in full:\n%s",
		name, line, (int)(we ? we - w : (long)strlen(w)), w,
		(int)(ge ? ge - g : (long)strlen(g)), g, got);
}

static int filter_in(const struct dirent *e)
{
	size_t n = strlen(e->d_name);
	return n > 3 && strcmp(e->d_name + n - 3, ".in") == 0;
}

static int golden_one(const char *dir, const char *file, const char *source, cfgtest_fn fn)
{
	char in[512], ok[512];
	size_t len, oklen;
	snprintf(in, sizeof(in), "%s/%s", dir, file);
	snprintf(ok, sizeof(ok), "%.*s.ok", (int)strlen(in) - 3, in);
	uint8_t *data = tu_read_file(in, &len);
	if (!data) {
		fprintf(stderr, "FAIL cannot read %s\n", in);
		return 1;
	}
	char *got = cfgtest_render(fn, (const char *)data, len, source);
	int fail = 0;
	const char *update = getenv("CABIN_UPDATE_GOLDEN");
	if (update && strcmp(update, "1") == 0) {
		if (tu_write_file(ok, got, strlen(got)) < 0) {
			fprintf(stderr, "FAIL cannot write %s\n", ok);
			fail = 1;
		}
	} else {
		uint8_t *want = tu_read_file(ok, &oklen);
		if (!want) {
			fprintf(stderr, "%s: missing (CABIN_UPDATE_GOLDEN=1 writes it); got:\n%s", ok,
				got);
			fail = 1;
		} else if (oklen != strlen(got) || memcmp(want, got, oklen) != 0) {
			show_diff(ok, (const char *)want, got);
			fail = 1;
		}
		free(want);
	}
	if (!fail && len <= 65536)
		fail = cfgtest_failalloc(fn, (const char *)data, len, source) != 0;
	printf("%s %s\n", fail ? "FAIL" : "ok", in);
	free(got);
	free(data);
	return fail;
}

int cfgtest_golden(const char *dir, const char *source, cfgtest_fn fn, int *cases)
{
	struct dirent **list;
	int n = scandir(dir, &list, filter_in, alphasort), fails = 0;
	if (n <= 0) {
		fprintf(stderr, "FAIL no inputs in %s (run from the repository root)\n", dir);
		*cases = 0;
		return 1;
	}
	for (int i = 0; i < n; i++) {
		fails += golden_one(dir, list[i]->d_name, source, fn);
		free(list[i]);
	}
	free(list);
	*cases = n;
	return fails;
}

/* ---- failing allocations ---- */

struct failer {
	long count, fail_at;
	int failed;
};

static void *failing_realloc(void *ctx, void *p, size_t n)
{
	struct failer *f = ctx;
	if (n == 0) {
		free(p);
		return NULL;
	}
	if (++f->count == f->fail_at) {
		f->failed = 1;
		return NULL;
	}
	return realloc(p, n);
}

/* A config with something in every list and a network section, so a failed merge
 * would show. */
static void prefill(struct node_config *cfg)
{
	static const char base[] =
		"#cloud-config\nhostname: before\nwrite_files: [{path: /before, content: x}]\n"
		"resolv_conf: {nameservers: [10.0.0.1], searchdomains: [a.example],\n"
		"  options: {rotate: true}}\nntp: {servers: [ntp.example], pools: [p.example]}\n"
		"cabin: {members: [{name: m0, peer_url: 'http://10.0.0.1:2380'}],\n"
		"  kv: {external: ['http://e:2379']}, labels: {a: b},\n"
		"  docker: {tls_ca: \"-----BEGIN X-----\\n-----END X-----\\n\"}}\n";
	static const char net[] = "version: 2\nethernets: {pre0: {dhcp4: true}}\n";
	struct cfg_diag d;
	cfg_diag_init(&d);
	node_config_init(cfg);
	if (ud_parse(base, sizeof(base) - 1, "prefill", cfg, &d) != 0 ||
	    net_parse_nocloud(net, sizeof(net) - 1, "prefill", cfg, &d) != 0)
		abort();
	cfg_diag_free(&d);
}

int cfgtest_failalloc(cfgtest_fn fn, const char *data, size_t len, const char *source)
{
	struct node_config cfg;
	struct cfg_diag d;
	prefill(&cfg);
	char *before = dump_cfg(&cfg);
	cfg_diag_init(&d);
	int want_rc = fn(data, len, source, &cfg, &d);
	char *want = dump_cfg(&cfg);
	node_config_free(&cfg);
	cfg_diag_free(&d);
	int fails = 0;
	for (long k = 1;; k++) {
		struct failer f = { .fail_at = k };
		prefill(&cfg);
		cfg_diag_init(&d);
		cfg_set_allocator(failing_realloc, &f);
		int rc = fn(data, len, source, &cfg, &d);
		cfg_set_allocator(NULL, NULL);
		char *got = dump_cfg(&cfg);
		const char *expect = rc == -ENOMEM ? before : want;
		if ((rc != -ENOMEM && rc != want_rc) || strcmp(got, expect) != 0) {
			fprintf(stderr, "FAIL allocation %ld failed: rc %d (want %d or -ENOMEM), "
				"config:\n%s", k, rc, want_rc, got);
			fails++;
		}
		free(got);
		node_config_free(&cfg);
		cfg_diag_free(&d);
		if (!f.failed || fails) {
			if (getenv("CFGTEST_VERBOSE"))
				fprintf(stderr, "%ld allocations tried\n", k);
			break;
		}
	}
	free(before);
	free(want);
	return fails;
}
