/* The appliance's KV options from the cabin: section, fed through the real user-data
 * parser as a node would read them. */
#include <errno.h>
#include <string.h>

#include "../../../init/cabind.h"
#include "../../../init/config.h"
#include "../testutil.h"

static char err[300];

/* Parses yaml as user data into cfg; fails the test if the parser refuses it. */
static void parse(struct node_config *cfg, const char *yaml)
{
	struct cfg_diag d;
	node_config_init(cfg);
	cfg_diag_init(&d);
	TU_EQ_INT(ud_parse(yaml, strlen(yaml), "user_data", cfg, &d), 0);
	cfg_diag_free(&d);
	TU_CHECK(cfg->cabin.present);
}

static const char three[] =
	"#cloud-config\n"
	"cabin:\n"
	"  cluster: lab\n"
	"  members:\n"
	"    - {name: node1, peer_url: 'http://10.99.0.1:2380', client_url: 'http://10.99.0.1:2379'}\n"
	"    - {name: node2, peer_url: 'http://10.99.0.2:2380'}\n"
	"    - {name: node3, peer_url: 'http://10.99.0.3:2480'}\n"
	"  kv: {snapshot_count: 500, quota_backend_bytes: 1048576}\n";

static void test_member(void)
{
	struct node_config cfg;
	struct kv_opts o;
	parse(&cfg, three);
	TU_EQ_INT(kvconf_from_cabin(&cfg.cabin, "node1", "/var/lib/cabin/kv", &o, err,
				    sizeof(err)), 1);
	TU_EQ_STR(o.name, "node1");
	TU_EQ_STR(o.data_dir, "/var/lib/cabin/kv");
	TU_EQ_STR(o.initial_cluster, "node1=http://10.99.0.1:2380,node2=http://10.99.0.2:2380,"
				     "node3=http://10.99.0.3:2480");
	TU_EQ_STR(o.initial_cluster_token, "lab");
	TU_EQ_STR(o.initial_cluster_state, "new");
	TU_EQ_STR(o.advertise_peer, "http://10.99.0.1:2380");
	TU_EQ_STR(o.listen_peer, "http://0.0.0.0:2380");
	TU_EQ_STR(o.listen_client, "http://0.0.0.0:2379");
	TU_EQ_STR(o.advertise_client, "http://10.99.0.1:2379");
	TU_EQ_INT(o.snapshot_count, 500);
	TU_EQ_INT(o.quota_backend_bytes, 1048576);
	/* no client_url: the peer host with the client port */
	TU_EQ_INT(kvconf_from_cabin(&cfg.cabin, "node2", "/d", &o, err, sizeof(err)), 1);
	TU_EQ_STR(o.advertise_client, "http://10.99.0.2:2379");
	/* no kv.peer_port: the port of the member's own peer URL */
	TU_EQ_INT(kvconf_from_cabin(&cfg.cabin, "node3", "/d", &o, err, sizeof(err)), 1);
	TU_EQ_STR(o.listen_peer, "http://0.0.0.0:2480");
	node_config_free(&cfg);
}

static void test_ports_and_tls(void)
{
	struct node_config cfg;
	struct kv_opts o;
	parse(&cfg, "#cloud-config\ncabin:\n"
		    "  members:\n"
		    "    - {name: a, peer_url: 'https://[fd00::1]:7001'}\n"
		    "  kv: {listen: 127.0.0.1, client_port: 4001, peer_port: 7002}\n");
	TU_EQ_INT(kvconf_from_cabin(&cfg.cabin, "a", "/d", &o, err, sizeof(err)), 1);
	TU_EQ_STR(o.listen_peer, "https://0.0.0.0:7002");
	TU_EQ_STR(o.listen_client, "http://127.0.0.1:4001");
	TU_EQ_STR(o.advertise_client, "http://[fd00::1]:4001");
	TU_EQ_STR(o.initial_cluster_token, "etcd-cluster");
	TU_EQ_INT(o.snapshot_count, 100000);
	node_config_free(&cfg);
}

static void test_not_a_member(void)
{
	struct node_config cfg;
	struct kv_opts o;
	parse(&cfg, three);
	TU_EQ_INT(kvconf_from_cabin(&cfg.cabin, "cabin", "/d", &o, err, sizeof(err)), -EINVAL);
	TU_EQ_STR(err, "cabin.members: no member is named after this node's host name cabin");
	node_config_free(&cfg);
}

static void test_single_and_external(void)
{
	struct node_config cfg;
	struct kv_opts o;
	/* no cabin: section at all */
	TU_EQ_INT(kvconf_from_cabin(NULL, "node7", "/d", &o, err, sizeof(err)), 1);
	TU_EQ_STR(o.name, "node7");
	TU_EQ_STR(o.initial_cluster, "node7=http://localhost:2380");
	TU_EQ_STR(o.listen_client, "http://0.0.0.0:2379");
	TU_EQ_STR(o.advertise_client, "http://node7:2379");
	/* a section without members */
	parse(&cfg, "#cloud-config\ncabin:\n  cluster: solo\n  kv: {client_port: 12379}\n");
	TU_EQ_INT(kvconf_from_cabin(&cfg.cabin, "h", "/d", &o, err, sizeof(err)), 1);
	TU_EQ_STR(o.initial_cluster, "h=http://localhost:2380");
	TU_EQ_STR(o.listen_client, "http://0.0.0.0:12379");
	TU_EQ_STR(o.initial_cluster_token, "solo");
	node_config_free(&cfg);
	/* an external etcd: no embedded store */
	parse(&cfg, "#cloud-config\ncabin:\n  kv: {external: ['http://10.0.0.5:2379']}\n");
	TU_EQ_INT(kvconf_from_cabin(&cfg.cabin, "h", "/d", &o, err, sizeof(err)), 0);
	node_config_free(&cfg);
}

int main(void)
{
	TU_RUN(test_member);
	TU_RUN(test_ports_and_tls);
	TU_RUN(test_not_a_member);
	TU_RUN(test_single_and_external);
	return TU_EXIT();
}
