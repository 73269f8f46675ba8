/* The etcd alarms (Maintenance.Alarm) and the backend quota: NOSPACE, raised when the
 * store would pass --quota-backend-bytes or the log cannot be written, refuses Put, Txn with
 * puts and LeaseGrant as etcd refuses them; reads go on. The alarms survive restarts in
 * DATA_DIR/member/alarms. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/log.h"
#include "svc_wal_int.h"

#define NOSPACE_TEXT "etcdserver: mvcc: database space exceeded"

/* ---- alarms, kept in DATA_DIR/member/alarms ----------------------------------------------
 * One line per alarm: the member ID in hex and the alarm's name ("NOSPACE", "CORRUPT"),
 * written whole to a temporary file, synced and renamed over the old one. */

static const char *alarm_name(uint32_t a)
{
	return a == KVM_ALARM_NOSPACE ? "NOSPACE" : a == KVM_ALARM_CORRUPT ? "CORRUPT" : NULL;
}

static void alarms_save(struct svc_wal *sw)
{
	char tmp[WAL_PATH_MAX + 8];
	FILE *f;
	int rc = 0;

	if (!sw->alarm_path[0])
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", sw->alarm_path);
	f = fopen(tmp, "we");
	if (!f) {
		log_warn("kv: %s", tmp);
		return;
	}
	for (size_t i = 0; i < sw->n_alarms; i++)
		if (alarm_name(sw->alarms[i].alarm))
			fprintf(f, "%016llx %s\n", (unsigned long long)sw->alarms[i].member_id,
				alarm_name(sw->alarms[i].alarm));
	if (fflush(f) != 0 || fdatasync(fileno(f)) < 0)
		rc = -errno;
	if (fclose(f) != 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, sw->alarm_path) < 0)
		rc = -errno;
	if (rc) {
		log_warnx("kv: %s: cannot keep the alarms: %s; they hold until the next restart",
			  sw->alarm_path, strerror(-rc));
		unlink(tmp);
	}
}

/* Reads the alarms back; a line that is not one is an error naming the file and line. */
int svcw_alarms_load(struct svc_wal *sw, char *err, size_t errlen)
{
	FILE *f = fopen(sw->alarm_path, "re");
	char line[128], name[32];
	unsigned long long id;
	int n = 0, rc = 0;

	if (!f) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", sw->alarm_path, strerror(errno));
		return -errno;
	}
	while (!rc && fgets(line, sizeof(line), f)) {
		char extra;
		uint32_t a = KVM_ALARM_NONE;
		n++;
		if (sscanf(line, "%16llx %31s %c", &id, name, &extra) == 2)
			a = strcmp(name, "NOSPACE") == 0   ? KVM_ALARM_NOSPACE
			    : strcmp(name, "CORRUPT") == 0 ? KVM_ALARM_CORRUPT
							   : KVM_ALARM_NONE;
		if (a == KVM_ALARM_NONE || sw->n_alarms == ALARMS_MAX) {
			snprintf(err, errlen, "%s:%d: expected \"MEMBER-ID-HEX NOSPACE|CORRUPT\"",
				 sw->alarm_path, n);
			rc = -EINVAL;
		} else {
			sw->alarms[sw->n_alarms++] = (struct kvm_alarm_member){ id, a };
		}
	}
	fclose(f);
	if (!rc && sw->n_alarms)
		log_warnx("kv: %zu alarm(s) raised before the restart are still raised (%s)",
			  sw->n_alarms, sw->alarm_path);
	return rc;
}

void svcw_raise_nospace(struct svc_wal *sw)
{
	for (size_t i = 0; i < sw->n_alarms; i++)
		if (sw->alarms[i].member_id == sw->svc->member_id &&
		    sw->alarms[i].alarm == KVM_ALARM_NOSPACE)
			return;
	if (sw->n_alarms < ALARMS_MAX) {
		sw->alarms[sw->n_alarms++] = (struct kvm_alarm_member){ sw->svc->member_id,
									 KVM_ALARM_NOSPACE };
		alarms_save(sw);
	}
}

