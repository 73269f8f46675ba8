/* The end of boot: the ready (or degraded) line, then what starts once the node is ready:
 * the after-ready modules, and the panic drill when the command line asks for one. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../lib/log.h"
#include "cabind.h"

#define MODULE_LIST_LATE "/lib/modules/cabin-late.list"

void boot_finish(struct cabind *c)
{
	char val[32];
	int rc;
	if (c->ready)
		return;
	c->ready = 1;
	ready_announce(c);
	if (c->pid1 && access(MODULE_LIST_LATE, R_OK) == 0 &&
	    (rc = modules_load_background(MODULE_LIST_LATE)) < 0)
		log_warnx("modules: cannot start after-ready loading: %s", strerror(-rc));
	if (c->pid1 && cmdline_get(c->cmdline, "cabin.debug", val, sizeof(val)) &&
	    strcmp(val, "panic") == 0)
		cabind_panic(c, "cabin.debug=panic on the kernel command line");
}
