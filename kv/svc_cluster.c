/* etcdserverpb.Cluster (MemberAdd, MemberRemove, MemberUpdate, MemberList, MemberPromote)
 * and Maintenance/MoveLeader. A change is a Raft CONF entry, answered when applied, one at
 * a time; the checks and error texts are etcd 3.4's. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "svc_int.h"

#define URLS_MAX 8

/* Splits a comma-separated list into pb_bytes (pointing into s). */
static size_t url_list(const char *s, struct pb_bytes *out, size_t max)
{
	size_t n = 0;

	while (*s && n < max) {
		const char *c = strchr(s, ',');
		size_t len = c ? (size_t)(c - s) : strlen(s);
		out[n++] = (struct pb_bytes){ (const uint8_t *)s, len };
		s += len + (c != NULL);
	}
	return n;
}

/* The wire form of the table (urls: room the members point into). */
static size_t wire_members(struct kv_service *svc, struct kvm_member *m,
			   struct pb_bytes (*urls)[2][URLS_MAX], struct svc_member *self)
{
	const struct svc_member *t = svc->members.m;
	size_t n = svc->members.n;

	if (n == 0) {	/* no Raft: this member alone */
		*self = (struct svc_member){ .id = svc->member_id };
		snprintf(self->name, sizeof(self->name), "%s", svc->name);
		snprintf(self->peer_urls, sizeof(self->peer_urls), "%s", svc->peer_urls);
		snprintf(self->client_urls, sizeof(self->client_urls), "%s", svc->client_urls);
		t = self;
		n = 1;
	}
	for (size_t i = 0; i < n; i++)
		m[i] = (struct kvm_member){
			.id = t[i].id,
			.name = { (const uint8_t *)t[i].name, strlen(t[i].name) },
			.peer_urls = urls[i][0],
			.n_peer_urls = url_list(t[i].peer_urls, urls[i][0], URLS_MAX),
			.client_urls = urls[i][1],
			.n_client_urls = url_list(t[i].client_urls, urls[i][1], URLS_MAX),
			.is_learner = t[i].learner,
		};
	return n;
}

static struct pb_bytes urls[RAFT_MAX_MEMBERS][2][URLS_MAX];

void svc_cluster_answer(struct kv_service *svc, struct grpc_call *call, enum svc_answer a,
			uint64_t id)
{
	struct kvm_member m[RAFT_MAX_MEMBERS];
	struct svc_member self;
	size_t n = wire_members(svc, m, urls, &self);
	struct kvm_header h = svc_header(svc, 0);

	if (a == SVC_ANSWER_MEMBER_ADD) {
		const struct kvm_member *added = NULL;
		for (size_t i = 0; i < n; i++)
			if (m[i].id == id)
				added = &m[i];
		struct kvm_member_add_response res = { .header = &h, .member = added,
						       .members = m, .n_members = n };
		svc_reply(call, KVM_MEMBER_ADD_RESPONSE, &res);
		return;
	}
	struct kvm_members_response res = { .header = &h, .members = m, .n_members = n };
	svc_reply(call, KVM_MEMBERS_RESPONSE, &res);
}

void svc_member_list(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	struct kv_service *svc = ctx;
	struct kvm_member_list_request req;
	struct pb_arena a;

	svc_arena_init(&a);
	if (svc_decode(call, KVM_MEMBER_LIST_REQUEST, msg, len, &req, &a) == 0)
		svc_cluster_answer(svc, call, SVC_ANSWER_MEMBERS, 0);
	pb_arena_free(&a);
}

/* The URLs of a request joined with commas, each checked. Returns 0 or finishes the call. */
static int join_urls(struct grpc_call *call, const struct pb_bytes *u, size_t n, char *out,
		     size_t cap)
{
	size_t used = 0;
	struct kv_url parsed;
	char one[300], why[200];

	if (n == 0) {
		grpc_finish(call, GRPC_INVALID_ARGUMENT, "etcdserver: member not found");
		return -1;
	}
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (u[i].len >= sizeof(one) || used + u[i].len + 2 > cap) {
			grpc_finish(call, GRPC_INVALID_ARGUMENT, "etcdserver: peer URL too long");
			return -1;
		}
		snprintf(one, sizeof(one), "%.*s", (int)u[i].len, (const char *)u[i].p);
		if (kv_parse_urls(one, &parsed, 1, why, sizeof(why)) != 1) {
			char msg[400];
			snprintf(msg, sizeof(msg), "etcdserver: %s", why);
			grpc_finish(call, GRPC_INVALID_ARGUMENT, msg);
			return -1;
		}
		used += (size_t)snprintf(out + used, cap - used, "%s%s", i ? "," : "", one);
	}
	return 0;
}

/* A peer URL of urls another member has. */
static bool url_taken(struct kv_service *svc, const char *urls, uint64_t except)
{
	char list[512], *save;

	snprintf(list, sizeof(list), "%s", urls);
	for (char *u = strtok_r(list, ",", &save); u; u = strtok_r(NULL, ",", &save))
		for (unsigned i = 0; i < svc->members.n; i++) {
			const struct svc_member *m = &svc->members.m[i];
			if (m->id == except)
				continue;
			const char *p = strstr(m->peer_urls, u);
			size_t n = strlen(u);
			if (p && (p == m->peer_urls || p[-1] == ',') && (p[n] == ',' || !p[n]))
				return true;
		}
	return false;
}

