/* Acting on the node's configuration once parsed: the host name, and write_files (the
 * cloud-init key that makes sense without a shell); resolv.conf is the network's. Every diagnostic of the parsers is
 * logged once; the first error makes the node degraded. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/fsutil.h"
#include "../lib/log.h"
#include "cabind.h"
#include "config.h"

static void log_diag(const struct cfg_diag *d)
{
	char line[512];
	for (size_t i = 0; i < d->n; i++) {
		cfg_msg_format(&d->msg[i], line, sizeof(line));
		if (d->msg[i].severity == CFG_ERROR)
			log_warnx("config: %s", line);
		else
			log_info("config: %s", line);
	}
	if (d->dropped)
		log_info("config: %zu more messages not shown", d->dropped);
}

static int write_one(const struct cfg_file *f)
{
	int rc = fs_mkdirs(f->path, 0);
	if (rc < 0)
		return rc;
	int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (f->append ? O_APPEND : O_TRUNC);
	int fd = open(f->path, flags, f->mode & 07777);
	if (fd < 0)
		return -errno;
	size_t done = 0;
	while (done < f->len) {
		ssize_t w = write(fd, f->content + done, f->len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = -errno;
			break;
		}
		done += (size_t)w;
	}
	if (rc == 0 && !f->append && fchmod(fd, f->mode & 07777) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

static void apply_hostname(struct cabind *c, const struct node_config *cfg)
{
	char name[65] = "";
	if (cfg->hostname[0])
		snprintf(name, sizeof(name), "%s", cfg->hostname);
	else if (cfg->fqdn[0])
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(cfg->fqdn, "."), cfg->fqdn);
	if (!name[0] || !hostname_valid(name))
		return;
	memcpy(c->hostname, name, strlen(name) + 1);
	if (sethostname(name, strlen(name)) < 0)
		log_warn("config: sethostname %s", name);
}

/* Keys that parse but that the appliance has nothing to act on yet: said once, plainly. */
static void note_unapplied(const struct node_config *cfg)
{
	if (cfg->ntp.servers.n || cfg->ntp.pools.n || cfg->ntp.enabled == 1)
		log_info("config: ntp: not applied: cabin has no NTP client; the clock is the "
			 "hypervisor's (kvm-clock)");
	if (cfg->timezone[0])
		log_info("config: timezone %s: not applied: the appliance has no zone data and "
			 "keeps UTC", cfg->timezone);
}

void config_apply(struct cabind *c, struct node_config *cfg, struct cfg_diag *diag)
{
	log_diag(diag);
	const struct cfg_msg *err = cfg_diag_first_error(diag);
	if (err && !c->degraded[0])
		cfg_msg_format(err, c->degraded, sizeof(c->degraded));
	if (err)
		c->config_error = 1;
	apply_hostname(c, cfg);
	note_unapplied(cfg);
	for (size_t i = 0; i < cfg->n_files; i++) {
		int rc = write_one(&cfg->files[i]);
		if (rc < 0)
			log_warnx("config: write_files %s: %s", cfg->files[i].path, strerror(-rc));
		else
			log_info("config: wrote %s (%zu bytes, mode %04o%s)", cfg->files[i].path,
				 cfg->files[i].len, cfg->files[i].mode, cfg->files[i].append ?
				 ", appended" : "");
	}
}
