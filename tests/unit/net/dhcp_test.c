/* Transcript tests of the DHCP client state machine, in the manner of etcd-io/raft's
 * testdata: each tests/unit/net/testdata/NAME.txt holds commands, each followed by "----" and
 * the actions the client must print. CABIN_UPDATE_GOLDEN=1 rewrites the expected output.
 *
 * Commands (the clock starts at 0 in every file):
 *   init [seed=N] [mac=M] [hostname=H] [clientid=HEX] [maxsize=N] [broadcast]
 *   start [prev=IP]            tick MS (advance, then dhcp_tick)     wake (to the wake time)
 *   advance MS (clock only)    link up|down     stop     verbose on|off
 *   recv offer|ack|nak [xid=HEX] [chaddr=M] [op=N] [yiaddr=IP] [server=IP|none]
 *        [lease=S|inf|none] [t1=S] [t2=S] [mask=IP|none] [router=IP,..] [dns=IP,..]
 *        [routes=DST/LEN>GW,..] [domain=D] [search=D,..] [hostname=H] [mtu=N]
 *        [message=TEXT] [trunc=N]
 * A reply's xid and chaddr default to those of the client's last sent packet. */
#include <stdbool.h>

#include "../../../net/dhcp.h"
#include "../testutil.h"
#include "../transcript.h"

struct harness {
	struct dhcp_client c;
	struct dhcp_config cfg;
	char hostname[64];
	uint8_t client_id[64];
	uint64_t now, wake;
	uint32_t last_xid;
	bool verbose;
	struct dhcp_msg reply, sent;
	struct dhcp_actions acts;
};

static const char *ip(uint32_t a, char buf[16])
{
	snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
	return buf;
}

