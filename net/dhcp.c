/* The DHCPv4 client state machine of RFC 2131 §4.4: INIT/SELECTING/REQUESTING/BOUND/
 * RENEWING/REBINDING plus INIT-REBOOT/REBOOTING, driven by received packets, ticks and link
 * events; every call returns its consequences as an ordered batch of actions. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dhcp_priv.h"

static void begin(struct dhcp_client *c, struct dhcp_actions *out)
{
	out->n = 0;
	out->note = NULL;
	c->note[0] = '\0';
}

static int finish(struct dhcp_client *c, struct dhcp_actions *out, int rc)
{
	uint64_t w = c->state == DHCP_STOPPED ? DHCP_NEVER : c->wake_ms;

	if (c->configured && c->lease.expiry_ms < w)
		w = c->lease.expiry_ms;
	out->wake_ms = w;
	out->state = c->state;
	out->note = c->note[0] ? c->note : NULL;
	return rc;
}

static void __attribute__((format(printf, 2, 3))) note(struct dhcp_client *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->note, sizeof(c->note), fmt, ap);
	va_end(ap);
}

static struct dhcp_action *push(struct dhcp_actions *out, enum dhcp_action_kind kind)
{
	if (out->n == DHCP_ACTIONS_MAX) /* not reachable: no path pushes more than two */
		return NULL;
	struct dhcp_action *a = &out->act[out->n++];
	a->kind = kind;
	a->lease = NULL;
	a->address = 0;
	a->prefix_len = 0;
	a->pkt.len = 0;
	return a;
}

static void deconfigure(struct dhcp_client *c, struct dhcp_actions *out)
{
	if (!c->configured)
		return;
	struct dhcp_action *a = push(out, DHCP_ACT_DECONFIGURE);
	if (a) {
		a->address = c->lease.address;
		a->prefix_len = c->lease.prefix_len;
	}
	c->configured = false;
}

/* RFC 2131 §4.1: 4 s, 8 s, ... 64 s, each randomised by a uniform -1..+1 s. */
static uint64_t backoff_ms(struct dhcp_client *c, unsigned tries)
{
	uint64_t base = DHCP_BACKOFF_FIRST_MS;

	for (unsigned i = 1; i < tries && base < DHCP_BACKOFF_MAX_MS; i++)
		base *= 2;
	if (base > DHCP_BACKOFF_MAX_MS)
		base = DHCP_BACKOFF_MAX_MS;
	return base - 1000 + dhcp_rand(c) % 2001;
}

/* RFC 2131 §4.4.5: retry after half the time left before `until`, at least 60 s. */
static uint64_t renew_wake(uint64_t now, uint64_t until)
{
	if (until <= now)
		return until;
	uint64_t half = (until - now) / 2;
	if (half < DHCP_RENEW_MIN_MS)
		half = DHCP_RENEW_MIN_MS;
	return half < until - now ? now + half : until;
}

/* Starts a new exchange in state s: fresh xid, 'secs' counting from now. */
static void enter(struct dhcp_client *c, enum dhcp_state s, uint64_t now)
{
	c->state = s;
	c->xid = (uint32_t)dhcp_rand(c);
	c->tries = 0;
	c->started_ms = now;
	c->request_ms = now;
}

static void send_discover(struct dhcp_client *c, uint64_t now, struct dhcp_actions *out)
{
	if (c->state != DHCP_SELECTING)
		enter(c, DHCP_SELECTING, now);
	c->tries++;
	dhcp_emit(c, now, DHCP_DISCOVER, out);
	c->wake_ms = now + backoff_ms(c, c->tries);
}

static void send_request(struct dhcp_client *c, uint64_t now, struct dhcp_actions *out)
{
	c->tries++;
	dhcp_emit(c, now, DHCP_REQUEST, out);
	if (c->state == DHCP_RENEWING)
		c->wake_ms = renew_wake(now, c->lease.t2_ms);
	else if (c->state == DHCP_REBINDING)
		c->wake_ms = renew_wake(now, c->lease.expiry_ms);
	else
		c->wake_ms = now + backoff_ms(c, c->tries);
}

static void start_reboot(struct dhcp_client *c, uint64_t now, struct dhcp_actions *out)
{
	enter(c, DHCP_REBOOTING, now);
	send_request(c, now, out);
}

/* Back to INIT: DISCOVER after delay_ms, or when the link comes back. */
static void to_init(struct dhcp_client *c, uint64_t now, uint64_t delay_ms)
{
	c->state = DHCP_INIT;
	c->reboot_addr = 0;
	c->tries = 0;
	c->wake_ms = c->link_up ? now + delay_ms : DHCP_NEVER;
}

