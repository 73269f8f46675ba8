/* Internals shared by the DHCP codec and client files: BOOTP field offsets, byte helpers,
 * the error-message helper, name checks, lease building and outgoing-message building. */
#ifndef CABIN_DHCP_PRIV_H
#define CABIN_DHCP_PRIV_H

#include "dhcp.h"

/* BOOTP layout (RFC 951, RFC 2131 §2): fixed header, then the magic cookie and options. */
#define BOOTP_CHADDR_OFF 28
#define BOOTP_SNAME_OFF 44
#define BOOTP_SNAME_LEN 64
#define BOOTP_FILE_OFF 108
#define BOOTP_FILE_LEN 128
#define BOOTP_COOKIE_OFF 236
#define DHCP_OPTS_OFF 240
#define DHCP_COOKIE 0x63825363u
#define BOOTP_MIN_LEN 300	/* RFC 1542 §2.1: relays may drop shorter messages */
#define DHCP_OPT_GATHER_MAX 2048 /* one known option's data after RFC 3396 concatenation */

#define DHCP_REQUEST_TRIES 4	/* REQUESTING: sends before falling back to DISCOVER */
#define DHCP_REBOOT_TRIES 2	/* REBOOTING: likewise (servers may stay silent, §4.3.2) */
#define DHCP_BACKOFF_FIRST_MS 4000
#define DHCP_BACKOFF_MAX_MS 64000
#define DHCP_RENEW_MIN_MS 60000	/* RFC 2131 §4.4.5 */

static inline uint32_t dhcp_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint16_t dhcp_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static inline void dhcp_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
static inline void dhcp_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Writes a formatted reason into m->err, points *err (may be NULL) at it, returns code. */
int dhcp_fail(struct dhcp_msg *m, const char **err, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* dhcp_name.c -----------------------------------------------------------------------------
 * Decodes the RFC 1035 name at *pos of d[0..n) (compression pointers allowed, relative to d,
 * each pointing before the last one, so decoding ends). Writes the dotted text to out
 * (DHCP_NAME_MAX + 1 bytes; "" for the root name) and moves *pos past the name as stored
 * there. Returns 1 when the name is usable, 0 when it is well-formed but holds characters
 * outside [A-Za-z0-9_-] (out is then ""), or DHCP_ETRUNC / DHCP_EMALFORMED with a reason
 * written to why (why_len bytes) naming the data byte. */
int dhcp_name_decode(const uint8_t *d, size_t n, size_t *pos, char *out, char *why,
		     size_t why_len);
/* Encodes dotted text as uncompressed RFC 1035 labels into out (cap bytes). Returns the
 * length, or -1 if the name is not valid or does not fit. */
int dhcp_name_encode(const char *name, uint8_t *out, size_t cap);
/* 1 if s is a usable host or domain name: labels of [A-Za-z0-9_-] of 1..63 bytes joined by
 * single dots (one trailing dot allowed), at most DHCP_NAME_MAX bytes in all. */
int dhcp_name_valid(const char *s);

/* dhcp_lease.c ----------------------------------------------------------------------------
 * Checks an OFFER or ACK and derives the lease from it; times count from base_ms. Returns 0
 * or DHCP_EIGNORED with *why (static text) saying what made it unusable. */
int dhcp_lease_build(const struct dhcp_msg *m, uint64_t base_ms, struct dhcp_lease *l,
		     const char **why);
/* 1 if a is a usable unicast host address (not 0/8, 127/8, 224/4 or above). */
int dhcp_addr_usable(uint32_t a);

/* dhcp_out.c ------------------------------------------------------------------------------
 * Appends a SEND action for a message of `type` shaped by c->state (RFC 2131 Table 5) to
 * out. Returns 0, or DHCP_ETOOBIG if it did not fit (cannot happen with valid limits). */
int dhcp_emit(struct dhcp_client *c, uint64_t now_ms, uint8_t type, struct dhcp_actions *out);
/* The next value of the client's PRNG (splitmix64). */
uint64_t dhcp_rand(struct dhcp_client *c);

#endif
