/* Configuration over HTTP once the network is up: the OpenStack metadata service (EC2
 * paths when it has no OpenStack tree), a NoCloud seed URL, or a cabin.config= URL. Each
 * is a short chain of GETs; an unanswered one (no connection, a timeout, 5xx, 429) is
 * retried with backoff for as long as the node has an address, up to FETCH_WAIT_MS, so a
 * metadata service that comes up late is still heard and one that never answers ends in a
 * degraded line, not a hang. Any other answer stands at once. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../lib/http.h"
#include "../lib/log.h"
#include "cabind.h"

#define FETCH_WAIT_MS 30000	/* retrying stops this long after the first attempt */
#define TRY_TIMEOUT_MS 10000
#define CONNECT_TIMEOUT_MS 3000
#define BACKOFF_FIRST_MS 250
#define BACKOFF_MAX_MS 4000
#define BODY_MAX (16u << 20)

/* One GET of a chain: its path under the base URL, where to go next on 200 and on 404
 * (F_FAIL: the source is not there), and which file of struct cfg_files it fills. */
enum step { F_OS_META, F_OS_USER, F_OS_NET, F_EC2_ID, F_EC2_HOST, F_EC2_AZ, F_EC2_USER,
	    F_NC_META, F_NC_USER, F_NC_NET, F_URL, F_DONE, F_FAIL };

static const struct {
	const char *path;
	enum step ok, missing;
} steps[] = {
	[F_OS_META] = { "openstack/latest/meta_data.json", F_OS_USER, F_EC2_ID },
	[F_OS_USER] = { "openstack/latest/user_data", F_OS_NET, F_OS_NET },
	[F_OS_NET] = { "openstack/latest/network_data.json", F_DONE, F_DONE },
	[F_EC2_ID] = { "2009-04-04/meta-data/instance-id", F_EC2_HOST, F_FAIL },
	[F_EC2_HOST] = { "2009-04-04/meta-data/local-hostname", F_EC2_AZ, F_EC2_AZ },
	[F_EC2_AZ] = { "2009-04-04/meta-data/placement/availability-zone", F_EC2_USER,
		       F_EC2_USER },
	[F_EC2_USER] = { "2009-04-04/user-data", F_DONE, F_DONE },
	[F_NC_META] = { "meta-data", F_NC_USER, F_FAIL },
	[F_NC_USER] = { "user-data", F_NC_NET, F_NC_NET },
	[F_NC_NET] = { "network-config", F_DONE, F_DONE },
	[F_URL] = { "", F_DONE, F_FAIL },
};

struct fetch {
	struct cabind *c;
	enum step step;
	char *body[F_DONE];
	size_t len[F_DONE];
	uint64_t first_ms;	/* the first attempt */
	unsigned backoff_ms;
	unsigned attempts;
	char last_error[256];
};

/* The node has a usable address: a non-loopback IPv4 one, or a global IPv6 one. */
static int have_address(void)
{
	struct ifaddrs *ifs;
	int found = 0;
	if (getifaddrs(&ifs) < 0)
		return 1;	/* cannot tell: let the request find out */
	for (struct ifaddrs *i = ifs; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			found = 1;
		else if (i->ifa_addr->sa_family == AF_INET6)
			found = !IN6_IS_ADDR_LINKLOCAL(
				&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr);
	}
	freeifaddrs(ifs);
	return found;
}

static const char *source_name(enum remote_kind k)
{
	switch (k) {
	case REMOTE_CABIN_CONFIG: return "cabin.config";
	case REMOTE_NOCLOUD: return "nocloud-net";
	case REMOTE_METADATA: return "metadata-service";
	case REMOTE_NONE: break;
	}
	return "none";
}

static void fetch_free(struct fetch *f)
{
	for (int i = 0; i < F_DONE; i++)
		free(f->body[i]);
	free(f);
}

