/* DHCP message encoder (the inverse of dhcp_pkt.c, without overload), plus the module's
 * error and name tables. The client builds its packets with it; tests and the fuzz driver
 * build server replies with it. */
#include <string.h>

#include "dhcp_priv.h"

const char *dhcp_strerror(int code)
{
#define DHCP_ERR_CASE(name, value, text) \
	case value:                      \
		return text;
	switch (code) {
		DHCP_ERRORS(DHCP_ERR_CASE)
	}
#undef DHCP_ERR_CASE
	return "unknown error";
}

const char *dhcp_type_name(unsigned type)
{
	static const char *const names[] = {"?", "DISCOVER", "OFFER", "REQUEST", "DECLINE",
					    "ACK", "NAK", "RELEASE", "INFORM"};
	return type < sizeof(names) / sizeof(names[0]) ? names[type] : "?";
}

const char *dhcp_state_name(enum dhcp_state s)
{
	static const char *const names[] = {"STOPPED", "INIT", "SELECTING", "REQUESTING",
					    "BOUND", "RENEWING", "REBINDING", "INIT-REBOOT",
					    "REBOOTING"};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

struct out {
	uint8_t *b;
	size_t cap, n;
};

static int put(struct out *o, const void *p, size_t len)
{
	if (o->n + len > o->cap)
		return -1;
	memcpy(o->b + o->n, p, len);
	o->n += len;
	return 0;
}

/* Writes one option, split into 255-byte instances when longer (RFC 3396). */
static int put_option(struct out *o, uint8_t code, const uint8_t *d, size_t len)
{
	do {
		size_t part = len > 255 ? 255 : len;
		uint8_t hdr[2] = {code, (uint8_t)part};
		if (put(o, hdr, 2) < 0 || put(o, d, part) < 0)
			return -1;
		d += part;
		len -= part;
	} while (len > 0);
	return 0;
}

static size_t put_addrs(uint8_t *d, const uint32_t *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dhcp_put32(d + 4 * i, a[i]);
	return 4 * n;
}

static int routes_data(const struct dhcp_msg *m, uint8_t *d, size_t *len, const char **err)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n_routes; i++) {
		const struct dhcp_route *r = &m->routes[i];
		uint32_t mask = r->prefix_len ? ~0u << (32 - r->prefix_len) : 0;
		if (r->prefix_len > 32 || (r->dst & ~mask)) {
			*err = "option 121: route with host bits set or width over 32";
			return DHCP_EARG;
		}
		uint8_t dst[4];
		size_t sig = (r->prefix_len + 7u) / 8;
		dhcp_put32(dst, r->dst);
		d[n++] = r->prefix_len;
		memcpy(d + n, dst, sig);
		n += sig;
		dhcp_put32(d + n, r->gw);
		n += 4;
	}
	*len = n;
	return 0;
}

static int search_data(const struct dhcp_msg *m, uint8_t *d, size_t cap, size_t *len,
		       const char **err)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n_search; i++) {
		int l = dhcp_name_encode(m->search[i], d + n, cap - n);
		if (l < 0) {
			*err = "option 119: invalid name";
			return DHCP_EARG;
		}
		n += (size_t)l;
	}
	*len = n;
	return 0;
}

static size_t put_text(uint8_t *d, const char *s)
{
	size_t n = strlen(s);
	memcpy(d, s, n);
	return n;
}

