/* Where the node's configuration comes from, decided in a fixed order so that there is
 * no race: a config drive or NoCloud seed on a disk once block devices have settled, then
 * on a CD-ROM; else nothing (the metadata service and cabin.config= come later). Problems with a source that was
 * found make the node degraded, never stop it. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../lib/log.h"
#include "cabind.h"

#define SETTLE_MAX_MS 3000
#define CDROM_LIST "/lib/modules/cabin-cdrom.list"

void config_load(struct cabind *c)
{
	struct cfg_files f;
	int rc = cfgsrc_read_drive(&f, SETTLE_MAX_MS);
	/* CD-ROM drivers are costly to probe: only when the virtio disks had nothing */
	if (rc == 0 && access(CDROM_LIST, R_OK) == 0) {
		log_info("config: nothing on the disks; looking at CD-ROM drives");
		modules_load_list(CDROM_LIST);
		rc = cfgsrc_read_drive(&f, SETTLE_MAX_MS);
	}
	if (rc < 0) {
		log_warnx("config: %s", f.error);
		snprintf(c->degraded, sizeof(c->degraded), "%s", f.error);
	} else if (rc == 0) {
		log_info("config: no config drive (config-2) or NoCloud seed (cidata) found");
	} else {
		c->source = f.kind;
		log_info("config: %s on /dev/%s%s%s: meta data %zu bytes, user data %zu bytes, "
			 "network data %zu bytes", f.kind, f.dev, f.version[0] ? ", openstack/" : "",
			 f.version, f.meta_len, f.user_len, f.network_len);
	}
	cfgsrc_free(&f);
}