/* EC2 meta data, made into the meta_data.json the OpenStack parser checks. */
static char *ec2_as_openstack(struct fetch *f, size_t *len)
{
	for (int i = F_EC2_ID; i <= F_EC2_AZ; i++)	/* one value each, maybe with a newline */
		if (f->body[i])
			f->body[i][strcspn(f->body[i], "\r\n")] = '\0';
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	if (f->body[F_EC2_ID])
		cJSON_AddStringToObject(o, "uuid", f->body[F_EC2_ID]);
	if (f->body[F_EC2_HOST])
		cJSON_AddStringToObject(o, "hostname", f->body[F_EC2_HOST]);
	if (f->body[F_EC2_AZ])
		cJSON_AddStringToObject(o, "availability_zone", f->body[F_EC2_AZ]);
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	*len = s ? strlen(s) : 0;
	return s;
}

static void fetch_done(struct fetch *f)
{
	struct cabind *c = f->c;
	struct cfg_files files = { .kind = source_name(c->remote) };
	char *ec2 = NULL;
	if (c->remote == REMOTE_CABIN_CONFIG) {
		files.user = f->body[F_URL];
		files.user_len = f->len[F_URL];
	} else if (c->remote == REMOTE_NOCLOUD) {
		files.meta = f->body[F_NC_META];
		files.meta_len = f->len[F_NC_META];
		files.user = f->body[F_NC_USER];
		files.user_len = f->len[F_NC_USER];
		files.network = f->body[F_NC_NET];
		files.network_len = f->len[F_NC_NET];
	} else if (f->body[F_OS_META]) {
		files.openstack = 1;
		files.meta = f->body[F_OS_META];
		files.meta_len = f->len[F_OS_META];
		files.user = f->body[F_OS_USER];
		files.user_len = f->len[F_OS_USER];
		files.network = f->body[F_OS_NET];
		files.network_len = f->len[F_OS_NET];
	} else {
		files.openstack = 1;
		files.meta = ec2 = ec2_as_openstack(f, &files.meta_len);
		files.user = f->body[F_EC2_USER];
		files.user_len = f->len[F_EC2_USER];
	}
	c->source = files.kind;
	log_info("config: %s %s%s: meta data %zu bytes, user data %zu bytes, network data %zu "
		 "bytes", files.kind, c->remote_url, ec2 ? " (EC2 paths)" : "", files.meta_len,
		 files.user_len, files.network_len);
	config_use(c, &files);
	network_config_late(c);
	free(ec2);
}

static void fetch_fail(struct fetch *f, const char *why)
{
	struct cabind *c = f->c;
	log_warnx("config: %s %s: %s", source_name(c->remote), c->remote_url, why);
	if (!c->degraded[0])
		snprintf(c->degraded, sizeof(c->degraded), "%s %s: %s", source_name(c->remote),
			 c->remote_url, why);
}

static void fetch_next(struct fetch *f);

static void on_retry(struct ev_loop *loop, void *arg)
{
	(void)loop;
	fetch_next(arg);
}

/* No answer, or not one that says yes or no: again after a pause, while time is left
 * and the node still has an address. */
static void retry(struct fetch *f, const char *url, const char *why)
{
	struct cabind *c = f->c;
	snprintf(f->last_error, sizeof(f->last_error), "%s: %s", url, why);
	uint64_t spent = ev_now_ms() - f->first_ms;
	if (spent + f->backoff_ms >= FETCH_WAIT_MS || !have_address()) {
		char msg[320];
		snprintf(msg, sizeof(msg), "no answer after %u attempts in %llu s (last: %s)",
			 f->attempts, (unsigned long long)(spent + 999) / 1000, f->last_error);
		fetch_fail(f, msg);
		fetch_free(f);
		boot_finish(c);
		return;
	}
	log_info("config: %s: %s; again in %u ms", url, why, f->backoff_ms);
	if (ev_timer(c->loop, f->backoff_ms, on_retry, f) < 0) {
		fetch_fail(f, "out of memory");
		fetch_free(f);
		boot_finish(c);
		return;
	}
	f->backoff_ms = f->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : f->backoff_ms * 2;
}