void svc_wal_raise_nospace(struct kv_service *svc)
{
	if (svc->wal)
		svcw_raise_nospace(svc->wal);
}

/* ---- refusing writes, the Alarm call -------------------------------------------------- */

bool svc_nospace(const struct kv_service *svc)
{
	const struct svc_wal *sw = svc->wal;
	for (size_t i = 0; sw && i < sw->n_alarms; i++)
		if (sw->alarms[i].alarm == KVM_ALARM_NOSPACE)
			return true;
	return false;
}

int svc_refuse_put(struct kv_service *svc, struct grpc_call *call, size_t cost)
{
	struct svc_wal *sw = svc->wal;
	struct mvcc_stats st;

	/* with Raft the member a write came in at refused it or not, before proposing it:
	 * its alarms and store size are its own, and every member must apply alike */
	if (svc->applying)
		return 0;
	if (sw && !svc_nospace(svc)) {
		mvcc_stats(svc->store, &st);
		if ((uint64_t)st.bytes + cost < (uint64_t)sw->quota)
			return 0;
		log_warnx("kv: %s: the store (%zu bytes) would pass --quota-backend-bytes "
			  "(%lld): NOSPACE alarm raised", svc->name, st.bytes,
			  (long long)sw->quota);
		svcw_raise_nospace(sw);
	}
	if (!svc_nospace(svc))
		return 0;
	grpc_finish(call, GRPC_RESOURCE_EXHAUSTED, NOSPACE_TEXT);
	return 1;
}

int svc_refuse_txn(struct kv_service *svc, struct grpc_call *call,
		   const struct kvm_txn_request *t)
{
	size_t yes = 0, no = 0;
	bool puts = false;

	for (size_t i = 0; i < t->n_success; i++)
		if (t->success[i].type == KVM_OP_PUT) {
			puts = true;
			yes += SVC_COST_PUT(t->success[i].put.key.len, t->success[i].put.value.len);
		}
	for (size_t i = 0; i < t->n_failure; i++)
		if (t->failure[i].type == KVM_OP_PUT) {
			puts = true;
			no += SVC_COST_PUT(t->failure[i].put.key.len, t->failure[i].put.value.len);
		}
	return puts ? svc_refuse_put(svc, call, yes > no ? yes : no) : 0;
}

size_t svc_alarm(struct kv_service *svc, const struct kvm_alarm_request *req,
		 struct kvm_alarm_member *out, size_t max)
{
	struct svc_wal *sw = svc->wal;
	struct kvm_alarm_member m = { req->member_id, req->alarm };
	size_t n = 0;

	if (!sw)
		return 0;
	switch (req->action) {
	case KVM_ALARM_GET:
		for (size_t i = 0; i < sw->n_alarms && n < max; i++)
			if (req->alarm == KVM_ALARM_NONE || sw->alarms[i].alarm == req->alarm)
				out[n++] = sw->alarms[i];
		return n;
	case KVM_ALARM_ACTIVATE:
		if (req->alarm == KVM_ALARM_NONE || !max)
			return 0;
		for (size_t i = 0; i < sw->n_alarms; i++)
			if (sw->alarms[i].member_id == m.member_id && sw->alarms[i].alarm == m.alarm) {
				out[0] = m;
				return 1;
			}
		if (sw->n_alarms == ALARMS_MAX)
			return 0;
		sw->alarms[sw->n_alarms++] = m;
		alarms_save(sw);
		out[0] = m;
		return 1;
	case KVM_ALARM_DEACTIVATE:
		for (size_t i = 0; i < sw->n_alarms; i++)
			if (sw->alarms[i].member_id == m.member_id && sw->alarms[i].alarm == m.alarm) {
				sw->alarms[i] = sw->alarms[--sw->n_alarms];
				alarms_save(sw);
				if (max)
					out[n++] = m;
				break;
			}
		return n;
	default:
		return 0;
	}
}
