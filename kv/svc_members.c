/* The cluster's members as the etcd Cluster API shows them: each one's id, name, peer and
 * client URLs, learner or voter. The table changes by Raft CONF entries (their data: the
 * core's head, then u16 length and the name, u16 length and the peer URLs, u16 length and
 * the client URLs, comma-separated, then u64 the member that proposed it and u64 its
 * sequence number for the client waiting, 0 for none) and is kept in DATA_DIR/member/members,
 * one line per member ("-" for an empty name or URL list), rewritten whole (temporary file, fsync, rename) on every change. Ids come from
 * the peer URLs and the cluster token, so every member computes the same from
 * --initial-cluster, and MemberAdd the one the new member computes for itself. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/log.h"
#include "le.h"
#include "svc_int.h"

static uint64_t fnv(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return (h ^ 0xff) * 0x100000001b3ull;
}

uint64_t svc_member_id(const char *token, const char *peer_urls)
{
	uint64_t h = fnv(fnv(0xcbf29ce484222325ull, token), peer_urls);
	return h ? h : 1;
}

/* The token alone: a member joining later computes the same from its flags. */
uint64_t svc_cluster_id(const char *token)
{
	uint64_t h = fnv(0xcbf29ce484222325ull, token);
	return h ? h : 1;
}

int svc_initial_cluster(const struct kv_opts *o, struct svc_member *out, size_t max,
			char *err, size_t errlen)
{
	char list[sizeof(o->initial_cluster)], *save, *item;
	size_t n = 0;

	if (o->initial_cluster[0])
		snprintf(list, sizeof(list), "%s", o->initial_cluster);
	else
		snprintf(list, sizeof(list), "%s=%s", o->name, o->advertise_peer);
	for (item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		size_t i;
		if (!eq || eq == item || !eq[1]) {
			snprintf(err, errlen, "--initial-cluster: \"%s\" is not NAME=PEER-URL", item);
			return -EINVAL;
		}
		*eq = '\0';
		for (i = 0; i < n && strcmp(out[i].name, item) != 0; i++)
			;
		if (i == n) {
			if (n == max || strlen(item) >= sizeof(out[n].name)) {
				snprintf(err, errlen, "--initial-cluster: too many members, or the "
					 "name %s is too long", item);
				return -EINVAL;
			}
			memset(&out[n], 0, sizeof(out[n]));
			snprintf(out[n].name, sizeof(out[n].name), "%s", item);
			n++;
		}
		size_t used = strlen(out[i].peer_urls);
		if (used + strlen(eq + 1) + 2 > sizeof(out[i].peer_urls)) {
			snprintf(err, errlen, "--initial-cluster: %s has too many peer URLs", item);
			return -EINVAL;
		}
		snprintf(out[i].peer_urls + used, sizeof(out[i].peer_urls) - used, "%s%s",
			 used ? "," : "", eq + 1);
	}
	for (size_t i = 0; i < n; i++)
		out[i].id = svc_member_id(o->initial_cluster_token, out[i].peer_urls);
	return (int)n;
}

/* ---- CONF entry data --------------------------------------------------------------------- */

static size_t put_str(uint8_t *p, const char *s)
{
	size_t n = strlen(s);
	p[0] = (uint8_t)n;
	p[1] = (uint8_t)(n >> 8);
	memcpy(p + 2, s, n);
	return 2 + n;
}

size_t svc_member_encode(uint8_t *buf, size_t cap, enum raft_conf_op op,
			 const struct svc_member *m, uint64_t origin, uint64_t seq)
{
	size_t need = RAFT_CONF_HEAD + 6 + strlen(m->name) + strlen(m->peer_urls) +
		      strlen(m->client_urls) + 16;
	if (need > cap)
		return 0;
	raft_conf_head(buf, op, m->id);
	size_t n = RAFT_CONF_HEAD;
	n += put_str(buf + n, m->name);
	n += put_str(buf + n, m->peer_urls);
	n += put_str(buf + n, m->client_urls);
	le_put64(buf + n, origin);
	le_put64(buf + n + 8, seq);
	return n + 16;
}

static int get_str(const uint8_t **p, const uint8_t *end, char *out, size_t cap)
{
	if (end - *p < 2)
		return -EINVAL;
	size_t n = (size_t)(*p)[0] | (size_t)(*p)[1] << 8;
	if ((size_t)(end - *p - 2) < n || n >= cap)
		return -EINVAL;
	memcpy(out, *p + 2, n);
	out[n] = '\0';
	*p += 2 + n;
	return 0;
}

int svc_member_decode(const uint8_t *data, size_t len, enum raft_conf_op *op,
		      struct svc_member *m, uint64_t *origin, uint64_t *seq)
{
	const uint8_t *p = data + RAFT_CONF_HEAD, *end = data + len;

	memset(m, 0, sizeof(*m));
	*origin = *seq = 0;
	if (raft_conf_parse(data, len, op, &m->id) < 0)
		return -EINVAL;
	if (len == RAFT_CONF_HEAD)
		return 0;	/* a removal needs no more */
	if (get_str(&p, end, m->name, sizeof(m->name)) ||
	    get_str(&p, end, m->peer_urls, sizeof(m->peer_urls)) ||
	    get_str(&p, end, m->client_urls, sizeof(m->client_urls)) || end - p != 16)
		return -EINVAL;
	*origin = le_get64(p);
	*seq = le_get64(p + 8);
	return 0;
}

