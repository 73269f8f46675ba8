/* Value checks for configuration strings: host names, addresses, URLs, CIDRs, time zones,
 * label keys. Each returns NULL when the value is good, else a short problem text. */
#include <arpa/inet.h>
#include <string.h>

#include "config_int.h"

static int is_alnum(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/* One DNS label: 1-max of [A-Za-z0-9-], not starting or ending with '-'. */
static int label_ok(const char *s, size_t n, size_t max)
{
	if (n == 0 || n > max || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
	return 1;
}

const char *cfg_check_hostname(const char *s)
{
	if (!label_ok(s, strlen(s), CFG_HOSTNAME_MAX))
		return "not a host name (1-64 letters, digits and '-')";
	return NULL;
}

const char *cfg_check_fqdn(const char *s)
{
	size_t n = strlen(s);
	if (n && s[n - 1] == '.')
		n--;	/* the root's dot */
	if (n == 0 || n > CFG_FQDN_MAX)
		return "not a domain name (at most 253 bytes)";
	for (const char *p = s, *end = s + n; p < end;) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		size_t len = dot ? (size_t)(dot - p) : (size_t)(end - p);
		if (!label_ok(p, len, 63))
			return "not a domain name (labels of 1-63 letters, digits and '-')";
		p += len + 1;
		if (dot && p == end)
			return "not a domain name (empty label)";
	}
	return NULL;
}

const char *cfg_check_ip(const char *s)
{
	unsigned char buf[16];
	if (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1)
		return NULL;
	return "not an IP address";
}

const char *cfg_check_host(const char *s)
{
	if (!cfg_check_ip(s) || !cfg_check_fqdn(s))
		return NULL;
	return "not an IP address or host name";
}

const char *cfg_check_token(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > CFG_TOKEN_MAX)
		return "must be 1-63 characters";
	for (size_t i = 0; i < n; i++)
		if (!is_alnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return "only letters, digits, '.', '_' and '-' are allowed";
	return NULL;
}

/* Decimal 1-65535 without a sign or leading zero, all of s[0..n). */
static int port_ok(const char *s, size_t n)
{
	unsigned v = 0;
	if (n == 0 || n > 5 || s[0] == '0')
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	return v <= 65535;
}

/* host[:port] or [v6][:port]; port required when need_port. */
static const char *check_authority(const char *s, size_t n, int need_port)
{
	char host[256];
	const char *colon;
	if (n && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (!close || (size_t)(close - s - 1) >= sizeof(host))
			return "bad IPv6 address";
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		unsigned char buf[16];
		if (inet_pton(AF_INET6, host, buf) != 1)
			return "bad IPv6 address";
		colon = close + 1 < s + n ? close + 1 : NULL;
		if (colon && *colon != ':')
			return "bad host";
	} else {
		colon = memchr(s, ':', n);
		size_t hl = colon ? (size_t)(colon - s) : n;
		if (hl == 0 || hl >= sizeof(host))
			return "missing host";
		memcpy(host, s, hl);
		host[hl] = '\0';
		if (cfg_check_host(host))
			return "bad host";
	}
	if (colon) {
		if (!port_ok(colon + 1, (size_t)(s + n - colon - 1)))
			return "bad port (1-65535)";
	} else if (need_port) {
		return "missing port";
	}
	return NULL;
}

const char *cfg_check_http_url(const char *s)
{
	const char *rest;
	if (strncmp(s, "http://", 7) == 0)
		rest = s + 7;
	else if (strncmp(s, "https://", 8) == 0)
		rest = s + 8;
	else
		return "not an http:// or https:// URL";
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == ',' || *p == '@' || (unsigned char)*p >= 0x7f)
			return "bad URL (spaces, ',' and '@' are not allowed)";
	size_t n = strcspn(rest, "/?#");
	const char *why = check_authority(rest, n, 0);
	return why ? why : NULL;
}

const char *cfg_check_docker_endpoint(const char *s)
{
	if (strncmp(s, "unix://", 7) == 0) {
		if (s[7] != '/' || s[8] == '\0')
			return "unix:// needs an absolute path (unix:///run/docker.sock)";
		for (const char *p = s; *p; p++)
			if ((unsigned char)*p < ' ')
				return "bad path";
		return NULL;
	}
	if (strncmp(s, "tcp://", 6) == 0) {
		const char *why = check_authority(s + 6, strlen(s + 6), 1);
		return why ? why : NULL;
	}
	return "not unix:///path or tcp://host:port";
}

const char *cfg_check_timezone(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > CFG_TZ_MAX || s[0] == '/' || s[n - 1] == '/' || strstr(s, "..") ||
	    strstr(s, "//"))
		return "not a time zone name (like Europe/Berlin or UTC)";
	for (size_t i = 0; i < n; i++)
		if (!is_alnum((unsigned char)s[i]) && !strchr("/_+-.", s[i]))
			return "not a time zone name (like Europe/Berlin or UTC)";
	return NULL;
}

const char *cfg_check_label_key(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253)
		return "label keys are 1-253 characters";
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      strchr("./-", s[i])))
			return "label keys are lower-case letters, digits, '.', '/' and '-'";
	return NULL;
}

/* A decimal number 0-max without leading zeros, advancing *p. */
static int dec(const char **p, unsigned max, unsigned *out)
{
	const char *s = *p;
	unsigned v = 0;
	int n = 0;
	while (*s >= '0' && *s <= '9' && n < 4) {
		v = v * 10 + (unsigned)(*s++ - '0');
		n++;
	}
	if (n == 0 || v > max || (n > 1 && **p == '0'))
		return 0;
	*p = s;
	*out = v;
	return 1;
}

const char *cfg_parse_cidr4(const char *s, uint32_t *addr, int *prefix)
{
	const char *p = s;
	uint32_t a = 0;
	unsigned v;
	for (int i = 0; i < 4; i++) {
		if (!dec(&p, 255, &v) || *p != (i < 3 ? '.' : '/'))
			return "not an IPv4 CIDR (like 10.244.0.0/16)";
		a = a << 8 | v;
		p++;
	}
	if (!dec(&p, 32, &v) || *p)
		return "not an IPv4 CIDR (prefix length 0-32)";
	uint32_t mask = v ? ~(uint32_t)0 << (32 - v) : 0;
	*addr = a & mask;
	*prefix = (int)v;
	return a & ~mask ? "host bits set" : NULL;
}

int cfg_set_hostname(struct cfg_walk *w, unsigned line, const char *path, const char *name,
		     struct node_config *cfg)
{
	const char *dot = strchr(name, '.');
	const char *why = dot ? cfg_check_fqdn(name) : cfg_check_hostname(name);
	if (!why && dot && (size_t)(dot - name) > CFG_HOSTNAME_MAX)
		why = "first label longer than 64";
	if (why) {
		cfg_werr(w, line, path, "\"%s\": %s", name, why);
		return 1;
	}
	size_t n = dot ? (size_t)(dot - name) : strlen(name);
	memcpy(cfg->hostname, name, n);
	cfg->hostname[n] = '\0';
	if (dot) {
		size_t fl = strlen(name);
		fl -= name[fl - 1] == '.';
		memcpy(cfg->fqdn, name, fl);
		cfg->fqdn[fl] = '\0';
	}
	return 0;
}
