/* libFuzzer driver for user-data parsing: arbitrary bytes go to ud_parse (YAML, JSON,
 * MIME, gzip, write_files decoding, the cabin: schema) twice into one config, so the merge
 * runs too; a failed parse must leave the config as it was, a good one must hold only
 * valid values, and every message must be printable. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../init/config.h"

#define CHECK(x)                 \
	do {                     \
		if (!(x))        \
			abort(); \
	} while (0)

static FILE *null_out;

static int printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static void check_diag(const struct cfg_diag *d, int rc)
{
	char line[512];
	CHECK(d->n <= CFG_DIAG_MAX && d->n + d->dropped <= d->errors + d->warnings + d->ignored);
	if (rc != 0 && rc != -ENOMEM)
		CHECK(d->errors > 0 && (d->dropped || cfg_diag_first_error(d)));
	for (size_t i = 0; i < d->n; i++) {
		CHECK(printable(d->msg[i].source) && printable(d->msg[i].path));
		CHECK(printable(d->msg[i].text));
		CHECK(cfg_msg_format(&d->msg[i], line, sizeof(line)) > 0);
	}
}

static int empty(const struct node_config *c)
{
	return !c->hostname[0] && !c->fqdn[0] && !c->timezone[0] && !c->n_files &&
	       !c->resolv.nameservers.n && !c->ntp.servers.n && !c->cabin.present &&
	       !c->cabin.n_members && !c->cabin.n_labels;
}

static void check_cfg(const struct node_config *c)
{
	size_t total = 0;
	CHECK(strlen(c->hostname) <= CFG_HOSTNAME_MAX && strlen(c->fqdn) <= CFG_FQDN_MAX);
	CHECK(!c->hostname[0] || !strchr(c->hostname, '.'));
	for (size_t i = 0; i < c->n_files; i++) {
		CHECK(c->files[i].path[0] == '/' && c->files[i].mode <= 07777);
		CHECK(c->files[i].content[c->files[i].len] == 0);
		total += c->files[i].len;
	}
	CHECK(total <= 2 * (size_t)CFG_FILES_TOTAL_MAX);	/* two parses */
	CHECK(c->cabin.n_labels <= 2 * CFG_LABELS_MAX);
	for (size_t i = 0; i < c->cabin.n_labels; i++)
		for (size_t j = i + 1; j < c->cabin.n_labels; j++)
			CHECK(strcmp(c->cabin.labels[i].key, c->cabin.labels[j].key) != 0);
	CHECK(c->cabin.kv.client_port >= 0 && c->cabin.kv.client_port <= 65535);
	CHECK(c->cabin.overlay.prefix_len >= -1 && c->cabin.overlay.prefix_len <= 32);
	for (size_t i = 0; i < c->cabin.n_members; i++)
		CHECK(c->cabin.members[i].name[0] && c->cabin.members[i].peer_url[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct node_config cfg;
	struct cfg_diag d;
	if (!null_out)
		null_out = fopen("/dev/null", "w");
	node_config_init(&cfg);
	cfg_diag_init(&d);
	int rc = ud_parse((const char *)data, size, "user_data", &cfg, &d);
	CHECK(rc == 0 || rc == CFG_ESYNTAX || rc == CFG_EINVALID || rc == CFG_ETOOBIG ||
	      rc == -ENOMEM);
	check_diag(&d, rc);
	if (rc != 0) {
		CHECK(empty(&cfg));
	} else {
		size_t files = cfg.n_files;
		cfg_diag_free(&d);
		cfg_diag_init(&d);
		CHECK(ud_parse((const char *)data, size, NULL, &cfg, &d) == 0);
		CHECK(cfg.n_files == 2 * files);
		check_cfg(&cfg);
	}
	node_config_dump(null_out, &cfg);
	cfg_diag_dump(null_out, &d);
	node_config_free(&cfg);
	cfg_diag_free(&d);
	return 0;
}
