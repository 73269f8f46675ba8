/* Where the node's configuration comes from, decided in a fixed order so that there is
 * no race: a URL on the kernel command line (cabin.config=, ds=nocloud;s=) or in the SMBIOS
 * serial wins; else a config drive or NoCloud seed on a disk once block devices have
 * settled, then on a CD-ROM; else the metadata service, once the network is up
 * (configfetch.c). Problems with a source that was found make the node degraded, never
 * stop it. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../lib/log.h"
#include "cabind.h"
#include "config.h"

#define SETTLE_MAX_MS 3000
#define CDROM_LIST "/lib/modules/cabin-cdrom.list"
#define SMBIOS_SERIAL "/sys/class/dmi/id/product_serial"
#define METADATA_URL "http://169.254.169.254/"

/* Meta data first, user data last: the user's host name wins. */
void config_use(struct cabind *c, const struct cfg_files *f)
{
	static struct node_config cfg;
	struct cfg_diag diag;
	int os = f->openstack;
	node_config_free(&cfg);
	cfg_diag_init(&diag);
	if (f->meta && os)
		meta_parse_openstack(f->meta, f->meta_len, "meta_data.json", &cfg, &diag);
	else if (f->meta)
		meta_parse_nocloud(f->meta, f->meta_len, "meta-data", &cfg, &diag);
	if (f->network && os)
		net_parse_openstack(f->network, f->network_len, "network_data.json", &cfg, &diag);
	else if (f->network)
		net_parse_nocloud(f->network, f->network_len, "network-config", &cfg, &diag);
	if (f->user)
		ud_parse(f->user, f->user_len, os ? "user_data" : "user-data", &cfg, &diag);
	config_apply(c, &cfg, &diag);
	cfg_diag_free(&diag);
	c->config = &cfg;	/* kept for the network and the services that start later */
}

/* The SMBIOS system serial number, where QEMU's -smbios type=1,serial= puts a ds=. */
static void read_smbios_serial(char *out, size_t len)
{
	out[0] = '\0';
	int fd = open(SMBIOS_SERIAL, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, out, len - 1);
	close(fd);
	out[n > 0 ? n : 0] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

/* A URL cabind can fetch: http://, and short enough. Else the node is degraded. */
static int usable_url(struct cabind *c, const char *what, const char *url)
{
	const char *why = NULL;
	if (strlen(url) >= sizeof(c->remote_url))
		why = "URL longer than 1023 bytes";
	else if (strncmp(url, "https://", 8) == 0)
		why = "https:// needs CA certificates, which the appliance does not carry yet; "
		      "use http://";
	else if (strncmp(url, "http://", 7) != 0)
		why = "expected an http:// URL";
	if (!why)
		return 1;
	log_warnx("config: %s%.200s: %s; looking for drives instead", what, url, why);
	if (!c->degraded[0])
		snprintf(c->degraded, sizeof(c->degraded), "%s%.100s: %s", what, url, why);
	return 0;
}

/* A URL named on the kernel command line or in the SMBIOS serial. Returns 1 if one is. */
static int remote_from_cmdline(struct cabind *c)
{
	char val[2048], serial[2048];
	if (cmdline_get(c->cmdline, "cabin.config", val, sizeof(val)) && val[0]) {
		if (!usable_url(c, "cabin.config=", val))
			return 0;
		c->remote = REMOTE_CABIN_CONFIG;
		snprintf(c->remote_url, sizeof(c->remote_url), "%s", val);
		log_info("config: cabin.config=%s on the kernel command line: fetched once the "
			 "network is up; drives not consulted", c->remote_url);
		return 1;
	}
	const char *from = "the kernel command line";
	int have = cmdline_get(c->cmdline, "ds", val, sizeof(val));
	if (!have) {
		read_smbios_serial(serial, sizeof(serial));
		if (strncmp(serial, "ds=", 3) == 0) {
			snprintf(val, sizeof(val), "%s", serial + 3);
			from = "the SMBIOS serial";
			have = 1;
		}
	}
	char url[2048];
	if (!have || !ds_nocloud_url(val, url, sizeof(url)))
		return 0;
	if (url[0] && !usable_url(c, "ds=nocloud;s=", url))
		return 0;
	snprintf(c->remote_url, sizeof(c->remote_url), "%s", url);
	if (!c->remote_url[0]) {
		log_info("config: ds=%s in %s names no seed URL (s=); looking for drives", val,
			 from);
		return 0;
	}
	c->remote = REMOTE_NOCLOUD;
	log_info("config: ds=nocloud seed %s in %s: fetched once the network is up; drives "
		 "not consulted", c->remote_url, from);
	return 1;
}

void config_load(struct cabind *c)
{
	struct cfg_files f;
	if (remote_from_cmdline(c))
		return;
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
		log_info("config: no config drive (config-2) or NoCloud seed (cidata); asking "
			 "the metadata service once the network is up");
		c->remote = REMOTE_METADATA;
		snprintf(c->remote_url, sizeof(c->remote_url), "%s", METADATA_URL);
	} else {
		c->source = f.kind;
		log_info("config: %s on /dev/%s%s%s: meta data %zu bytes, user data %zu bytes, "
			 "network data %zu bytes", f.kind, f.dev, f.version[0] ? ", openstack/" : "",
			 f.version, f.meta_len, f.user_len, f.network_len);
		config_use(c, &f);
	}
	cfgsrc_free(&f);
}
