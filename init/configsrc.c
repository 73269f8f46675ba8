/* Configuration sources on block devices: the OpenStack config drive (label config-2:
 * openstack/<version>/meta_data.json, user_data, network_data.json) and the NoCloud seed
 * (label cidata: meta-data, user-data, network-config). The drive is mounted read-only,
 * its files read into memory (bounded) and the drive unmounted again. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/log.h"
#include "cabind.h"

#define SRC_MNT "/run/cabin/source"
#define SRC_MAX_FILE (16u << 20)

/* Reads path whole (at most SRC_MAX_FILE bytes) into a NUL-terminated heap buffer.
 * Returns 1 if read, 0 if the file does not exist, or a negative errno (-EFBIG if too
 * large). */
static int read_bounded(const char *path, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	if (st.st_size > (off_t)SRC_MAX_FILE) {
		close(fd);
		return -EFBIG;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	size_t n = 0;
	ssize_t k = 0;
	while (buf && n < (size_t)st.st_size &&
	       (k = read(fd, buf + n, (size_t)st.st_size - n)) > 0)
		n += (size_t)k;
	int e = k < 0 ? errno : 0;
	close(fd);
	if (!buf)
		return -ENOMEM;
	if (e) {
		free(buf);
		return -e;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 1;
}

/* The newest openstack/<version> directory: "latest" if present, else the greatest
 * dated name (YYYY-MM-DD sorts as text). */
static int pick_version(char *out, size_t len)
{
	if (access(SRC_MNT "/openstack/latest", F_OK) == 0) {
		snprintf(out, len, "latest");
		return 0;
	}
	DIR *d = opendir(SRC_MNT "/openstack");
	if (!d)
		return -ENOENT;
	struct dirent *de;
	out[0] = '\0';
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		if (strlen(n) == 10 && n[4] == '-' && n[7] == '-' && strcmp(n, out) > 0 &&
		    strlen(n) < len)
			memcpy(out, n, 11);
	}
	closedir(d);
	return out[0] ? 0 : -ENOENT;
}

struct src_file {
	const char *name;	/* relative to the version directory or the seed root */
	char **buf;
	size_t *len;
};

static int read_files(const char *dir, const struct src_file *files, size_t n,
		      struct cfg_files *out)
{
	for (size_t i = 0; i < n; i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
		int rc = read_bounded(path, files[i].buf, files[i].len);
		if (rc < 0) {
			snprintf(out->error, sizeof(out->error), "%s on /dev/%s: %s",
				 files[i].name, out->dev, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

static int read_config_drive(struct cfg_files *out)
{
	char ver[32], dir[128];
	if (pick_version(ver, sizeof(ver)) < 0) {
		snprintf(out->error, sizeof(out->error), "config drive /dev/%s has no "
			 "openstack/latest or dated version directory", out->dev);
		return -ENOENT;
	}
	snprintf(out->version, sizeof(out->version), "%s", ver);
	snprintf(dir, sizeof(dir), SRC_MNT "/openstack/%s", ver);
	const struct src_file files[] = {
		{ "meta_data.json", &out->meta, &out->meta_len },
		{ "user_data", &out->user, &out->user_len },
		{ "network_data.json", &out->network, &out->network_len },
	};
	return read_files(dir, files, 3, out);
}

static int read_nocloud(struct cfg_files *out)
{
	const struct src_file files[] = {
		{ "meta-data", &out->meta, &out->meta_len },
		{ "user-data", &out->user, &out->user_len },
		{ "network-config", &out->network, &out->network_len },
	};
	return read_files(SRC_MNT, files, 3, out);
}

int cfgsrc_read_drive(struct cfg_files *out, unsigned max_wait_ms)
{
	static const char *const labels[] = { "config-2", "cidata", NULL };
	struct blk_found found;
	memset(out, 0, sizeof(*out));
	int rc = blk_find_label(labels, max_wait_ms, &found);
	if (rc <= 0)
		return rc;
	snprintf(out->dev, sizeof(out->dev), "%s", found.dev);
	out->kind = fs_label_is(&found.probe, "config-2") ? "config-drive" : "nocloud";
	out->openstack = strcmp(out->kind, "config-drive") == 0;
	char dev[80];
	snprintf(dev, sizeof(dev), "/dev/%s", found.dev);
	mkdir("/run/cabin", 0755);
	mkdir(SRC_MNT, 0755);
	if (mount(dev, SRC_MNT, fs_type_name(found.probe.type),
		  MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		rc = -errno;
		snprintf(out->error, sizeof(out->error), "%s %s (label %s): mount %s: %s",
			 out->kind, dev, found.probe.label, fs_type_name(found.probe.type),
			 strerror(-rc));
		return rc;
	}
	rc = strcmp(out->kind, "config-drive") == 0 ? read_config_drive(out) : read_nocloud(out);
	if (umount(SRC_MNT) < 0)
		log_warn("config: umount %s", SRC_MNT);
	return rc < 0 ? rc : 1;
}

void cfgsrc_free(struct cfg_files *f)
{
	free(f->meta);
	free(f->user);
	free(f->network);
	f->meta = f->user = f->network = NULL;
}