void svc_member_add(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	struct kv_service *svc = ctx;
	struct kvm_member_add_request req;
	struct svc_member m = {0};
	struct pb_arena a;

	svc_arena_init(&a);
	if (svc_decode(call, KVM_MEMBER_ADD_REQUEST, msg, len, &req, &a) == 0 &&
	    join_urls(call, req.peer_urls, req.n_peer_urls, m.peer_urls, sizeof(m.peer_urls)) == 0) {
		m.id = svc_member_id(svc->token, m.peer_urls);
		m.learner = req.is_learner;
		if (url_taken(svc, m.peer_urls, 0))
			grpc_finish(call, GRPC_FAILED_PRECONDITION,
				    "etcdserver: Peer URLs already exists");
		else if (svc_member_find(svc, m.id))
			grpc_finish(call, GRPC_FAILED_PRECONDITION,
				    "etcdserver: member ID already exist");
		else
			svc_raft_propose_conf(svc, call, req.is_learner ? RAFT_CONF_ADD_LEARNER
									 : RAFT_CONF_ADD_VOTER,
					      &m, SVC_ANSWER_MEMBER_ADD);
	}
	pb_arena_free(&a);
}

static const struct svc_member *known(struct kv_service *svc, struct grpc_call *call,
				      uint64_t id)
{
	const struct svc_member *m = svc_member_find(svc, id);
	if (!m)
		grpc_finish(call, GRPC_NOT_FOUND, "etcdserver: member not found");
	return m;
}

void svc_member_remove(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	struct kv_service *svc = ctx;
	struct kvm_member_id_request req;
	const struct svc_member *m;
	struct pb_arena a;

	svc_arena_init(&a);
	if (svc_decode(call, KVM_MEMBER_ID_REQUEST, msg, len, &req, &a) == 0 &&
	    (m = known(svc, call, req.id))) {
		struct svc_member r = { .id = m->id };
		svc_raft_propose_conf(svc, call, RAFT_CONF_REMOVE, &r, SVC_ANSWER_MEMBERS);
	}
	pb_arena_free(&a);
}

void svc_member_update(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	struct kv_service *svc = ctx;
	struct kvm_member_update_request req;
	const struct svc_member *m;
	struct pb_arena a;

	svc_arena_init(&a);
	if (svc_decode(call, KVM_MEMBER_UPDATE_REQUEST, msg, len, &req, &a) == 0 &&
	    (m = known(svc, call, req.id))) {
		struct svc_member u = *m;
		if (join_urls(call, req.peer_urls, req.n_peer_urls, u.peer_urls,
			      sizeof(u.peer_urls)) == 0) {
			if (url_taken(svc, u.peer_urls, u.id))
				grpc_finish(call, GRPC_FAILED_PRECONDITION,
					    "etcdserver: Peer URLs already exists");
			else
				svc_raft_propose_conf(svc, call, RAFT_CONF_UPDATE, &u,
						      SVC_ANSWER_MEMBERS);
		}
	}
	pb_arena_free(&a);
}

void svc_member_promote(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	struct kv_service *svc = ctx;
	struct kvm_member_id_request req;
	const struct svc_member *m;
	struct pb_arena a;

	svc_arena_init(&a);
	if (svc_decode(call, KVM_MEMBER_ID_REQUEST, msg, len, &req, &a) == 0 &&
	    (m = known(svc, call, req.id))) {
		if (!m->learner) {
			grpc_finish(call, GRPC_FAILED_PRECONDITION,
				    "etcdserver: can only promote a learner member");
		} else {	/* the leader refuses one not in sync (raft_leader_propose) */
			struct svc_member p = *m;
			svc_raft_propose_conf(svc, call, RAFT_CONF_ADD_VOTER, &p,
					      SVC_ANSWER_MEMBERS);
		}
	}
	pb_arena_free(&a);
}

void svc_move_leader(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	struct kv_service *svc = ctx;
	struct kvm_move_leader_request req;
	struct pb_arena a;

	svc_arena_init(&a);
	if (svc_decode(call, KVM_MOVE_LEADER_REQUEST, msg, len, &req, &a) == 0) {
		const struct svc_member *m = svc_member_find(svc, req.target_id);
		uint64_t match, commit;
		if (!svc->raft && req.target_id == svc->member_id) {
			struct kvm_header_response res = { .header = NULL };
			svc_reply(call, KVM_HEADER_RESPONSE, &res);
		} else if (!m || m->learner) {
			grpc_finish(call, GRPC_FAILED_PRECONDITION,
				    "etcdserver: bad leader transferee");
		} else if (!svc_raft_progress(svc, svc->member_id, &match, &commit)) {
			grpc_finish(call, GRPC_FAILED_PRECONDITION, "etcdserver: not leader");
		} else if (svc_raft_transfer(svc, req.target_id) < 0) {
			grpc_finish(call, GRPC_FAILED_PRECONDITION,
				    "etcdserver: bad leader transferee");
		} else {
			struct kvm_header h = svc_header(svc, 0);
			struct kvm_header_response res = { .header = &h };
			svc_reply(call, KVM_HEADER_RESPONSE, &res);
		}
	}
	pb_arena_free(&a);
}
