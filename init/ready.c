/* The one machine-readable line tests and users wait for on the console. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../lib/log.h"
#include "cabind.h"

/* Appends the node's non-loopback addresses, comma separated, or "none". */
static void ready_addrs(char *out, size_t outlen)
{
	struct ifaddrs *ifs, *i;
	size_t len = 0;
	out[0] = '\0';
	if (getifaddrs(&ifs) == 0) {
		for (i = ifs; i; i = i->ifa_next) {
			if (!i->ifa_addr || (i->ifa_flags & IFF_LOOPBACK))
				continue;
			int fam = i->ifa_addr->sa_family;
			const void *a;
			if (fam == AF_INET)
				a = &((struct sockaddr_in *)i->ifa_addr)->sin_addr;
			else if (fam == AF_INET6)
				a = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
			else
				continue;
			/* link-local IPv6 reaches no one beyond the link: not worth listing */
			if (fam == AF_INET6 && IN6_IS_ADDR_LINKLOCAL((const struct in6_addr *)a))
				continue;
			char txt[INET6_ADDRSTRLEN];
			if (!inet_ntop(fam, a, txt, sizeof(txt)))
				continue;
			size_t need = strlen(txt) + (len ? 1 : 0);
			if (len + need + 1 > outlen)
				break;
			if (len)
				out[len++] = ',';
			memcpy(out + len, txt, strlen(txt) + 1);
			len += strlen(txt);
		}
		freeifaddrs(ifs);
	}
	if (len == 0)
		snprintf(out, outlen, "none");
}

void ready_announce(struct cabind *c)
{
	/* As PID 1, time since the kernel started; as a daemon, since the process did. */
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	unsigned long long boot_ms = (unsigned long long)ts.tv_sec * 1000u +
				     (unsigned long long)ts.tv_nsec / 1000000u;
	if (!c->pid1)
		boot_ms = ev_now_ms() - c->start_ms;
	char addrs[512];
	ready_addrs(addrs, sizeof(addrs));
	if (c->degraded[0])
		log_raw("degraded reason=\"%s\" version=%s hostname=%s source=%s addrs=%s "
			"boot_ms=%llu", c->degraded, cabin_version, c->hostname, c->source, addrs,
			boot_ms);
	else
		log_raw("ready version=%s hostname=%s source=%s addrs=%s boot_ms=%llu",
			cabin_version, c->hostname, c->source, addrs, boot_ms);
}
