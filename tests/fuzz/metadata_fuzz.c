/* libFuzzer driver for instance metadata: the same bytes go to the OpenStack
 * meta_data.json parser and to the NoCloud meta-data parser; each either fails leaving the
 * config untouched or yields valid names, with printable messages. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../init/config.h"

#define CHECK(x)                 \
	do {                     \
		if (!(x))        \
			abort(); \
	} while (0)

static int printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static void one(int (*parse)(const char *, size_t, const char *, struct node_config *,
			     struct cfg_diag *), const uint8_t *data, size_t size)
{
	struct node_config cfg;
	struct cfg_diag d;
	node_config_init(&cfg);
	cfg_diag_init(&d);
	int rc = parse((const char *)data, size, NULL, &cfg, &d);
	CHECK(rc == 0 || rc == CFG_ESYNTAX || rc == CFG_EINVALID || rc == CFG_ETOOBIG ||
	      rc == -ENOMEM);
	if (rc != 0) {
		CHECK(!cfg.hostname[0] && !cfg.instance_id[0] && !cfg.fqdn[0]);
		CHECK(rc == -ENOMEM || d.errors > 0);
	}
	CHECK(!cfg.hostname[0] || (!strchr(cfg.hostname, '.') && printable(cfg.hostname)));
	CHECK(printable(cfg.instance_id) && printable(cfg.instance_name));
	CHECK(printable(cfg.availability_zone) && printable(cfg.fqdn));
	for (size_t i = 0; i < d.n; i++)
		CHECK(printable(d.msg[i].text) && printable(d.msg[i].path));
	node_config_free(&cfg);
	cfg_diag_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(meta_parse_openstack, data, size);
	one(meta_parse_nocloud, data, size);
	return 0;
}
