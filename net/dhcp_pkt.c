/* DHCP message decoder: the BOOTP header, the magic cookie and the options, with option
 * overload (RFC 2131 §4.1) and long-option concatenation (RFC 3396). Every read is checked
 * against the end of the buffer; errors name the option and its byte offset. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dhcp_priv.h"

/* Where options live: the options field, then (overloaded) file, then sname. */
struct region {
	size_t off, end;
};

struct regions {
	struct region r[3];
	int n;
};

int dhcp_fail(struct dhcp_msg *m, const char **err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->err, sizeof(m->err), fmt, ap);
	va_end(ap);
	if (err)
		*err = m->err;
	return code;
}

/* "option 121 at offset 250: " followed by the formatted reason. */
static int __attribute__((format(printf, 6, 7)))
opt_fail(struct dhcp_msg *m, const char **err, int rc, unsigned code, size_t off,
	 const char *fmt, ...)
{
	char why[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return dhcp_fail(m, err, rc, "option %u at offset %zu: %s", code, off, why);
}

static const char *region_name(size_t off)
{
	if (off == BOOTP_FILE_OFF)
		return "file field";
	return off == BOOTP_SNAME_OFF ? "sname field" : "packet";
}

/* Checks the option structure of one region; *endp gets the offset past its end option
 * (or the region's end). The options field may carry option 52, recorded in m. */
static int walk_region(const uint8_t *b, struct region r, int main, struct dhcp_msg *m,
		       size_t *endp, const char **err)
{
	size_t p = r.off;

	while (p < r.end) {
		uint8_t code = b[p];
		if (code == DHCP_OPT_PAD) {
			p++;
			continue;
		}
		if (code == DHCP_OPT_END) {
			*endp = p + 1;
			return 0;
		}
		if (p + 1 >= r.end)
			return opt_fail(m, err, DHCP_ETRUNC, code, p,
					"no length byte before the end of the %s",
					region_name(r.off));
		size_t len = b[p + 1];
		if (p + 2 + len > r.end)
			return opt_fail(m, err, DHCP_ETRUNC, code, p,
					"length %zu runs past the end of the %s (%zu bytes left)",
					len, region_name(r.off), r.end - p - 2);
		if (main && code == DHCP_OPT_OVERLOAD) {
			if (len != 1 || b[p + 2] < 1 || b[p + 2] > 3)
				return opt_fail(m, err, DHCP_EMALFORMED, code, p,
						"overload must be one byte of 1..3");
			m->overload = b[p + 2];
			dhcp_set(m, DHCP_OPT_OVERLOAD);
		}
		p += 2 + len;
	}
	*endp = r.end;
	return 0;
}

/* Concatenates every instance of code (RFC 3396) into buf. Returns the data length, -1 if
 * absent, or DHCP_ETOOBIG. *first gets the offset of the first instance. The regions were
 * validated by walk_region, so this walk needs no error paths of its own but stays bounded. */
static int gather(const uint8_t *b, const struct regions *rs, uint8_t code, uint8_t *buf,
		  size_t *first, struct dhcp_msg *m, const char **err)
{
	size_t total = 0;
	int found = 0;

	for (int i = 0; i < rs->n; i++) {
		size_t p = rs->r[i].off, end = rs->r[i].end;
		while (p < end && b[p] != DHCP_OPT_END) {
			if (b[p] == DHCP_OPT_PAD) {
				p++;
				continue;
			}
			if (p + 1 >= end)
				break;
			size_t len = b[p + 1];
			if (p + 2 + len > end)
				break;
			if (b[p] == code) {
				if (!found)
					*first = p;
				found = 1;
				if (total + len > DHCP_OPT_GATHER_MAX)
					return opt_fail(m, err, DHCP_ETOOBIG, code, *first,
							"more than %d bytes in all",
							DHCP_OPT_GATHER_MAX);
				memcpy(buf + total, b + p + 2, len);
				total += len;
			}
			p += 2 + len;
		}
	}
	return found ? (int)total : -1;
}

static int want_len(struct dhcp_msg *m, const char **err, unsigned code, size_t off, size_t n,
		    size_t want)
{
	if (n == want)
		return 0;
	return opt_fail(m, err, DHCP_EMALFORMED, code, off, "length %zu, expected %zu", n, want);
}

/* Addresses in a list: at least one, whole multiples of 4; extra ones beyond max dropped. */
static int parse_addrs(struct dhcp_msg *m, const char **err, unsigned code, size_t off,
		       const uint8_t *d, size_t n, uint32_t *out, uint8_t *count, size_t max)
{
	if (n == 0 || n % 4)
		return opt_fail(m, err, DHCP_EMALFORMED, code, off,
				"length %zu is not a positive multiple of 4", n);
	for (size_t i = 0; i < n / 4 && i < max; i++)
		out[(*count)++] = dhcp_get32(d + 4 * i);
	return 0;
}

/* Text options: trailing NULs (which some servers send) are dropped; an inner NUL is not text. */
static int parse_text(struct dhcp_msg *m, const char **err, unsigned code, size_t off,
		      const uint8_t *d, size_t n, char *out)
{
	while (n > 0 && d[n - 1] == 0)
		n--;
	if (n == 0)
		return opt_fail(m, err, DHCP_EMALFORMED, code, off, "empty text");
	if (memchr(d, 0, n))
		return opt_fail(m, err, DHCP_EMALFORMED, code, off, "NUL inside text");
	if (n > DHCP_TEXT_MAX)
		return opt_fail(m, err, DHCP_ETOOBIG, code, off, "%zu bytes of text", n);
	memcpy(out, d, n);
	out[n] = '\0';
	return 0;
}

/* Option 121 (RFC 3442): width byte, ceil(width/8) significant octets, router. */
static int parse_routes(struct dhcp_msg *m, const char **err, size_t off, const uint8_t *d,
			size_t n)
{
	size_t p = 0;

	if (n < 5)
		return opt_fail(m, err, DHCP_EMALFORMED, 121, off, "length %zu, at least 5 needed",
				n);
	while (p < n) {
		unsigned width = d[p];
		if (width > 32)
			return opt_fail(m, err, DHCP_EMALFORMED, 121, off,
					"data byte %zu: prefix width %u > 32", p, width);
		size_t sig = (width + 7) / 8;
		if (p + 1 + sig + 4 > n)
			return opt_fail(m, err, DHCP_EMALFORMED, 121, off,
					"data byte %zu: /%u route needs %zu bytes, %zu left", p,
					width, 1 + sig + 4, n - p);
		if (m->n_routes == DHCP_ROUTES_MAX)
			return opt_fail(m, err, DHCP_ETOOBIG, 121, off, "more than %d routes",
					DHCP_ROUTES_MAX);
		uint8_t dst[4] = {0, 0, 0, 0};
		memcpy(dst, d + p + 1, sig);
		struct dhcp_route *rt = &m->routes[m->n_routes++];
		uint32_t mask = width ? ~0u << (32 - width) : 0;
		rt->dst = dhcp_get32(dst) & mask;
		rt->prefix_len = (uint8_t)width;
		rt->gw = dhcp_get32(d + p + 1 + sig);
		p += 1 + sig + 4;
	}
	return 0;
}

/* Option 119 (RFC 3397): a sequence of names; pointers are relative to the option data. */
static int parse_search(struct dhcp_msg *m, const char **err, size_t off, const uint8_t *d,
			size_t n)
{
	size_t p = 0;
	char name[DHCP_NAME_MAX + 1], why[96];

	while (p < n) {
		int rc = dhcp_name_decode(d, n, &p, name, why, sizeof(why));
		if (rc < 0)
			return opt_fail(m, err, rc, 119, off, "%s", why);
		if (rc == 1 && name[0] && m->n_search < DHCP_SEARCH_MAX)
			memcpy(m->search[m->n_search++], name, strlen(name) + 1);
	}
	return 0;
}

static int parse_fixed(struct dhcp_msg *m, const char **err, uint8_t code, size_t off,
		       const uint8_t *d, size_t n)
{
	int rc;

	switch (code) {
	case DHCP_OPT_MSG_TYPE:
		if ((rc = want_len(m, err, code, off, n, 1)) < 0)
			return rc;
		if (d[0] == 0)
			return opt_fail(m, err, DHCP_EMALFORMED, code, off, "message type 0");
		m->type = d[0];
		return 0;
	case DHCP_OPT_MTU:
	case DHCP_OPT_MAX_SIZE:
		if ((rc = want_len(m, err, code, off, n, 2)) < 0)
			return rc;
		*(code == DHCP_OPT_MTU ? &m->mtu : &m->max_size) = dhcp_get16(d);
		return 0;
	}
	if ((rc = want_len(m, err, code, off, n, 4)) < 0)
		return rc;
	uint32_t v = dhcp_get32(d);
	switch (code) {
	case DHCP_OPT_SUBNET_MASK: m->subnet_mask = v; break;
	case DHCP_OPT_REQUESTED_IP: m->requested_ip = v; break;
	case DHCP_OPT_SERVER_ID: m->server_id = v; break;
	case DHCP_OPT_LEASE_TIME: m->lease_time = v; break;
	case DHCP_OPT_T1: m->t1 = v; break;
	case DHCP_OPT_T2: m->t2 = v; break;
	}
	return 0;
}

static int parse_option(struct dhcp_msg *m, const char **err, uint8_t code, size_t off,
			const uint8_t *d, size_t n)
{
	switch (code) {
	case DHCP_OPT_ROUTER:
		return parse_addrs(m, err, code, off, d, n, m->routers, &m->n_routers,
				   DHCP_ROUTERS_MAX);
	case DHCP_OPT_DNS:
		return parse_addrs(m, err, code, off, d, n, m->dns, &m->n_dns, DHCP_DNS_MAX);
	case DHCP_OPT_HOSTNAME: return parse_text(m, err, code, off, d, n, m->hostname);
	case DHCP_OPT_DOMAIN: return parse_text(m, err, code, off, d, n, m->domain);
	case DHCP_OPT_MESSAGE: return parse_text(m, err, code, off, d, n, m->message);
	case DHCP_OPT_SEARCH: return parse_search(m, err, off, d, n);
	case DHCP_OPT_CLASSLESS: return parse_routes(m, err, off, d, n);
	case DHCP_OPT_PARAM_LIST:
		if (n == 0)
			return want_len(m, err, code, off, n, 1);
		m->n_params = (uint8_t)(n > sizeof(m->param_list) ? sizeof(m->param_list) : n);
		memcpy(m->param_list, d, m->n_params);
		return 0;
	case DHCP_OPT_CLIENT_ID:
		if (n < 2 || n > sizeof(m->client_id))
			return opt_fail(m, err, DHCP_EMALFORMED, code, off,
					"length %zu, expected 2..255", n);
		m->client_id_len = (uint8_t)n;
		memcpy(m->client_id, d, n);
		return 0;
	}
	return parse_fixed(m, err, code, off, d, n);
}

static const uint8_t known_codes[] = {
	DHCP_OPT_SUBNET_MASK, DHCP_OPT_ROUTER, DHCP_OPT_DNS, DHCP_OPT_HOSTNAME,
	DHCP_OPT_DOMAIN, DHCP_OPT_MTU, DHCP_OPT_REQUESTED_IP, DHCP_OPT_LEASE_TIME,
	DHCP_OPT_MSG_TYPE, DHCP_OPT_SERVER_ID, DHCP_OPT_PARAM_LIST, DHCP_OPT_MESSAGE,
	DHCP_OPT_MAX_SIZE, DHCP_OPT_T1, DHCP_OPT_T2, DHCP_OPT_CLIENT_ID, DHCP_OPT_SEARCH,
	DHCP_OPT_CLASSLESS,
};

static int parse_options(const uint8_t *b, const struct regions *rs, struct dhcp_msg *m,
			 const char **err)
{
	uint8_t buf[DHCP_OPT_GATHER_MAX];

	for (size_t i = 0; i < sizeof(known_codes); i++) {
		size_t first = 0;
		int n = gather(b, rs, known_codes[i], buf, &first, m, err);
		if (n == -1)
			continue;
		if (n < 0)
			return n;
		int rc = parse_option(m, err, known_codes[i], first, buf, (size_t)n);
		if (rc < 0)
			return rc;
		dhcp_set(m, known_codes[i]);
	}
	return 0;
}

static void copy_field(char *out, const uint8_t *f, size_t len)
{
	const uint8_t *nul = memchr(f, 0, len);
	size_t n = nul ? (size_t)(nul - f) : len;
	memcpy(out, f, n);
	out[n] = '\0';
}

static int decode_header(const uint8_t *b, size_t len, struct dhcp_msg *m, const char **err)
{
	if (len > DHCP_PKT_MAX)
		return dhcp_fail(m, err, DHCP_ETOOBIG, "packet of %zu bytes is longer than %d", len,
				 DHCP_PKT_MAX);
	if (len < DHCP_OPTS_OFF)
		return dhcp_fail(m, err, DHCP_ETRUNC,
				 "packet of %zu bytes is shorter than the %d-byte header+cookie",
				 len, DHCP_OPTS_OFF);
	m->op = b[0];
	m->htype = b[1];
	m->hlen = b[2];
	m->hops = b[3];
	m->xid = dhcp_get32(b + 4);
	m->secs = dhcp_get16(b + 8);
	m->flags = dhcp_get16(b + 10);
	m->ciaddr = dhcp_get32(b + 12);
	m->yiaddr = dhcp_get32(b + 16);
	m->siaddr = dhcp_get32(b + 20);
	m->giaddr = dhcp_get32(b + 24);
	memcpy(m->chaddr, b + BOOTP_CHADDR_OFF, sizeof(m->chaddr));
	if (m->hlen > sizeof(m->chaddr))
		return dhcp_fail(m, err, DHCP_EMALFORMED, "hlen at offset 2 is %u, more than 16",
				 m->hlen);
	uint32_t cookie = dhcp_get32(b + BOOTP_COOKIE_OFF);
	if (cookie != DHCP_COOKIE)
		return dhcp_fail(m, err, DHCP_EMALFORMED,
				 "magic cookie at offset %d is 0x%08x, expected 0x%08x",
				 BOOTP_COOKIE_OFF, cookie, DHCP_COOKIE);
	return 0;
}

int dhcp_decode(const uint8_t *b, size_t len, struct dhcp_msg *m, const char **err)
{
	struct regions rs = {.n = 0};
	size_t used = len, ignored;
	int rc;

	memset(m, 0, sizeof(*m));
	if ((rc = decode_header(b, len, m, err)) < 0)
		return rc;
	rs.r[rs.n++] = (struct region){DHCP_OPTS_OFF, len};
	if ((rc = walk_region(b, rs.r[0], 1, m, &used, err)) < 0)
		return rc;
	rs.r[0].end = used;
	if (m->overload & 1)
		rs.r[rs.n++] = (struct region){BOOTP_FILE_OFF, BOOTP_FILE_OFF + BOOTP_FILE_LEN};
	if (m->overload & 2)
		rs.r[rs.n++] = (struct region){BOOTP_SNAME_OFF, BOOTP_SNAME_OFF + BOOTP_SNAME_LEN};
	for (int i = 1; i < rs.n; i++)
		if ((rc = walk_region(b, rs.r[i], 0, m, &ignored, err)) < 0)
			return rc;
	if (!(m->overload & 1))
		copy_field(m->file, b + BOOTP_FILE_OFF, BOOTP_FILE_LEN);
	if (!(m->overload & 2))
		copy_field(m->sname, b + BOOTP_SNAME_OFF, BOOTP_SNAME_LEN);
	if ((rc = parse_options(b, &rs, m, err)) < 0)
		return rc;
	return (int)used;
}
