/* Instance metadata: OpenStack meta_data.json and NoCloud meta-data, as golden files
 * (testdata/openstack, testdata/nocloud), plus the size limit and the order of sources. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../../init/config.h"
#include "../testutil.h"
#include "cfgtest.h"

static void test_golden_openstack(void)
{
	int cases;
	TU_EQ_INT(cfgtest_golden("tests/unit/init/testdata/openstack", "meta_data.json",
				 meta_parse_openstack, &cases), 0);
	TU_CHECK(cases >= 10);
}

static void test_golden_nocloud(void)
{
	int cases;
	TU_EQ_INT(cfgtest_golden("tests/unit/init/testdata/nocloud", "meta-data",
				 meta_parse_nocloud, &cases), 0);
	TU_CHECK(cases >= 10);
}

static void test_too_big(void)
{
	struct node_config cfg;
	struct cfg_diag d;
	size_t n = CFG_META_MAX + 1;
	char *big = malloc(n);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	node_config_init(&cfg);
	cfg_diag_init(&d);
	TU_EQ_INT(meta_parse_openstack(big, n, NULL, &cfg, &d), CFG_ETOOBIG);
	TU_EQ_INT(meta_parse_nocloud(big, n, NULL, &cfg, &d), CFG_ETOOBIG);
	TU_EQ_INT(d.errors, 2);
	TU_EQ_INT(meta_parse_openstack(big, n - 1 - 1, NULL, &cfg, &d), CFG_ESYNTAX);
	big[n - 2] = '}';
	TU_EQ_INT(meta_parse_openstack(big, n - 1, NULL, &cfg, &d), 0);
	node_config_free(&cfg);
	cfg_diag_free(&d);
	free(big);
}

/* Metadata first, user data last: the user's host name wins, the instance id stays. */
static void test_source_order(void)
{
	static const char meta[] = "{\"uuid\": \"u-9\", \"hostname\": \"meta.novalocal\", "
				   "\"availability_zone\": \"nova\"}";
	static const char nocloud[] = "instance-id: iid-9\nlocal-hostname: seed\n";
	static const char user[] = "#cloud-config\nhostname: from-user\n";
	struct node_config cfg;
	struct cfg_diag d;
	node_config_init(&cfg);
	cfg_diag_init(&d);
	TU_EQ_INT(meta_parse_openstack(meta, sizeof(meta) - 1, NULL, &cfg, &d), 0);
	TU_EQ_STR(cfg.hostname, "meta");
	TU_EQ_INT(meta_parse_nocloud(nocloud, sizeof(nocloud) - 1, NULL, &cfg, &d), 0);
	TU_EQ_STR(cfg.instance_id, "iid-9");
	TU_EQ_STR(cfg.hostname, "seed");
	TU_EQ_STR(cfg.fqdn, "meta.novalocal");	/* nothing replaced it */
	TU_EQ_INT(ud_parse(user, sizeof(user) - 1, NULL, &cfg, &d), 0);
	TU_EQ_STR(cfg.hostname, "from-user");
	TU_EQ_STR(cfg.availability_zone, "nova");
	TU_EQ_INT(d.n, 0);
	node_config_free(&cfg);
	cfg_diag_free(&d);
}

/* admin_pass never reaches a message or the dump. */
static void test_no_secrets(void)
{
	static const char meta[] = "{\"uuid\": [5], \"admin_pass\": \"hunter2\"}";
	struct node_config cfg;
	struct cfg_diag d;
	node_config_init(&cfg);
	cfg_diag_init(&d);
	TU_EQ_INT(meta_parse_openstack(meta, sizeof(meta) - 1, NULL, &cfg, &d), CFG_EINVALID);
	for (size_t i = 0; i < d.n; i++)
		TU_CHECK(strstr(d.msg[i].text, "hunter2") == NULL);
	node_config_free(&cfg);
	cfg_diag_free(&d);
}

int main(void)
{
	TU_RUN(test_golden_openstack);
	TU_RUN(test_golden_nocloud);
	TU_RUN(test_too_big);
	TU_RUN(test_source_order);
	TU_RUN(test_no_secrets);
	return TU_EXIT();
}
