/* The etcd services' Raft member: its peers (the transport, who is where), membership
 * changes proposed and answered, and its start and stop; see svc_raft.c for the rest. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lib/log.h"
#include "svc_raft_int.h"
#include "tport.h"

/* ---- peers ------------------------------------------------------------------------------ */

static void send_msg(void *ctx, const struct raft_msg *m)
{
	struct svc_raft *sr = ctx;

	/* a snapshot travels with the store's state (svc_raft_snap.c) */
	if (m->type == RAFT_MSG_SNAP) {
		svcr_snap_want(sr, m->to);
		return;
	}
	if (!sr->net || peer_net_send(sr->net, m) < 0)
		node_report(sr->node, m->to);
}

static void recv_msg(void *ctx, const struct raft_msg *m)
{
	struct svc_raft *sr = ctx;

	if (m->type == RAFT_MSG_SNAP) {	/* after the state it covers */
		svcr_snap_msg(sr, m);
		return;
	}
	int rc = node_step(sr->node, m);

	if (rc == -EINVAL)
		log_debug("kv: raft: a malformed %s from %016llx dropped", raft_msg_name(m->type),
			  (unsigned long long)m->from);
}

static void peer_down(void *ctx, uint64_t id)
{
	struct svc_raft *sr = ctx;
	node_report(sr->node, id);
	svcr_snap_down(sr, id);
}

/* A member's own connection here ended: if it led, it is most likely gone. */
static void peer_gone(void *ctx, uint64_t id)
{
	struct svc_raft *sr = ctx;
	if (sr->node)
		node_peer_gone(sr->node, id);
}

/* host and port of the first URL of a comma-separated list. */
static int first_url(const char *list, struct kv_url *u)
{
	char why[200];
	struct kv_url urls[KV_URLS_MAX];
	int n = kv_parse_urls(list, urls, KV_URLS_MAX, why, sizeof(why));
	if (n < 1)
		return -EINVAL;
	*u = urls[0];
	return 0;
}

void svc_raft_members_changed(struct kv_service *svc, enum raft_conf_op op, uint64_t id)
{
	struct svc_raft *sr = svc->raft;
	struct svc_member *m = svc_member_find(svc, id);
	struct kv_url u;

	if (sr && op == RAFT_CONF_REMOVE && id == svc->member_id)
		svcr_removed(sr);
	if (!sr || !sr->net || id == svc->member_id)
		return;
	if (op == RAFT_CONF_REMOVE || !m)
		peer_net_remove(sr->net, id);
	else if (first_url(m->peer_urls, &u) == 0)
		peer_net_set(sr->net, id, u.host, u.port);
}

/* This member's client URLs go into the table through Raft (etcd's publish). */
void svcr_publish(struct svc_raft *sr)
{
	struct kv_service *svc = sr->svc;
	struct svc_member *me = svc_member_find(svc, svc->member_id), m;
	uint8_t buf[SVC_MEMBER_MAX];
	size_t n;

	if (sr->published || !me)
		return;
	if (strcmp(me->client_urls, svc->client_urls) == 0 && strcmp(me->name, svc->name) == 0) {
		sr->published = true;
		return;
	}
	if (!node_leader(sr->node))
		return;
	m = *me;
	snprintf(m.name, sizeof(m.name), "%s", svc->name);
	snprintf(m.client_urls, sizeof(m.client_urls), "%s", svc->client_urls);
	if ((n = svc_member_encode(buf, sizeof(buf), RAFT_CONF_UPDATE, &m, 0, 0)))
		node_propose(sr->node, RAFT_ENTRY_CONF, buf, n);	/* again if it is lost */
}

/* ---- membership ------------------------------------------------------------------------- */

void svc_raft_propose_conf(struct kv_service *svc, struct grpc_call *call,
			   enum raft_conf_op op, const struct svc_member *m, enum svc_answer answer)
{
	struct svc_raft *sr = svc->raft;
	uint8_t buf[SVC_MEMBER_MAX];
	struct waiter *w;
	size_t n;
	int rc;

