/* etcd's flags: defaults, every kind of value, and the errors for bad ones. */
#include <errno.h>

#include "../../../kv/kv.h"
#include "../testutil.h"

static void test_defaults_and_set(void)
{
	struct kv_opts o;
	char err[256];
	kv_opts_defaults(&o);
	TU_EQ_STR(o.name, "default");
	TU_EQ_STR(o.listen_client, "http://localhost:2379");
	TU_EQ_STR(o.initial_cluster_token, "etcd-cluster");
	TU_EQ_INT(o.heartbeat_ms, 100);
	TU_EQ_INT(o.election_ms, 1000);
	TU_EQ_INT(o.snapshot_count, 100000);
	TU_EQ_INT(kv_opts_set(&o, "name", "n1", err, sizeof(err)), 0);
	TU_EQ_STR(o.name, "n1");
	TU_EQ_INT(kv_opts_set(&o, "listen-client-urls", "http://127.0.0.1:12379,http://[::1]:2379",
			      err, sizeof(err)), 0);
	TU_EQ_INT(kv_opts_set(&o, "quota-backend-bytes", "8589934592", err, sizeof(err)), 0);
	TU_EQ_INT(o.quota_backend_bytes, 8589934592LL);
	TU_EQ_INT(kv_opts_set(&o, "client-cert-auth", NULL, err, sizeof(err)), 0);
	TU_EQ_INT(o.client_cert_auth, 1);
	TU_EQ_INT(kv_opts_set(&o, "client-cert-auth", "false", err, sizeof(err)), 0);
	TU_EQ_INT(o.client_cert_auth, 0);
	TU_EQ_INT(kv_opts_set(&o, "heartbeat-interval", "250", err, sizeof(err)), 0);
	TU_EQ_INT(o.heartbeat_ms, 250);
	TU_EQ_INT(kv_opts_set(&o, "log-level", "debug", err, sizeof(err)), 1);	/* not ours */
}

static void test_bad_values(void)
{
	struct kv_opts o;
	char err[256];
	kv_opts_defaults(&o);
	TU_EQ_INT(kv_opts_set(&o, "heartbeat-interval", "-5", err, sizeof(err)), -EINVAL);
	TU_EQ_STR(err, "--heartbeat-interval=-5: expected a number from 1 to 60000");
	TU_EQ_INT(kv_opts_set(&o, "snapshot-count", "10x", err, sizeof(err)), -EINVAL);
	TU_EQ_INT(kv_opts_set(&o, "initial-cluster-state", "old", err, sizeof(err)), -EINVAL);
	TU_EQ_STR(err, "--initial-cluster-state=old: expected new or existing");
	TU_EQ_INT(kv_opts_set(&o, "listen-client-urls", "127.0.0.1:2379", err, sizeof(err)),
		  -EINVAL);
	TU_EQ_STR(err, "--listen-client-urls: \"127.0.0.1:2379\": expected http://HOST:PORT or "
		       "https://HOST:PORT");
	TU_EQ_INT(kv_opts_set(&o, "client-cert-auth", "maybe", err, sizeof(err)), -EINVAL);
	TU_EQ_INT(kv_opts_set(&o, "name", NULL, err, sizeof(err)), -EINVAL);
	TU_EQ_STR(err, "--name: a value is required");
	TU_EQ_STR(o.listen_client, "http://localhost:2379");	/* unchanged by a bad value */
}

static void test_urls(void)
{
	struct kv_url u[3];
	char err[256];
	TU_EQ_INT(kv_parse_urls("http://localhost:2379", u, 3, err, sizeof(err)), 1);
	TU_EQ_STR(u[0].host, "localhost");
	TU_EQ_INT(u[0].port, 2379);
	TU_EQ_INT(u[0].tls, 0);
	TU_EQ_INT(kv_parse_urls("https://[fd00::1]:443/,http://10.0.0.1:1", u, 3, err, sizeof(err)), 2);
	TU_EQ_STR(u[0].host, "fd00::1");
	TU_EQ_INT(u[0].tls, 1);
	TU_EQ_INT(u[1].port, 1);
	const char *bad[] = { "", "http://", "http://h", "http://h:", "http://h:65536",
			      "http://h:12x", "ftp://h:1", "http://[::1]2379", "http://[]:1",
			      "http://a/b:1", "http://h:1,", NULL };
	for (int i = 0; bad[i]; i++)
		TU_EQ_INT(kv_parse_urls(bad[i], u, 3, err, sizeof(err)), -EINVAL);
	TU_EQ_INT(kv_parse_urls("http://a:1,http://b:2,http://c:3,http://d:4", u, 3, err,
				sizeof(err)), -EINVAL);
	TU_EQ_STR(err, "more than 3 URLs");
}

int main(void)
{
	TU_RUN(test_defaults_and_set);
	TU_RUN(test_bad_values);
	TU_RUN(test_urls);
	return TU_EXIT();
}
