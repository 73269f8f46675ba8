/* The gRPC server's per-method statistics: calls started, calls handled by status, and
 * a latency histogram, written as Prometheus text for GET /metrics. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "grpc_int.h"

/* go-grpc-prometheus' default buckets, in seconds */
static const double buckets[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
#define N_BUCKETS (sizeof(buckets) / sizeof(*buckets))
_Static_assert(N_BUCKETS == GRPC_N_BUCKETS, "one count per bucket");

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void grpc_stats_start(struct grpc_call *call)
{
	if (!call->m || !call->srv || !call->srv->stats)
		return;
	call->srv->stats[call->m - call->srv->methods].started++;
	call->t0_ns = now_ns();
}

void grpc_stats_end(struct grpc_call *call, enum grpc_status st)
{
	if (!call->m || !call->srv || !call->srv->stats || !call->t0_ns)
		return;
	struct method_stats *ms = &call->srv->stats[call->m - call->srv->methods];
	double secs = (double)(now_ns() - call->t0_ns) / 1e9;
	if ((unsigned)st <= GRPC_UNAUTHENTICATED)
		ms->handled[st]++;
	ms->sum += secs;
	for (size_t i = 0; i < N_BUCKETS; i++)
		if (secs <= buckets[i]) {
			ms->bucket[i]++;
			break;
		}
}

static const char *const code_names[] = {
	"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
	"AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
	"Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss",
	"Unauthenticated",
};

void grpc_server_metrics(const struct grpc_server *s, FILE *f)
{
	fprintf(f, "# HELP grpc_server_started_total RPCs started on the server.\n"
		   "# TYPE grpc_server_started_total counter\n");
	for (size_t i = 0; i < s->n_methods; i++) {
		const char *svc = s->methods[i].path + 1, *m = strrchr(svc, '/');
		fprintf(f, "grpc_server_started_total{grpc_service=\"%.*s\",grpc_method=\"%s\"} "
			"%llu\n", (int)(m - svc), svc, m + 1,
			(unsigned long long)s->stats[i].started);
	}
	fprintf(f, "# HELP grpc_server_handled_total RPCs completed on the server.\n"
		   "# TYPE grpc_server_handled_total counter\n");
	for (size_t i = 0; i < s->n_methods; i++) {
		const char *svc = s->methods[i].path + 1, *m = strrchr(svc, '/');
		for (int c = 0; c <= GRPC_UNAUTHENTICATED; c++)
			if (s->stats[i].handled[c])
				fprintf(f, "grpc_server_handled_total{grpc_service=\"%.*s\","
					"grpc_method=\"%s\",grpc_code=\"%s\"} %llu\n",
					(int)(m - svc), svc, m + 1, code_names[c],
					(unsigned long long)s->stats[i].handled[c]);
	}
	fprintf(f, "# HELP grpc_server_handling_seconds Response latency of RPCs.\n"
		   "# TYPE grpc_server_handling_seconds histogram\n");
	for (size_t i = 0; i < s->n_methods; i++) {
		const struct method_stats *ms = &s->stats[i];
		const char *svc = s->methods[i].path + 1, *m = strrchr(svc, '/');
		uint64_t cum = 0, total = 0;
		for (size_t b = 0; b <= GRPC_UNAUTHENTICATED; b++)
			total += ms->handled[b];
		for (size_t b = 0; b < N_BUCKETS; b++) {
			cum += ms->bucket[b];
			fprintf(f, "grpc_server_handling_seconds_bucket{grpc_service=\"%.*s\","
				"grpc_method=\"%s\",le=\"%g\"} %llu\n", (int)(m - svc), svc, m + 1,
				buckets[b], (unsigned long long)cum);
		}
		fprintf(f, "grpc_server_handling_seconds_bucket{grpc_service=\"%.*s\","
			"grpc_method=\"%s\",le=\"+Inf\"} %llu\n"
			"grpc_server_handling_seconds_sum{grpc_service=\"%.*s\",grpc_method=\"%s\"} "
			"%g\ngrpc_server_handling_seconds_count{grpc_service=\"%.*s\","
			"grpc_method=\"%s\"} %llu\n", (int)(m - svc), svc, m + 1,
			(unsigned long long)total, (int)(m - svc), svc, m + 1, ms->sum,
			(int)(m - svc), svc, m + 1, (unsigned long long)total);
	}
}