	if (!sr) {
		grpc_finish(call, GRPC_FAILED_PRECONDITION, "etcdserver: this member runs alone");
		return;
	}
	if (!(w = svcr_waiter_new(sr, call, answer))) {
		grpc_finish(call, GRPC_RESOURCE_EXHAUSTED, "etcdserver: out of memory");
		return;
	}
	n = svc_member_encode(buf, sizeof(buf), op, m, svc->member_id, w->seq);
	if ((rc = node_propose(sr->node, RAFT_ENTRY_CONF, buf, n)) < 0) {
		free(w);
		if (rc == -EBUSY)	/* etcd's text for a change while another is pending */
			grpc_finish(call, GRPC_FAILED_PRECONDITION,
				    "etcdserver: unhealthy cluster");
		else
			svcr_fail_propose(call, rc);
		return;
	}
	svcr_waiter_add(sr, w);
}

void svc_raft_conf_applied(struct kv_service *svc, uint64_t origin, uint64_t seq, uint64_t id)
{
	struct svc_raft *sr = svc->raft;
	struct waiter *w;

	if (!sr || origin != svc->member_id || !seq || !(w = svcr_take(sr, seq)))
		return;
	if (w->answer != SVC_ANSWER_MEMBER_ADD && w->answer != SVC_ANSWER_MEMBERS) {
		svcr_waiter_fail(w, GRPC_UNAVAILABLE, "etcdserver: request timed out");
		return;
	}
	grpc_call_defer(w->call, NULL, NULL);
	svc_cluster_answer(svc, w->call, w->answer, id);
	free(w);
}

void svc_raft_conf_refused(struct kv_service *svc, uint64_t origin, uint64_t seq)
{
	struct svc_raft *sr = svc->raft;
	struct waiter *w;

	if (sr && origin == svc->member_id && seq && (w = svcr_take(sr, seq)))
		svcr_waiter_fail(w, GRPC_FAILED_PRECONDITION,
				 "etcdserver: can only promote a learner member which is in sync "
				 "with leader");
}

bool svc_raft_log_counters(const struct kv_service *svc, uint64_t *syncs, uint64_t *bytes)
{
	if (!svc->raft || !svc->raft->node)
		return false;
	node_log_counters(svc->raft->node, syncs, bytes);
	return true;
}

int svc_raft_transfer(struct kv_service *svc, uint64_t id)
{
	return svc->raft ? node_transfer(svc->raft->node, id) : -EINVAL;
}

bool svc_raft_progress(const struct kv_service *svc, uint64_t id, uint64_t *match,
		       uint64_t *commit)
{
	struct raft_status st;

	if (!svc->raft)
		return false;
	node_status(svc->raft->node, &st);
	if (st.role != RAFT_LEADER)
		return false;
	*commit = st.commit;
	for (uint32_t i = 0; i < st.conf.n; i++)
		if (st.conf.id[i] == id) {
			*match = st.pr[i].match;
			return true;
		}
	return false;
}

/* ---- life cycle -------------------------------------------------------------------------- */

static int start_net(struct svc_raft *sr, struct ev_loop *loop, const struct kv_opts *o,
		     char *err, size_t errlen)
{
	struct kv_service *svc = sr->svc;
	struct kv_url urls[KV_URLS_MAX];
	char why[200];
	int n = kv_parse_urls(o->listen_peer, urls, KV_URLS_MAX, why, sizeof(why)), rc;

	if (n < 0) {
		snprintf(err, errlen, "--listen-peer-urls: %s", why);
		return -EINVAL;
	}
	if ((rc = peer_net_new(loop, svc->cluster_id, svc->member_id, recv_msg, peer_down, sr,
			       &sr->net)) < 0) {
		snprintf(err, errlen, "out of memory");
		return rc;
	}
	peer_net_on_gone(sr->net, peer_gone);
	peer_net_on_snap(sr->net, svcr_snap_piece);
	bool tls = false;
	for (int i = 0; i < n; i++)
		tls = tls || urls[i].tls;
	if (tls || o->peer_cert_file[0]) {
		struct tport_tls_opts in = {
			.cert_file = o->peer_cert_file, .key_file = o->peer_key_file,
			.ca_file = o->peer_trusted_ca_file,
			.client_cert_auth = o->peer_client_cert_auth, .flag_prefix = "peer-",
		}, out = in;
		out.client = 1;
		out.client_cert_auth = 0;
		if (!o->peer_cert_file[0] || !o->peer_key_file[0]) {
			snprintf(err, errlen, "--listen-peer-urls: https:// needs --peer-cert-file "
				 "and --peer-key-file");
			return -EINVAL;
		}
		if ((rc = tport_tls_new(&in, &sr->tls_in, err, errlen)) < 0 ||
		    (rc = tport_tls_new(&out, &sr->tls_out, err, errlen)) < 0)
			return rc;
		peer_net_set_tls(sr->net, sr->tls_in, sr->tls_out);
	}
	for (int i = 0; i < n; i++) {
		int port = peer_net_listen(sr->net, urls[i].host, urls[i].port);
		if (port < 0) {
			snprintf(err, errlen, "listen for peers on %s:%d: %s", urls[i].host,
				 urls[i].port, strerror(-port));
			return port;
		}
		log_info("kv: listening for peers on %s://%s:%d", sr->tls_in ? "https" : "http",
			 urls[i].host, port);
	}
	return 0;
}

