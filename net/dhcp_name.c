/* Domain names for DHCP: RFC 1035 label decoding with compression pointers (option 119,
 * RFC 3397), uncompressed encoding, and the character check applied before a name reaches
 * resolv.conf or /etc/hosts. Pure: no I/O. */
#include <stdio.h>
#include <string.h>

#include "dhcp_priv.h"

static int label_char_ok(uint8_t ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || ch == '_';
}

/* Appends one label to the text form; returns 0, or -1 when the name grows too long. */
static int append_label(char *out, size_t *olen, const uint8_t *lab, size_t l, int *usable)
{
	size_t need = *olen + (*olen ? 1 : 0) + l;
	if (need > DHCP_NAME_MAX)
		return -1;
	if (*olen)
		out[(*olen)++] = '.';
	for (size_t i = 0; i < l; i++) {
		if (!label_char_ok(lab[i]))
			*usable = 0;
		out[(*olen)++] = (char)lab[i];
	}
	out[*olen] = '\0';
	return 0;
}

int dhcp_name_decode(const uint8_t *d, size_t n, size_t *pos, char *out, char *why,
		     size_t why_len)
{
	size_t p = *pos, olen = 0, limit = *pos;
	int jumped = 0, usable = 1;

	out[0] = '\0';
	for (;;) {
		if (p >= n) {
			snprintf(why, why_len, "data byte %zu: name runs past the end", p);
			return DHCP_ETRUNC;
		}
		uint8_t l = d[p];
		if ((l & 0xc0) == 0xc0) {
			if (p + 1 >= n) {
				snprintf(why, why_len, "data byte %zu: truncated pointer", p);
				return DHCP_ETRUNC;
			}
			size_t target = (size_t)(l & 0x3f) << 8 | d[p + 1];
			/* Each pointer must land before the previous one (or the name's start):
			 * the jump targets strictly decrease, so decoding always ends. */
			if (target >= limit) {
				snprintf(why, why_len,
					 "data byte %zu: pointer to %zu does not point back", p,
					 target);
				return DHCP_EMALFORMED;
			}
			if (!jumped)
				*pos = p + 2;
			jumped = 1;
			limit = target;
			p = target;
			continue;
		}
		if (l & 0xc0) {
			snprintf(why, why_len, "data byte %zu: label type 0x%02x", p, l & 0xc0);
			return DHCP_EMALFORMED;
		}
		if (l == 0)
			break;
		if (p + 1 + l > n) {
			snprintf(why, why_len, "data byte %zu: label of %u bytes runs past the end",
				 p, l);
			return DHCP_ETRUNC;
		}
		if (append_label(out, &olen, d + p + 1, l, &usable) < 0) {
			snprintf(why, why_len, "data byte %zu: name longer than %d characters", p,
				 DHCP_NAME_MAX);
			return DHCP_EMALFORMED;
		}
		p += 1 + (size_t)l;
	}
	if (!jumped)
		*pos = p + 1;
	if (!usable)
		out[0] = '\0';
	return usable;
}

int dhcp_name_encode(const char *name, uint8_t *out, size_t cap)
{
	size_t o = 0;
	const char *p = name;

	if (!dhcp_name_valid(name))
		return -1;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		if (o + 1 + l > cap)
			return -1;
		out[o++] = (uint8_t)l;
		memcpy(out + o, p, l);
		o += l;
		p += l;
		if (*p == '.')
			p++;
	}
	if (o + 1 > cap)
		return -1;
	out[o++] = 0;
	return (int)o;
}

int dhcp_name_valid(const char *s)
{
	size_t n = strlen(s), lab = 0;

	if (n == 0 || n > DHCP_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (lab == 0)
				return 0;
			lab = 0;
		} else if (!label_char_ok((uint8_t)s[i]) || ++lab > 63) {
			return 0;
		}
	}
	return 1;
}
