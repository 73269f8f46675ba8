/* User-data parsing: golden files for every key, encoding, MIME layout and kind of error
 * (testdata/userdata/NAME.in -> NAME.ok), plus the limits: size, nesting, aliases,
 * decompression, message count, and cfg left alone on failure. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../../init/config.h"
#include "../image/imgtest.h"
#include "../testutil.h"
#include "cfgtest.h"

static void test_golden(void)
{
	int cases;
	TU_EQ_INT(cfgtest_golden("tests/unit/init/testdata/userdata", "user_data", ud_parse,
				 &cases), 0);
	TU_CHECK(cases >= 40);
}

/* Parses text into a fresh config; returns the code and the messages in *d. */
static int parse(const char *text, size_t len, struct node_config *cfg, struct cfg_diag *d)
{
	node_config_init(cfg);
	cfg_diag_init(d);
	return ud_parse(text, len, "user_data", cfg, d);
}

static const char *first_error(const struct cfg_diag *d)
{
	const struct cfg_msg *m = cfg_diag_first_error(d);
	static char buf[512];
	if (!m)
		return "";
	cfg_msg_format(m, buf, sizeof(buf));
	return buf;
}

static void test_too_big(void)
{
	struct node_config cfg;
	struct cfg_diag d;
	size_t n = CFG_INPUT_MAX + 1;
	char *big = malloc(n);
	memcpy(big, "#cloud-config\nhostname: x\n", 26);
	memset(big + 26, '#', n - 26);
	TU_EQ_INT(parse(big, n, &cfg, &d), CFG_ETOOBIG);
	TU_EQ_STR(first_error(&d), "user_data: 16777217 bytes; the limit is 16 MiB");
	TU_EQ_STR(cfg.hostname, "");
	node_config_free(&cfg);
	cfg_diag_free(&d);
	/* exactly at the limit is parsed (a comment that long is fine) */
	TU_EQ_INT(parse(big, n - 1, &cfg, &d), 0);
	TU_EQ_STR(cfg.hostname, "x");
	node_config_free(&cfg);
	cfg_diag_free(&d);
	free(big);
}

/* Nesting far past the limit, in every syntax, stops at the limit with a message. */
static void test_deep_nesting(void)
{
	struct node_config cfg;
	struct cfg_diag d;
	size_t depth = 200000;
	char *t = malloc(depth * 2 + 64);
	size_t n = (size_t)sprintf(t, "#cloud-config\nx: ");
	for (size_t i = 0; i < depth; i++)
		t[n++] = '[';
	TU_EQ_INT(parse(t, n, &cfg, &d), CFG_ESYNTAX);
	TU_EQ_STR(first_error(&d), "user_data:2:67: YAML: nesting deeper than 64 levels");
	node_config_free(&cfg);
	cfg_diag_free(&d);

	n = (size_t)sprintf(t, "{\"a\":\n");
	for (size_t i = 0; i < depth; i++)
		t[n++] = '[';
	TU_EQ_INT(parse(t, n, &cfg, &d), CFG_ESYNTAX);
	TU_EQ_STR(first_error(&d), "user_data:2:64: JSON: nesting deeper than 64 levels");
	node_config_free(&cfg);
	cfg_diag_free(&d);

	/* block style: each level one more indent */
	n = (size_t)sprintf(t, "#cloud-config\n");
	for (size_t i = 0; i < 100; i++)
		n += (size_t)sprintf(t + n, "%*sk:\n", (int)i, "");
	TU_EQ_INT(parse(t, n, &cfg, &d), CFG_ESYNTAX);
	TU_EQ_STR(first_error(&d), "user_data:66:65: YAML: nesting deeper than 64 levels");
	node_config_free(&cfg);
	cfg_diag_free(&d);
	free(t);
}

/* "Billion laughs": aliases share nodes, so this stays small and quick. */
static void test_alias_bomb(void)
{
	char text[4096];
	size_t n = (size_t)sprintf(text, "#cloud-config\nhostname: lol\nx0: &a0 [lol, lol]\n");
	for (int i = 1; i < 40; i++)
		n += (size_t)sprintf(text + n, "x%d: &a%d [*a%d, *a%d, *a%d, *a%d]\n", i, i, i - 1,
				     i - 1, i - 1, i - 1);
	n += (size_t)sprintf(text + n, "cabin: {labels: *a39}\nwrite_files: *a39\n");
	struct node_config cfg;
	struct cfg_diag d;
	clock_t t0 = clock();
	TU_EQ_INT(parse(text, n, &cfg, &d), CFG_EINVALID);
	TU_CHECK(clock() - t0 < CLOCKS_PER_SEC);
	TU_EQ_STR(first_error(&d), "user_data:42: cabin.labels: expected map, got list");
	node_config_free(&cfg);
	cfg_diag_free(&d);
}