static void on_timer(struct dhcp_client *c, uint64_t now, struct dhcp_actions *out)
{
	switch (c->state) {
	case DHCP_STOPPED:
		break;
	case DHCP_INIT:
	case DHCP_SELECTING:
		send_discover(c, now, out);
		break;
	case DHCP_INIT_REBOOT:
		start_reboot(c, now, out);
		break;
	case DHCP_REQUESTING:
	case DHCP_REBOOTING:
		if (c->tries >= (c->state == DHCP_REQUESTING ? DHCP_REQUEST_TRIES
							     : DHCP_REBOOT_TRIES)) {
			note(c, "no answer to REQUEST after %u tries: DISCOVER", c->tries);
			to_init(c, now, 0);
			send_discover(c, now, out);
		} else {
			send_request(c, now, out);
		}
		break;
	case DHCP_BOUND:
		enter(c, now >= c->lease.t2_ms ? DHCP_REBINDING : DHCP_RENEWING, now);
		send_request(c, now, out);
		break;
	case DHCP_RENEWING:
		if (now >= c->lease.t2_ms) { /* 'secs' keeps counting from the renewal's start */
			uint64_t started = c->started_ms;
			enter(c, DHCP_REBINDING, now);
			c->started_ms = started;
		}
		send_request(c, now, out);
		break;
	case DHCP_REBINDING:
		send_request(c, now, out);
		break;
	}
}

int dhcp_tick(struct dhcp_client *c, uint64_t now, struct dhcp_actions *out)
{
	begin(c, out);
	if (c->state == DHCP_STOPPED)
		return finish(c, out, 0);
	if (c->configured && now >= c->lease.expiry_ms) {
		note(c, "lease expired");
		deconfigure(c, out);
		if (c->state == DHCP_BOUND || c->state == DHCP_RENEWING ||
		    c->state == DHCP_REBINDING || c->state == DHCP_INIT_REBOOT)
			to_init(c, now, 0);
	}
	if (c->link_up && now >= c->wake_ms)
		on_timer(c, now, out);
	return finish(c, out, 0);
}

static int ignore(struct dhcp_client *c, struct dhcp_actions *out, const char *why)
{
	note(c, "ignored: %s", why);
	return finish(c, out, DHCP_EIGNORED);
}

/* Is this a reply to our current exchange? Returns NULL, or why not. */
static const char *not_ours(const struct dhcp_client *c, const struct dhcp_msg *m)
{
	if (m->op != DHCP_BOOTREPLY)
		return "not a BOOTREPLY";
	if (m->htype != 1 || m->hlen != 6 || memcmp(m->chaddr, c->cfg.mac, 6) != 0)
		return "chaddr is not ours";
	if (m->xid != c->xid)
		return "xid does not match";
	if (!dhcp_has(m, DHCP_OPT_MSG_TYPE))
		return "no message type (a BOOTP reply)";
	return NULL;
}

static int awaiting_reply(enum dhcp_state s)
{
	return s == DHCP_REQUESTING || s == DHCP_REBOOTING || s == DHCP_RENEWING ||
	       s == DHCP_REBINDING;
}

static int on_offer(struct dhcp_client *c, uint64_t now, const struct dhcp_msg *m,
		    struct dhcp_actions *out)
{
	struct dhcp_lease l;
	const char *why;

	if (c->state != DHCP_SELECTING)
		return ignore(c, out, "OFFER while not SELECTING");
	if (dhcp_lease_build(m, now, &l, &why) < 0)
		return ignore(c, out, why);
	c->offer_addr = l.address;
	c->offer_server = l.server_id;
	c->state = DHCP_REQUESTING;
	c->tries = 0;
	c->request_ms = now;
	send_request(c, now, out);
	return finish(c, out, 0);
}

static int on_ack(struct dhcp_client *c, const struct dhcp_msg *m, struct dhcp_actions *out)
{
	struct dhcp_lease l;
	const char *why;

	if (dhcp_lease_build(m, c->request_ms, &l, &why) < 0)
		return ignore(c, out, why);
	if (c->configured &&
	    (c->lease.address != l.address || c->lease.prefix_len != l.prefix_len))
		deconfigure(c, out);
	c->lease = l;
	c->configured = true;
	struct dhcp_action *a = push(out, DHCP_ACT_CONFIGURE);
	if (a)
		a->lease = &c->lease;
	c->state = DHCP_BOUND;
	c->naks = 0;
	c->reboot_addr = 0;
	c->tries = 0;
	c->wake_ms = l.t1_ms;
	return finish(c, out, 0);
}

static int on_nak(struct dhcp_client *c, uint64_t now, const struct dhcp_msg *m,
		  struct dhcp_actions *out)
{
	unsigned shift = c->naks < 6 ? c->naks : 6;

	note(c, "NAK%s%s", m->message[0] ? ": " : "", m->message);
	deconfigure(c, out);
	c->naks++;
	to_init(c, now, 1000ull << shift); /* 1 s, 2 s, ... 64 s while NAKs repeat */
	return finish(c, out, 0);
}