/* The members to start a new cluster with: one CONF entry each, in id order, the same on
 * every initial member. */
static int bootstrap(const struct kv_opts *o, struct raft_entry *e, uint8_t (*buf)[SVC_MEMBER_MAX],
		     char *err, size_t errlen)
{
	struct svc_member m[RAFT_MAX_MEMBERS];
	int n = svc_initial_cluster(o, m, RAFT_MAX_MEMBERS, err, errlen);

	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && m[j - 1].id > m[j].id; j--) {
			struct svc_member t = m[j];
			m[j] = m[j - 1];
			m[j - 1] = t;
		}
	for (int i = 0; i < n; i++) {
		e[i] = (struct raft_entry){ .type = RAFT_ENTRY_CONF, .data = buf[i] };
		e[i].len = (uint32_t)svc_member_encode(buf[i], sizeof(buf[i]), RAFT_CONF_ADD_VOTER,
						       &m[i], 0, 0);
	}
	return n;
}

int svc_raft_start(struct kv_service *svc, struct ev_loop *loop, const struct kv_opts *o,
		   const char *dir, char *err, size_t errlen)
{
	struct svc_raft *sr = calloc(1, sizeof(*sr));
	static uint8_t buf[RAFT_MAX_MEMBERS][SVC_MEMBER_MAX];
	struct raft_entry boot[RAFT_MAX_MEMBERS];
	struct node_cbs cb = { .apply = svcr_apply, .applied = svcr_applied, .role = svcr_role,
			       .send = send_msg, .read = svcr_read_answered,
			       .install = svcr_snap_install, .ctx = sr };
	int rc, n = 0;
	bool join = strcmp(o->initial_cluster_state, "existing") == 0;

	if (!sr) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	sr->svc = svc;
	sr->loop = loop;
	/* dir is DATA_DIR/member/raft: the snapshots are staged in DATA_DIR/member */
	size_t dl = strlen(dir);
	if (dl > 12 && dl - 12 < sizeof(sr->dir) && strcmp(dir + dl - 12, "/member/raft") == 0)
		snprintf(sr->dir, sizeof(sr->dir), "%.*s", (int)(dl - 12), dir);
	/* an entry or read round of an earlier life of this member may still come back:
	 * the numbers of this one start past any it used (milliseconds since 1970, << 20) */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	sr->seq = sr->read_round = ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000) << 20;
	sr->applied = svc_wal_applied(svc);
	if (!join && (n = bootstrap(o, boot, buf, err, errlen)) < 0) {
		free(sr);
		return n;
	}
	struct node_opts no = {
		.id = svc->member_id, .heartbeat_ms = o->heartbeat_ms,
		.election_ms = o->election_ms, .applied = svc_wal_applied(svc),
		.bootstrap = boot, .n_bootstrap = (size_t)n, .snapshot_count = o->snapshot_count,
		.seed = ev_now_ms(),
	};
	/* a peer port when there are peers, or when asked for one */
	bool peers = n > 1 || join || strcmp(o->listen_peer, "http://localhost:2380") != 0;
	svc->raft = sr;
	if (peers && (rc = start_net(sr, loop, o, err, errlen)) < 0)
		goto fail;
	if (svc->members.n && !svc_member_find(svc, svc->member_id)) {
		snprintf(err, errlen, "member %016llx was removed from the cluster: start it "
			 "with an empty data directory once it is added again",
			 (unsigned long long)svc->member_id);
		rc = -EPERM;
		goto fail;
	}
	if ((rc = node_open(loop, dir, &no, &cb, &sr->node, err, errlen)) < 0)
		goto fail;
	svc_wal_set_lazy(svc);
	for (unsigned i = 0; i < svc->members.n; i++)
		svc_raft_members_changed(svc, RAFT_CONF_ADD_VOTER, svc->members.m[i].id);
	if (sr->net && join && !svc->members.n) {
		/* joining: the members from the flags, until the log says who they are */
		struct svc_member m[RAFT_MAX_MEMBERS];
		struct kv_url u;
		int k = svc_initial_cluster(o, m, RAFT_MAX_MEMBERS, err, errlen);
		for (int i = 0; i < k; i++)
			if (m[i].id != svc->member_id && first_url(m[i].peer_urls, &u) == 0)
				peer_net_set(sr->net, m[i].id, u.host, u.port);
	}
	long id = ev_timer(loop, SWEEP_MS, svcr_sweep, sr);
	sr->sweep_timer = id > 0 ? id : 0;
	return 0;