/* One big write_files alias repeated: bounded by the total decoded size. */
static void test_alias_files(void)
{
	size_t big = 8u << 20;
	char *t = malloc(big + 4096);
	size_t n = (size_t)sprintf(t, "#cloud-config\nbig: &b \"");
	memset(t + n, 'a', big);
	n += big;
	n += (size_t)sprintf(t + n, "\"\nwrite_files:\n");
	for (int i = 0; i < 12; i++)
		n += (size_t)sprintf(t + n, "- {path: /f%d, content: *b}\n", i);
	struct node_config cfg;
	struct cfg_diag d;
	TU_EQ_INT(parse(t, n, &cfg, &d), CFG_EINVALID);
	TU_EQ_STR(first_error(&d), "user_data:12: write_files[8]: write_files over 64 MiB in all");
	TU_EQ_INT(cfg.n_files, 0);
	node_config_free(&cfg);
	cfg_diag_free(&d);
	free(t);
}

/* A gzip bomb: 64 MiB of zeros compresses to ~64 KiB; both user data and write_files
 * stop at their limits. */
static void test_gzip_bomb(void)
{
	if (!tu_have("gzip") || !tu_have("base64")) {
		printf("skip gzip bomb: no gzip\n");
		return;
	}
	size_t len;
	char *dir = tu_tmpdir();
	TU_EQ_INT(tu_sh("cd %s && head -c 67108864 /dev/zero | gzip -n > bomb.gz && "
			"{ printf '#cloud-config\\nwrite_files:\\n- path: /x\\n  encoding: gz+b64\\n"
			"  content: '; base64 -w0 bomb.gz; echo; } > wf.in", dir), 0);
	char *p = tu_join(dir, "bomb.gz");
	uint8_t *gz = tu_read_file(p, &len);
	struct node_config cfg;
	struct cfg_diag d;
	TU_EQ_INT(parse((char *)gz, len, &cfg, &d), CFG_ETOOBIG);
	TU_EQ_STR(first_error(&d), "user_data: gzip: more than 16 MiB when decompressed");
	node_config_free(&cfg);
	cfg_diag_free(&d);
	free(gz);
	free(p);
	p = tu_join(dir, "wf.in");
	gz = tu_read_file(p, &len);
	TU_EQ_INT(parse((char *)gz, len, &cfg, &d), CFG_EINVALID);
	TU_EQ_STR(first_error(&d), "user_data:5: write_files[0].content: decompressed content "
		  "too large (16 MiB per file, 64 MiB in all)");
	node_config_free(&cfg);
	cfg_diag_free(&d);
	free(gz);
	free(p);
	tu_rmrf(dir);
	free(dir);
}

/* A failed parse leaves what earlier sources set; a good one merges into it. */
static void test_merge_into_existing(void)
{
	struct node_config cfg;
	struct cfg_diag d;
	static const char meta[] = "{\"uuid\": \"u-1\", \"hostname\": \"meta.novalocal\"}";
	static const char bad[] = "#cloud-config\nhostname: user\nntp: {servers: [a..b]}\n";
	static const char good[] = "#cloud-config\nhostname: user\nntp: {servers: [n.example]}\n";
	node_config_init(&cfg);
	cfg_diag_init(&d);
	TU_EQ_INT(meta_parse_openstack(meta, sizeof(meta) - 1, NULL, &cfg, &d), 0);
	TU_EQ_INT(ud_parse(bad, sizeof(bad) - 1, NULL, &cfg, &d), CFG_EINVALID);
	TU_EQ_STR(cfg.hostname, "meta");
	TU_EQ_STR(cfg.fqdn, "meta.novalocal");
	TU_EQ_INT(cfg.ntp.servers.n, 0);
	TU_EQ_STR(first_error(&d), "user_data:3: ntp.servers[0]: \"a..b\": not an IP address "
		  "or host name");
	TU_EQ_INT(ud_parse(good, sizeof(good) - 1, NULL, &cfg, &d), 0);
	TU_EQ_STR(cfg.hostname, "user");
	TU_EQ_STR(cfg.fqdn, "meta.novalocal");
	TU_EQ_STR(cfg.instance_id, "u-1");
	TU_EQ_INT(cfg.ntp.servers.n, 1);
	/* and lists append across parses */
	TU_EQ_INT(ud_parse(good, sizeof(good) - 1, NULL, &cfg, &d), 0);
	TU_EQ_INT(cfg.ntp.servers.n, 2);
	node_config_free(&cfg);
	cfg_diag_free(&d);
}

