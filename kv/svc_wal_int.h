/* Internals of the etcd services' persistence, shared by kv/svc_wal.c (the log, group
 * commit, snapshots) and kv/svc_alarm.c (the alarms, the quota). Not an API. */
#ifndef CABIN_KV_SVC_WAL_INT_H
#define CABIN_KV_SVC_WAL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "svc_int.h"
#include "wal.h"

#define WAL_PATH_MAX 512
#define ALARMS_MAX 8

struct svc_held {
	struct svc_held *prev, *next;
	struct grpc_call *call;
	size_t len;
	uint8_t msg[];
};

struct svc_wal {
	struct kv_service *svc;
	struct wal *w;
	struct wal_leases leases;	/* as the log knows them: what a snapshot keeps */
	bool leases_stale;		/* a lease change could not be noted: rebuild first */
	struct ev_loop *loop;		/* NULL until kv_service_attach_wal: sync at once */
	struct svc_held held;		/* list sentinel, oldest first */
	int64_t logged;			/* the store revision the log has records up to */
	int64_t logged_compacted;
	uint64_t applied;		/* the Raft index applied to the store */
	uint64_t logged_applied;	/* in an APPLIED record, pending or written */
	uint64_t durable_applied;	/* ... and synced */
	bool lazy;			/* svc_wal_set_lazy: the Raft log is the durable one */
	uint64_t written_applied;	/* lazy: written, not yet synced */
	long disk_timer;		/* lazy: the periodic fdatasync */
	int64_t tried_rev;		/* the store revision and pending bytes the last write */
	size_t tried_len;		/* covered: anything beyond must wait for the next */
	bool need_snap;			/* the log lost track of the store: snapshot it */
	int err;			/* the last write's error, 0 once one works again */
	long retry_timer;
	uint64_t snapshot_count, since_snap, snap_after_ms;
	uint64_t bytes_at_snap;		/* log bytes written when the last snapshot was taken */
	int64_t snap_rev;		/* the revision of the one under way */
	long snap_timer;		/* a loop turn for its next piece */
	struct kvm_alarm_member alarms[ALARMS_MAX];
	size_t n_alarms;
	int64_t quota;			/* --quota-backend-bytes */
	char alarm_path[WAL_PATH_MAX];	/* DATA_DIR/member/alarms: they survive restarts */
};

/* Raises NOSPACE for this member (once) and keeps it in DATA_DIR/member/alarms. */
void svcw_raise_nospace(struct svc_wal *sw);
/* Reads the alarms raised before a restart from sw->alarm_path. */
int svcw_alarms_load(struct svc_wal *sw, char *err, size_t errlen);

#endif