static void url_of(struct fetch *f, char *out, size_t len)
{
	const char *base = f->c->remote_url;
	size_t n = strlen(base);
	const char *sep = f->step == F_URL || (n && base[n - 1] == '/') ? "" : "/";
	snprintf(out, len, "%s%s%s", base, sep, steps[f->step].path);
}

static void on_answer(void *arg, struct http_resp *r)
{
	struct fetch *f = arg;
	char url[512], why[300];
	url_of(f, url, sizeof(url));
	if (r->code == -EMSGSIZE) {
		struct cabind *c = f->c;
		snprintf(why, sizeof(why), "%s: %s", url, r->error);
		fetch_fail(f, why);
		fetch_free(f);
		boot_finish(c);
		return;
	}
	if (r->code < 0)
		snprintf(why, sizeof(why), "%s", r->error);
	else
		snprintf(why, sizeof(why), "HTTP %ld", r->status);
	/* no answer yet, or "not now": again later; any other answer stands */
	if ((r->code < 0 && r->code != -EINVAL && r->code != -ENOMEM) || r->status >= 500 ||
	    r->status == 429 || r->status == 408) {
		retry(f, url, why);
		return;
	}
	if (r->code < 0 || (r->status != 200 && r->status != 404)) {
		struct cabind *c = f->c;
		char msg[600];
		snprintf(msg, sizeof(msg), "%s: %s", url, why);
		fetch_fail(f, f->step == F_URL ? why : msg);
		fetch_free(f);
		boot_finish(c);
		return;
	}
	log_debug("config: %s: HTTP %ld, %zu bytes", url, r->status, r->len);
	enum step next = steps[f->step].missing;
	if (r->status == 200) {
		f->body[f->step] = r->body;
		f->len[f->step] = r->len;
		r->body = NULL;
		next = steps[f->step].ok;
	}
	f->backoff_ms = BACKOFF_FIRST_MS;
	if (next == F_FAIL) {
		if (f->step == F_URL)	/* the URL is in the message already */
			snprintf(why, sizeof(why), "HTTP 404");
		else
			snprintf(why, sizeof(why), "%s: HTTP 404%s", url, f->step == F_EC2_ID ?
				 " (no OpenStack or EC2 meta data)" : "");
		fetch_fail(f, why);
	} else if (next == F_DONE) {
		fetch_done(f);
	} else {
		f->step = next;
		fetch_next(f);
		return;
	}
	struct cabind *c = f->c;
	fetch_free(f);
	boot_finish(c);
}

static void fetch_next(struct fetch *f)
{
	char url[512];
	url_of(f, url, sizeof(url));
	struct http_req req = { .url = url, .timeout_ms = TRY_TIMEOUT_MS,
				.connect_timeout_ms = CONNECT_TIMEOUT_MS, .max_body = BODY_MAX };
	f->attempts++;
	long id = http_start(f->c->http, &req, on_answer, f);
	if (id < 0)
		retry(f, url, strerror((int)-id));
}

void config_fetch_start(struct cabind *c)
{
	if (c->remote == REMOTE_NONE) {
		boot_finish(c);
		return;
	}
	if (!have_address()) {
		fetch_fail(&(struct fetch){ .c = c }, "not tried: no link has an address");
		boot_finish(c);
		return;
	}
	struct fetch *f = calloc(1, sizeof(*f));
	if (!c->http)
		c->http = http_new(c->loop);
	if (!f || !c->http) {
		fetch_fail(&(struct fetch){ .c = c }, "out of memory");
		free(f);
		boot_finish(c);
		return;
	}
	f->c = c;
	f->step = c->remote == REMOTE_CABIN_CONFIG ? F_URL :
		  c->remote == REMOTE_NOCLOUD ? F_NC_META : F_OS_META;
	f->first_ms = ev_now_ms();
	f->backoff_ms = BACKOFF_FIRST_MS;
	log_info("config: asking %s at %s", source_name(c->remote), c->remote_url);
	fetch_next(f);
}
