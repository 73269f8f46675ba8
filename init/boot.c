/* The end of boot: the ready (or degraded) line, then what starts once the node is ready:
 * the after-ready modules, and the panic drill when the command line asks for one. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../lib/log.h"
#include "cabind.h"
#include "config.h"

#define MODULE_LIST_LATE "/lib/modules/cabin-late.list"

/* /etc/hosts naming this node, as cloud-init's manage_etc_hosts does: the host name
 * resolves without DNS, to a loopback address that no interface change can take away. */
static void write_hosts(const struct cabind *c)
{
	const char *fqdn = c->config && c->config->fqdn[0] ? c->config->fqdn : "";
	FILE *f = fopen("/etc/hosts.tmp", "we");
	if (!f)
		return;
	fprintf(f, "# written by cabind\n127.0.0.1 localhost\n::1 localhost ip6-localhost "
		   "ip6-loopback\n127.0.1.1 %s%s%s\n", fqdn, fqdn[0] ? " " : "", c->hostname);
	if (fclose(f) != 0 || rename("/etc/hosts.tmp", "/etc/hosts") != 0)
		log_warn("init: /etc/hosts");
}

void boot_finish(struct cabind *c)
{
	char val[32];
	int rc;
	if (c->ready)
		return;
	c->ready = 1;
	if (c->pid1)
		write_hosts(c);
	ready_announce(c);
	if (c->pid1 && access(MODULE_LIST_LATE, R_OK) == 0 &&
	    (rc = modules_load_background(MODULE_LIST_LATE)) < 0)
		log_warnx("modules: cannot start after-ready loading: %s", strerror(-rc));
	if (c->pid1 && cmdline_get(c->cmdline, "cabin.debug", val, sizeof(val)) &&
	    strcmp(val, "panic") == 0)
		cabind_panic(c, "cabin.debug=panic on the kernel command line");
}