static int parse_ip(const char *s, uint32_t *a)
{
	unsigned b[4];
	char end;
	if (sscanf(s, "%u.%u.%u.%u%c", &b[0], &b[1], &b[2], &b[3], &end) != 4 || b[0] > 255 ||
	    b[1] > 255 || b[2] > 255 || b[3] > 255)
		return -1;
	*a = b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
	return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned b[6];
	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

static void print_time(struct tr_out *o, const char *what, uint64_t t, uint64_t now)
{
	if (t == DHCP_NEVER)
		tr_printf(o, " %s=never", what);
	else if (t >= now)
		tr_printf(o, " %s=%llu (+%llu)", what, (unsigned long long)t,
		     (unsigned long long)(t - now));
	else
		tr_printf(o, " %s=%llu (-%llu)", what, (unsigned long long)t,
		     (unsigned long long)(now - t));
}

static void print_hex(struct tr_out *o, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		tr_printf(o, "%02x", b[i]);
}

static void print_send(struct harness *h, struct tr_out *o, const struct dhcp_packet *p)
{
	char a[16], b[16], c[16];
	const char *err = "?";
	struct dhcp_msg *m = &h->sent;

	if (dhcp_decode(p->data, p->len, m, &err) < 0 || m->op != DHCP_BOOTREQUEST ||
	    m->type != p->type) {
		tr_printf(o, "send: UNDECODABLE (%s)\n", err);
		tu_failures++;
		return;
	}
	h->last_xid = m->xid;
	tr_printf(o, "send %s xid=0x%08x secs=%u ciaddr=%s to=%s from=%s", dhcp_type_name(m->type),
	     m->xid, m->secs, ip(m->ciaddr, a), ip(p->dst, b), ip(p->src, c));
	if (m->flags & DHCP_FLAG_BROADCAST)
		tr_printf(o, " flags=broadcast");
	if (dhcp_has(m, DHCP_OPT_REQUESTED_IP))
		tr_printf(o, " reqip=%s", ip(m->requested_ip, a));
	if (dhcp_has(m, DHCP_OPT_SERVER_ID))
		tr_printf(o, " server=%s", ip(m->server_id, a));
	tr_printf(o, "\n");
	if (!h->verbose)
		return;
	tr_printf(o, "  len=%zu clientid=", p->len);
	print_hex(o, m->client_id, m->client_id_len);
	if (dhcp_has(m, DHCP_OPT_HOSTNAME))
		tr_printf(o, " hostname=%s", m->hostname);
	if (dhcp_has(m, DHCP_OPT_MAX_SIZE))
		tr_printf(o, " maxsize=%u", m->max_size);
	if (dhcp_has(m, DHCP_OPT_PARAM_LIST)) {
		tr_printf(o, " params=");
		for (size_t i = 0; i < m->n_params; i++)
			tr_printf(o, "%s%u", i ? "," : "", m->param_list[i]);
	}
	tr_printf(o, "\n");
}

static void print_addrs(struct tr_out *o, const char *what, const uint32_t *v, size_t n)
{
	char a[16];
	if (!n)
		return;
	tr_printf(o, "  %s:", what);
	for (size_t i = 0; i < n; i++)
		tr_printf(o, " %s", ip(v[i], a));
	tr_printf(o, "\n");
}

static void print_lease(struct tr_out *o, const struct dhcp_lease *l, uint64_t now)
{
	char a[16], b[16];

	tr_printf(o, "configure %s/%u server=%s lease=%u t1=%u t2=%u\n", ip(l->address, a),
	     l->prefix_len, ip(l->server_id, b), l->lease_s, l->t1_s, l->t2_s);
	tr_printf(o, " ");
	print_time(o, "acquired", l->acquired_ms, now);
	print_time(o, "renew", l->t1_ms, now);
	print_time(o, "rebind", l->t2_ms, now);
	print_time(o, "expire", l->expiry_ms, now);
	tr_printf(o, "\n");
	if (l->n_routes) {
		tr_printf(o, "  routes:");
		for (size_t i = 0; i < l->n_routes; i++)
			tr_printf(o, " %s/%u>%s", ip(l->routes[i].dst, a), l->routes[i].prefix_len,
			     l->routes[i].gw ? ip(l->routes[i].gw, b) : "onlink");
		tr_printf(o, "\n");
	}
	print_addrs(o, "routers", l->routers, l->n_routers);
	print_addrs(o, "dns", l->dns, l->n_dns);
	if (l->domain[0])
		tr_printf(o, "  domain=%s\n", l->domain);
	for (size_t i = 0; i < l->n_search; i++)
		tr_printf(o, "  search=%s\n", l->search[i]);
	if (l->hostname[0])
		tr_printf(o, "  hostname=%s\n", l->hostname);
	if (l->mtu)
		tr_printf(o, "  mtu=%u\n", l->mtu);
}

static void print_actions(struct harness *h, struct tr_out *o, int rc)
{
	const struct dhcp_actions *acts = &h->acts;
	char a[16];

	for (size_t i = 0; i < acts->n; i++) {
		const struct dhcp_action *x = &acts->act[i];
		if (x->kind == DHCP_ACT_SEND)
			print_send(h, o, &x->pkt);
		else if (x->kind == DHCP_ACT_CONFIGURE)
			print_lease(o, x->lease, h->now);
		else
			tr_printf(o, "deconfigure %s/%u\n", ip(x->address, a), x->prefix_len);
	}
	if (rc < 0)
		tr_printf(o, "rc=%s\n", dhcp_strerror(rc));
	if (acts->note)
		tr_printf(o, "note: %s\n", acts->note);
	tr_printf(o, "state=%s", dhcp_state_name(acts->state));
	print_time(o, "wake", acts->wake_ms, h->now);
	tr_printf(o, "\n");
	h->wake = acts->wake_ms;
}

/* ---- commands -------------------------------------------------------------------------- */
static int do_init(struct harness *h, const struct tr_args *a, struct tr_out *o)
{
	const char *v;
	memset(&h->cfg, 0, sizeof(h->cfg));
	h->cfg.seed = (v = tr_arg(a, "seed")) ? strtoull(v, NULL, 0) : 1;
	parse_mac((v = tr_arg(a, "mac")) ? v : "52:54:00:12:34:56", h->cfg.mac);
	v = tr_arg(a, "hostname");
	snprintf(h->hostname, sizeof(h->hostname), "%s", v ? v : "node-1");
	h->cfg.hostname = h->hostname;
	if ((v = tr_arg(a, "clientid"))) {
		size_t n = 0;
		for (; v[2 * n] && v[2 * n + 1] && n < sizeof(h->client_id); n++)
			sscanf(v + 2 * n, "%2hhx", &h->client_id[n]);
		h->cfg.client_id = h->client_id;
		h->cfg.client_id_len = n;
	}
	h->cfg.max_size = (uint16_t)((v = tr_arg(a, "maxsize")) ? atoi(v) : 0);
	h->cfg.broadcast_flag = tr_arg(a, "broadcast") != NULL;
	int rc = dhcp_init(&h->c, &h->cfg);
	if (rc < 0)
		tr_printf(o, "rc=%s\n", dhcp_strerror(rc));
	else
		tr_printf(o, "ok\n");
	return 0;
}

static int addr_list(const char *v, uint32_t *out, uint8_t *n, size_t max)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", v);
	for (char *save, *t = strtok_r(buf, ",", &save); t && *n < max;
	     t = strtok_r(NULL, ",", &save))
		if (parse_ip(t, &out[(*n)++]) < 0)
			return -1;
	return 0;
}