int dhcp_input(struct dhcp_client *c, uint64_t now, const uint8_t *buf, size_t len,
	       struct dhcp_actions *out)
{
	const struct dhcp_msg *m = &c->in;
	const char *err, *why;

	begin(c, out);
	if (c->state == DHCP_STOPPED || !c->link_up)
		return ignore(c, out, "client stopped or link down");
	int rc = dhcp_decode(buf, len, &c->in, &err);
	if (rc < 0) {
		note(c, "malformed: %s", err);
		return finish(c, out, rc);
	}
	if ((why = not_ours(c, m)))
		return ignore(c, out, why);
	if (m->type == DHCP_OFFER)
		return on_offer(c, now, m, out);
	if ((m->type != DHCP_ACK && m->type != DHCP_NAK) || !awaiting_reply(c->state))
		return ignore(c, out, "message type not expected in this state");
	if (c->state == DHCP_REQUESTING && dhcp_has(m, DHCP_OPT_SERVER_ID) &&
	    m->server_id != c->offer_server)
		return ignore(c, out, "reply from a server we did not choose");
	return m->type == DHCP_ACK ? on_ack(c, m, out) : on_nak(c, now, m, out);
}

int dhcp_link(struct dhcp_client *c, uint64_t now, bool up, struct dhcp_actions *out)
{
	begin(c, out);
	if (up == c->link_up)
		return finish(c, out, 0); /* netlink repeats itself; only changes count */
	c->link_up = up;
	if (c->state == DHCP_STOPPED)
		return finish(c, out, 0);
	if (!up) {
		if (c->configured)
			c->reboot_addr = c->lease.address;
		c->state = c->reboot_addr ? DHCP_INIT_REBOOT : DHCP_INIT;
		c->wake_ms = DHCP_NEVER;
		return finish(c, out, 0);
	}
	c->naks = 0;
	if (c->state == DHCP_INIT_REBOOT)
		start_reboot(c, now, out);
	else
		send_discover(c, now, out);
	return finish(c, out, 0);
}

int dhcp_start(struct dhcp_client *c, uint64_t now, const struct dhcp_lease *prev,
	       struct dhcp_actions *out)
{
	begin(c, out);
	if (c->state != DHCP_STOPPED)
		return finish(c, out, DHCP_ESTATE);
	c->naks = 0;
	c->reboot_addr = prev && dhcp_addr_usable(prev->address) ? prev->address : 0;
	c->state = c->reboot_addr ? DHCP_INIT_REBOOT : DHCP_INIT;
	c->wake_ms = DHCP_NEVER;
	if (c->link_up)
		on_timer(c, now, out);
	return finish(c, out, 0);
}

int dhcp_stop(struct dhcp_client *c, uint64_t now, struct dhcp_actions *out)
{
	begin(c, out);
	if (c->configured && c->link_up) {
		c->xid = (uint32_t)dhcp_rand(c);
		dhcp_emit(c, now, DHCP_RELEASE, out);
	}
	deconfigure(c, out);
	c->state = DHCP_STOPPED;
	c->reboot_addr = 0;
	c->wake_ms = DHCP_NEVER;
	return finish(c, out, 0);
}

const struct dhcp_lease *dhcp_current_lease(const struct dhcp_client *c)
{
	return c->configured ? &c->lease : NULL;
}

int dhcp_init(struct dhcp_client *c, const struct dhcp_config *cfg)
{
	size_t hl = cfg->hostname ? strlen(cfg->hostname) : 0;

	if (hl > DHCP_HOSTNAME_MAX || (hl && !dhcp_name_valid(cfg->hostname)))
		return DHCP_EARG;
	if (cfg->client_id && (cfg->client_id_len < 2 || cfg->client_id_len > DHCP_CLIENT_ID_MAX))
		return DHCP_EARG;
	if (cfg->max_size && cfg->max_size < DHCP_PKT_CAP)
		return DHCP_EARG;
	memset(c, 0, sizeof(*c));
	c->cfg = *cfg;
	c->cfg.hostname = NULL;
	c->cfg.client_id = NULL;
	memcpy(c->hostname, cfg->hostname ? cfg->hostname : "", hl + 1);
	if (cfg->client_id) {
		memcpy(c->client_id, cfg->client_id, cfg->client_id_len);
	} else {
		c->client_id[0] = 1; /* hardware type Ethernet, then the MAC (RFC 2132 §9.14) */
		memcpy(c->client_id + 1, cfg->mac, 6);
		c->cfg.client_id_len = 7;
	}
	c->rng = cfg->seed;
	c->link_up = true;
	c->state = DHCP_STOPPED;
	c->wake_ms = DHCP_NEVER;
	return 0;
}