fail:
	peer_net_free(sr->net);
	tport_tls_free(sr->tls_in);
	tport_tls_free(sr->tls_out);
	svc->raft = NULL;
	free(sr);
	return rc;
}

static void process(struct svc_raft *sr, uint64_t durable);

static void retry(struct ev_loop *loop, void *arg)
{
	struct svc_raft *sr = arg;
	(void)loop;
	sr->retry_timer = 0;
	process(sr, svc_wal_durable(sr->svc));
}

/* A Raft log that cannot be written (a full disk): the writes waiting fail, NOSPACE is
 * raised so that new ones are refused, and the log is tried again every second. */
static void process(struct svc_raft *sr, uint64_t durable)
{
	int rc = node_process(sr->node, durable);

	if (rc < 0) {
		if (!sr->err && rc != -ENOMEM)
			svc_wal_raise_nospace(sr->svc);
		char why[200];
		snprintf(why, sizeof(why), "etcdserver: the write could not be made durable (%s);"
			 " it may still be applied", strerror(-rc));
		sr->err = rc;
		svcr_fail_waiters(sr, GRPC_UNAVAILABLE, why);
		if (!sr->retry_timer) {
			long id = ev_timer(sr->loop, 1000, retry, sr);
			sr->retry_timer = id > 0 ? id : 0;
		}
		return;
	}
	sr->err = 0;
	svcr_snap_after(sr);
}

void svc_raft_process(struct kv_service *svc, uint64_t durable)
{
	if (svc->raft)
		svcr_ask_reads(svc->raft);
	if (svc->raft && !svc->raft->err)
		process(svc->raft, durable);
}

bool svc_raft_busy(const struct kv_service *svc)
{
	return svc->raft && node_busy(svc->raft->node);
}

void svc_raft_status(const struct kv_service *svc, struct raft_status *st)
{
	memset(st, 0, sizeof(*st));
	if (svc->raft)
		node_status(svc->raft->node, st);
}

void svc_raft_stop(struct kv_service *svc)
{
	struct svc_raft *sr = svc->raft;

	if (!sr)
		return;
	svcr_fail_waiters(sr, GRPC_UNAVAILABLE, "etcdserver: server stopped");
	svcr_run_reads(sr, "etcdserver: server stopped");
	if (sr->sweep_timer)
		ev_cancel(sr->loop, sr->sweep_timer);
	if (sr->retry_timer)
		ev_cancel(sr->loop, sr->retry_timer);
	svcr_snap_stop(sr);
	node_close(sr->node);
	sr->node = NULL;
	peer_net_free(sr->net);
	tport_tls_free(sr->tls_in);
	tport_tls_free(sr->tls_out);
	svc->raft = NULL;
	free(sr);
}