static int route_list(const char *v, struct dhcp_msg *m)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", v);
	for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		struct dhcp_route *r = &m->routes[m->n_routes++];
		char *slash = strchr(t, '/'), *gt = strchr(t, '>');
		if (!slash || !gt)
			return -1;
		*slash = *gt = '\0';
		r->prefix_len = (uint8_t)atoi(slash + 1);
		if (parse_ip(t, &r->dst) < 0 || parse_ip(gt + 1, &r->gw) < 0)
			return -1;
	}
	return 0;
}

static void search_list(const char *v, struct dhcp_msg *m)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", v);
	for (char *save, *t = strtok_r(buf, ",", &save); t && m->n_search < DHCP_SEARCH_MAX;
	     t = strtok_r(NULL, ",", &save))
		snprintf(m->search[m->n_search++], DHCP_NAME_MAX + 1, "%s", t);
}

/* Sets an address option: default d unless the argument says otherwise or "none". */
static int addr_opt(struct dhcp_msg *m, const struct tr_args *a, const char *key, unsigned code,
		    uint32_t *field, const char *d)
{
	const char *v = tr_arg(a, key) ? tr_arg(a, key) : d;
	if (!v || strcmp(v, "none") == 0)
		return 0;
	dhcp_set(m, code);
	return parse_ip(v, field);
}

static void text_opt(struct dhcp_msg *m, const struct tr_args *a, const char *key, unsigned code,
		     char *field)
{
	const char *v = tr_arg(a, key);
	if (v) {
		snprintf(field, DHCP_TEXT_MAX + 1, "%s", v);
		dhcp_set(m, code);
	}
}

static void num_opt(struct dhcp_msg *m, const struct tr_args *a, const char *key, unsigned code,
		    uint32_t *field, const char *d)
{
	const char *v = tr_arg(a, key) ? tr_arg(a, key) : d;
	if (!v || strcmp(v, "none") == 0)
		return;
	*field = strcmp(v, "inf") == 0 ? DHCP_INFINITE : (uint32_t)strtoul(v, NULL, 0);
	dhcp_set(m, code);
}

static int build_reply(struct harness *h, const struct tr_args *a, struct dhcp_msg *m)
{
	const char *kind = a->n > 1 ? a->k[1] : "", *v;
	bool nak = strcmp(kind, "nak") == 0;
	uint32_t mtu = 0;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	m->op = (uint8_t)((v = tr_arg(a, "op")) ? atoi(v) : DHCP_BOOTREPLY);
	m->htype = 1;
	m->hlen = 6;
	m->xid = (v = tr_arg(a, "xid")) ? (uint32_t)strtoul(v, NULL, 16) : h->last_xid;
	memcpy(m->chaddr, h->cfg.mac, 6);
	if ((v = tr_arg(a, "chaddr")))
		rc |= parse_mac(v, m->chaddr);
	m->type = strcmp(kind, "offer") == 0 ? DHCP_OFFER : strcmp(kind, "ack") == 0 ? DHCP_ACK
										    : DHCP_NAK;
	dhcp_set(m, DHCP_OPT_MSG_TYPE);
	rc |= parse_ip((v = tr_arg(a, "yiaddr")) ? v : nak ? "0.0.0.0" : "10.0.2.15", &m->yiaddr);
	rc |= addr_opt(m, a, "server", DHCP_OPT_SERVER_ID, &m->server_id, "10.0.2.2");
	rc |= addr_opt(m, a, "mask", DHCP_OPT_SUBNET_MASK, &m->subnet_mask,
		       nak ? NULL : "255.255.255.0");
	num_opt(m, a, "lease", DHCP_OPT_LEASE_TIME, &m->lease_time, nak ? NULL : "86400");
	num_opt(m, a, "t1", DHCP_OPT_T1, &m->t1, NULL);
	num_opt(m, a, "t2", DHCP_OPT_T2, &m->t2, NULL);
	num_opt(m, a, "mtu", DHCP_OPT_MTU, &mtu, NULL);
	m->mtu = (uint16_t)mtu;
	if ((v = tr_arg(a, "router")) && (dhcp_set(m, DHCP_OPT_ROUTER), 1))
		rc |= addr_list(v, m->routers, &m->n_routers, DHCP_ROUTERS_MAX);
	if ((v = tr_arg(a, "dns")) && (dhcp_set(m, DHCP_OPT_DNS), 1))
		rc |= addr_list(v, m->dns, &m->n_dns, DHCP_DNS_MAX);
	if ((v = tr_arg(a, "routes")) && (dhcp_set(m, DHCP_OPT_CLASSLESS), 1))
		rc |= route_list(v, m);
	if ((v = tr_arg(a, "search")) && (dhcp_set(m, DHCP_OPT_SEARCH), 1))
		search_list(v, m);
	text_opt(m, a, "domain", DHCP_OPT_DOMAIN, m->domain);
	text_opt(m, a, "hostname", DHCP_OPT_HOSTNAME, m->hostname);
	text_opt(m, a, "message", DHCP_OPT_MESSAGE, m->message);
	return rc ? -1 : 0;
}