/* At most CFG_DIAG_MAX messages are kept; the rest are counted. */
static void test_diag_cap(void)
{
	char *t = malloc(65536);
	size_t n = (size_t)sprintf(t, "#cloud-config\n");
	for (int i = 0; i < 250; i++)
		n += (size_t)sprintf(t + n, "key%d: 1\n", i);
	struct node_config cfg;
	struct cfg_diag d;
	TU_EQ_INT(parse(t, n, &cfg, &d), 0);
	TU_EQ_INT(d.n, CFG_DIAG_MAX);
	TU_EQ_INT(d.ignored, 250);
	TU_EQ_INT(d.dropped, 150);
	node_config_free(&cfg);
	cfg_diag_free(&d);
	free(t);
}

static void test_defaults(void)
{
	struct node_config cfg;
	struct cfg_diag d;
	static const char t[] = "#cloud-config\ncabin: {kv: {client_port: 12379}}\n";
	TU_EQ_INT(parse(t, sizeof(t) - 1, &cfg, &d), 0);
	node_config_defaults(&cfg);
	TU_EQ_STR(cfg.cabin.kv.listen, "0.0.0.0");
	TU_EQ_INT(cfg.cabin.kv.client_port, 12379);
	TU_EQ_INT(cfg.cabin.kv.peer_port, 2380);
	TU_EQ_INT(cfg.cabin.overlay.subnet_len, 24);
	TU_EQ_INT(cfg.cabin.overlay.backend, CABIN_BACKEND_VXLAN);
	TU_EQ_INT(cfg.cabin.kv.quota_backend_bytes, -1);
	node_config_free(&cfg);
	cfg_diag_free(&d);
}

static void test_format_and_codes(void)
{
	struct cfg_msg m = { .severity = CFG_WARNING, .line = 3, .col = 0 };
	char buf[64];
	strcpy(m.source, "user_data");
	strcpy(m.text, "x: y");
	cfg_msg_format(&m, buf, sizeof(buf));
	TU_EQ_STR(buf, "user_data:3: warning: x: y");
	m.severity = CFG_ERROR;
	m.col = 7;
	cfg_msg_format(&m, buf, sizeof(buf));
	TU_EQ_STR(buf, "user_data:3:7: x: y");
	m.line = 0;
	m.severity = CFG_IGNORED;
	cfg_msg_format(&m, buf, sizeof(buf));
	TU_EQ_STR(buf, "user_data: ignored: x: y");
	cfg_msg_format(&m, buf, 8);
	TU_EQ_STR(buf, "user_da");
	TU_EQ_STR(cfg_strerror(CFG_ESYNTAX), "malformed input");
	TU_EQ_STR(cfg_strerror(-ENOMEM), "out of memory");
	/* control characters never reach a message */
	struct cfg_diag d;
	cfg_diag_init(&d);
	cfg_diag_add(&d, CFG_ERROR, "s\033[2J", 1, 0, "a\nb", "bad \033]0;x\a");
	TU_EQ_STR(d.msg[0].source, "s?[2J");
	TU_EQ_STR(d.msg[0].text, "a?b: bad ?]0;x?");
	cfg_diag_free(&d);
}

/* NULL data and a NULL source are accepted. */
static void test_null_input(void)
{
	struct node_config cfg;
	struct cfg_diag d;
	node_config_init(&cfg);
	cfg_diag_init(&d);
	TU_EQ_INT(ud_parse(NULL, 0, NULL, &cfg, &d), 0);
	TU_EQ_INT(d.warnings, 1);
	node_config_free(&cfg);
	cfg_diag_free(&d);
}

int main(void)
{
	TU_RUN(test_golden);
	TU_RUN(test_too_big);
	TU_RUN(test_deep_nesting);
	TU_RUN(test_alias_bomb);
	TU_RUN(test_alias_files);
	TU_RUN(test_gzip_bomb);
	TU_RUN(test_merge_into_existing);
	TU_RUN(test_diag_cap);
	TU_RUN(test_defaults);
	TU_RUN(test_format_and_codes);
	TU_RUN(test_null_input);
	return TU_EXIT();
}