/* Fills d with the data of option code; returns its length or a negative code. */
static int option_data(const struct dhcp_msg *m, uint8_t code, uint8_t *d, size_t cap,
		       const char **err)
{
	size_t n = 0;
	int rc = 0;

	switch (code) {
	case DHCP_OPT_MSG_TYPE: d[0] = m->type; return 1;
	case DHCP_OPT_SUBNET_MASK: dhcp_put32(d, m->subnet_mask); return 4;
	case DHCP_OPT_REQUESTED_IP: dhcp_put32(d, m->requested_ip); return 4;
	case DHCP_OPT_SERVER_ID: dhcp_put32(d, m->server_id); return 4;
	case DHCP_OPT_LEASE_TIME: dhcp_put32(d, m->lease_time); return 4;
	case DHCP_OPT_T1: dhcp_put32(d, m->t1); return 4;
	case DHCP_OPT_T2: dhcp_put32(d, m->t2); return 4;
	case DHCP_OPT_MTU: dhcp_put16(d, m->mtu); return 2;
	case DHCP_OPT_MAX_SIZE: dhcp_put16(d, m->max_size); return 2;
	case DHCP_OPT_ROUTER: return (int)put_addrs(d, m->routers, m->n_routers);
	case DHCP_OPT_DNS: return (int)put_addrs(d, m->dns, m->n_dns);
	case DHCP_OPT_HOSTNAME: return (int)put_text(d, m->hostname);
	case DHCP_OPT_DOMAIN: return (int)put_text(d, m->domain);
	case DHCP_OPT_MESSAGE: return (int)put_text(d, m->message);
	case DHCP_OPT_PARAM_LIST: memcpy(d, m->param_list, m->n_params); return m->n_params;
	case DHCP_OPT_CLIENT_ID:
		memcpy(d, m->client_id, m->client_id_len);
		return m->client_id_len;
	case DHCP_OPT_CLASSLESS: rc = routes_data(m, d, &n, err); break;
	case DHCP_OPT_SEARCH: rc = search_data(m, d, cap, &n, err); break;
	default:
		*err = "option the encoder does not know";
		return DHCP_EARG;
	}
	return rc < 0 ? rc : (int)n;
}

static int encode_option(const struct dhcp_msg *m, struct out *o, uint8_t code, const char **err)
{
	uint8_t d[DHCP_OPT_GATHER_MAX];
	int n = option_data(m, code, d, sizeof(d), err);

	if (n < 0)
		return n;
	if (n == 0) {
		*err = "empty option";
		return DHCP_EARG;
	}
	if (put_option(o, code, d, (size_t)n) < 0) {
		*err = "buffer too small for the options";
		return DHCP_ETOOBIG;
	}
	return 0;
}

static void encode_header(const struct dhcp_msg *m, uint8_t *b)
{
	memset(b, 0, DHCP_OPTS_OFF);
	b[0] = m->op;
	b[1] = m->htype;
	b[2] = m->hlen;
	b[3] = m->hops;
	dhcp_put32(b + 4, m->xid);
	dhcp_put16(b + 8, m->secs);
	dhcp_put16(b + 10, m->flags);
	dhcp_put32(b + 12, m->ciaddr);
	dhcp_put32(b + 16, m->yiaddr);
	dhcp_put32(b + 20, m->siaddr);
	dhcp_put32(b + 24, m->giaddr);
	memcpy(b + BOOTP_CHADDR_OFF, m->chaddr, sizeof(m->chaddr));
	memcpy(b + BOOTP_SNAME_OFF, m->sname, strnlen(m->sname, BOOTP_SNAME_LEN));
	memcpy(b + BOOTP_FILE_OFF, m->file, strnlen(m->file, BOOTP_FILE_LEN));
	dhcp_put32(b + BOOTP_COOKIE_OFF, DHCP_COOKIE);
}

int dhcp_encode(const struct dhcp_msg *m, uint8_t *buf, size_t cap, const char **err)
{
	const char *dummy;
	struct out o = {buf, cap, DHCP_OPTS_OFF};
	int rc;

	if (!err)
		err = &dummy;
	if (cap < DHCP_OPTS_OFF + 1) {
		*err = "buffer smaller than the header";
		return DHCP_ETOOBIG;
	}
	encode_header(m, buf);
	if (dhcp_has(m, DHCP_OPT_MSG_TYPE) &&
	    (rc = encode_option(m, &o, DHCP_OPT_MSG_TYPE, err)) < 0)
		return rc;
	for (unsigned code = 1; code < DHCP_OPT_END; code++) {
		if (code == DHCP_OPT_MSG_TYPE || code == DHCP_OPT_OVERLOAD || !dhcp_has(m, code))
			continue;
		if ((rc = encode_option(m, &o, (uint8_t)code, err)) < 0)
			return rc;
	}
	uint8_t end = DHCP_OPT_END;
	if (put(&o, &end, 1) < 0) {
		*err = "buffer too small for the end option";
		return DHCP_ETOOBIG;
	}
	while (o.n < BOOTP_MIN_LEN && o.n < cap)
		buf[o.n++] = 0;
	return (int)o.n;
}