static int do_recv(struct harness *h, const struct tr_args *a, struct tr_out *o)
{
	uint8_t buf[1500];
	const char *err = NULL, *v;

	if (build_reply(h, a, &h->reply) < 0) {
		tr_printf(o, "bad recv arguments\n");
		return -1;
	}
	int n = dhcp_encode(&h->reply, buf, sizeof(buf), &err);
	if (n < 0) {
		tr_printf(o, "encode: %s\n", err);
		return -1;
	}
	if ((v = tr_arg(a, "trunc")) && atoi(v) < n)
		n = atoi(v);
	print_actions(h, o, dhcp_input(&h->c, h->now, buf, (size_t)n, &h->acts));
	return 0;
}

static int run_command(struct harness *h, const struct tr_args *a, struct tr_out *o)
{
	const char *cmd = a->k[0], *v;
	struct dhcp_lease prev;
	int rc;

	if (strcmp(cmd, "init") == 0)
		return do_init(h, a, o);
	if (strcmp(cmd, "recv") == 0)
		return do_recv(h, a, o);
	if (strcmp(cmd, "verbose") == 0) {
		h->verbose = a->n > 1 && strcmp(a->k[1], "on") == 0;
		tr_printf(o, "ok\n");
		return 0;
	}
	if (strcmp(cmd, "advance") == 0 && a->n > 1) {
		h->now += strtoull(a->k[1], NULL, 0);
		tr_printf(o, "now=%llu\n", (unsigned long long)h->now);
		return 0;
	}
	if (strcmp(cmd, "start") == 0) {
		memset(&prev, 0, sizeof(prev));
		if ((v = tr_arg(a, "prev")) && parse_ip(v, &prev.address) < 0)
			return -1;
		rc = dhcp_start(&h->c, h->now, v ? &prev : NULL, &h->acts);
	} else if (strcmp(cmd, "tick") == 0 && a->n > 1) {
		h->now += strtoull(a->k[1], NULL, 0);
		rc = dhcp_tick(&h->c, h->now, &h->acts);
	} else if (strcmp(cmd, "wake") == 0) {
		if (h->wake == DHCP_NEVER) {
			tr_printf(o, "no wake-up pending\n");
			return 0;
		}
		h->now = h->wake > h->now ? h->wake : h->now;
		rc = dhcp_tick(&h->c, h->now, &h->acts);
	} else if (strcmp(cmd, "link") == 0 && a->n > 1) {
		rc = dhcp_link(&h->c, h->now, strcmp(a->k[1], "up") == 0, &h->acts);
	} else if (strcmp(cmd, "stop") == 0) {
		rc = dhcp_stop(&h->c, h->now, &h->acts);
	} else {
		tr_printf(o, "unknown command\n");
		return -1;
	}
	print_actions(h, o, rc);
	return 0;
}

static void reset(struct harness *h)
{
	static const struct tr_args none = {0, {0}, {0}};
	struct tr_out sink = {0};
	memset(h, 0, sizeof(*h));
	h->wake = DHCP_NEVER;
	do_init(h, &none, &sink);
	free(sink.s);
}


static int command(void *ctx, const struct tr_args *a, struct tr_out *o)
{
	return run_command(ctx, a, o);
}

static void reset_ctx(void *ctx)
{
	reset(ctx);
}

int main(int argc, char **argv)
{
	static struct harness h;
	char dir[4096];
	const char *root = getenv("CABIN_ROOT");

	if (argc > 1) { /* just the files named */
		for (int i = 1; i < argc; i++)
			tu_failures += tr_run_file(argv[i], command, reset_ctx, &h);
		return TU_EXIT();
	}
	snprintf(dir, sizeof(dir), "%s/tests/unit/net/testdata", root ? root : ".");
	tu_failures += tr_run_dir(dir, command, reset_ctx, &h);
	return TU_EXIT();
}
