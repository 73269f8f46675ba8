/* Where the node's configuration comes from, decided in a fixed order so that there is
 * no race: a config drive or NoCloud seed on a disk once block devices have settled, then
 * on a CD-ROM; else nothing (the metadata service and cabin.config= come later). Problems with a source that was
 * found make the node degraded, never stop it. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../lib/log.h"
#include "cabind.h"
#include "config.h"

#define SETTLE_MAX_MS 3000
#define CDROM_LIST "/lib/modules/cabin-cdrom.list"

/* Meta data first, user data last: the user's host name wins. */
static void config_parse(struct cabind *c, const struct cfg_files *f)
{
	static struct node_config cfg;
	struct cfg_diag diag;
	int drive = strcmp(f->kind, "config-drive") == 0;
	node_config_init(&cfg);
	cfg_diag_init(&diag);
	if (f->meta && drive)
		meta_parse_openstack(f->meta, f->meta_len, "meta_data.json", &cfg, &diag);
	else if (f->meta)
		meta_parse_nocloud(f->meta, f->meta_len, "meta-data", &cfg, &diag);
	if (f->user)
		ud_parse(f->user, f->user_len, drive ? "user_data" : "user-data", &cfg, &diag);
	config_apply(c, &cfg, &diag);
	cfg_diag_free(&diag);
	c->config = &cfg;	/* kept for the services that start later */
}

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
		config_parse(c, &f);
	}
	cfgsrc_free(&f);
}