/* ---- the table and its file -------------------------------------------------------------- */

static void save(struct kv_service *svc)
{
	struct svc_members *t = &svc->members;
	char tmp[sizeof(t->path) + 8];
	FILE *f;
	int rc = 0;

	if (!t->path[0])
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", t->path);
	if (!(f = fopen(tmp, "we"))) {
		log_warn("kv: %s", tmp);
		return;
	}
	fprintf(f, "index %" PRIu64 "\n", t->index);
	for (unsigned i = 0; i < t->n; i++)
		fprintf(f, "%016" PRIx64 " %d %s %s %s\n", t->m[i].id, t->m[i].learner,
			t->m[i].name[0] ? t->m[i].name : "-", t->m[i].peer_urls[0] ? t->m[i].peer_urls : "-",
			t->m[i].client_urls[0] ? t->m[i].client_urls : "-");
	if (fflush(f) != 0 || fdatasync(fileno(f)) < 0)
		rc = -errno;
	if (fclose(f) != 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, t->path) < 0)
		rc = -errno;
	if (rc) {
		log_warnx("kv: %s: cannot keep the member list: %s", t->path, strerror(-rc));
		unlink(tmp);
	}
}

int svc_members_load(struct kv_service *svc, const char *dir, char *err, size_t errlen)
{
	struct svc_members *t = &svc->members;
	char line[2048];
	FILE *f;
	int n = 0;

	if (snprintf(t->path, sizeof(t->path), "%s/member/members", dir) >= (int)sizeof(t->path)) {
		snprintf(err, errlen, "%s: the path is too long", dir);
		return -ENAMETOOLONG;
	}
	if (!(f = fopen(t->path, "re")))
		return errno == ENOENT ? 0 : -errno;
	t->n = 0;
	while (fgets(line, sizeof(line), f)) {
		struct svc_member m = {0};
		int learner;
		char peer[sizeof(m.peer_urls)], client[sizeof(m.client_urls)], extra;
		n++;
		if (n == 1 && sscanf(line, "index %" SCNu64 " %c", &t->index, &extra) == 1)
			continue;
		if (t->n == RAFT_MAX_MEMBERS ||
		    sscanf(line, "%16" SCNx64 " %d %63s %511s %511s %c", &m.id, &learner, m.name,
			   peer, client, &extra) != 5) {
			snprintf(err, errlen, "%s:%d: not a member line", t->path, n);
			fclose(f);
			return -EINVAL;
		}
		m.learner = learner != 0;
		if (strcmp(m.name, "-") == 0)	/* added, not yet started: no name */
			m.name[0] = 0;
		snprintf(m.peer_urls, sizeof(m.peer_urls), "%s", strcmp(peer, "-") ? peer : "");
		snprintf(m.client_urls, sizeof(m.client_urls), "%s", strcmp(client, "-") ? client : "");
		t->m[t->n++] = m;
	}
	fclose(f);
	return 0;
}

struct svc_member *svc_member_find(struct kv_service *svc, uint64_t id)
{
	for (unsigned i = 0; i < svc->members.n; i++)
		if (svc->members.m[i].id == id)
			return &svc->members.m[i];
	return NULL;
}

void svc_members_apply(struct kv_service *svc, const struct raft_entry *e)
{
	struct svc_members *t = &svc->members;
	enum raft_conf_op op;
	struct svc_member m, *old;
	uint64_t origin, seq;

	if (svc_member_decode(e->data, e->len, &op, &m, &origin, &seq) < 0) {
		log_warnx("kv: raft: entry %" PRIu64 ": a membership change this cabind cannot "
			  "read", e->index);
		return;
	}
	if (op == RAFT_CONF_REFUSED) {
		svc_raft_conf_refused(svc, origin, seq);
		return;
	}
	if (e->index <= t->index) {	/* the file has it */
		svc_raft_conf_applied(svc, origin, seq, m.id);
		return;
	}
	old = svc_member_find(svc, m.id);
	switch (op) {
	case RAFT_CONF_ADD_VOTER:
	case RAFT_CONF_ADD_LEARNER:
	case RAFT_CONF_UPDATE:
		if (!old && op == RAFT_CONF_UPDATE)
			break;
		if (!old && t->n < RAFT_MAX_MEMBERS)
			old = &t->m[t->n++];
		if (!old)
			break;
		if (op == RAFT_CONF_ADD_VOTER)
			m.learner = false;
		else if (op == RAFT_CONF_ADD_LEARNER)
			m.learner = true;
		else
			m.learner = old->learner;
		/* an entry without URLs (a promotion) keeps what the member had */
		if (!m.name[0])
			snprintf(m.name, sizeof(m.name), "%s", old->name);
		if (!m.peer_urls[0])
			snprintf(m.peer_urls, sizeof(m.peer_urls), "%s", old->peer_urls);
		if (!m.client_urls[0])
			snprintf(m.client_urls, sizeof(m.client_urls), "%s", old->client_urls);
		*old = m;
		break;
	case RAFT_CONF_REMOVE:
		if (old)
			*old = t->m[--t->n];
		break;
	case RAFT_CONF_REFUSED:
		break;	/* answered above */
	}
	t->index = e->index;
	save(svc);
	svc_raft_members_changed(svc, op, m.id);
	svc_raft_conf_applied(svc, origin, seq, m.id);
}
