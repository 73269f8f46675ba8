/* Finding filesystems by label on the node's block devices (config drives, NoCloud seeds,
 * the data partition). Devices appear as drivers probe them, so a search waits, bounded,
 * until the set of devices has stopped changing. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../lib/log.h"
#include "cabind.h"

#define SETTLE_QUIET_MS 200	/* no new device for this long: settled */

/* Probes /dev/<name>; returns 0 with p filled, or a negative code (no medium, unknown). */
static int blk_probe_dev(const char *name, struct fs_probe *p)
{
	static uint8_t buf[FS_PROBE_BYTES];
	char path[300];
	snprintf(path, sizeof(path), "/dev/%s", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	if (n < 0)
		return -errno;
	return fs_probe(buf, (size_t)n, p);
}

static int blk_skip(const char *name)
{
	return name[0] == '.' || strncmp(name, "loop", 4) == 0 || strncmp(name, "ram", 3) == 0 ||
	       strncmp(name, "zram", 4) == 0;
}

/* One pass over /sys/class/block: counts devices into *count and looks for the labels. */
static int blk_scan(const char *const *labels, struct blk_found *found, int *count)
{
	DIR *d = opendir("/sys/class/block");
	if (!d)
		return -errno;
	struct dirent *de;
	int hit = 0;
	*count = 0;
	while ((de = readdir(d)) != NULL) {
		if (blk_skip(de->d_name) || strlen(de->d_name) >= sizeof(found->dev))
			continue;
		(*count)++;
		struct fs_probe p;
		if (hit || blk_probe_dev(de->d_name, &p) < 0)
			continue;
		for (const char *const *l = labels; *l && !hit; l++) {
			if (!fs_label_is(&p, *l))
				continue;
			snprintf(found->dev, sizeof(found->dev), "%s", de->d_name);
			found->probe = p;
			hit = 1;
		}
	}
	closedir(d);
	return hit;
}

int blk_find_label(const char *const *labels, unsigned max_wait_ms, struct blk_found *found)
{
	uint64_t start = ev_now_ms(), last_change = start;
	int last_count = -1;
	for (;;) {
		int count, rc = blk_scan(labels, found, &count);
		if (rc != 0 || max_wait_ms == 0)
			return rc;
		uint64_t now = ev_now_ms();
		if (count != last_count) {
			last_count = count;
			last_change = now;
		}
		if (now - last_change >= SETTLE_QUIET_MS) {
			log_debug("blockdev: %d devices settled after %llu ms", count,
				  (unsigned long long)(now - start));
			return 0;
		}
		if (now - start >= max_wait_ms) {
			log_warnx("blockdev: devices still appearing after %u ms; searching no "
				  "longer", max_wait_ms);
			return 0;
		}
		poll(NULL, 0, 25);
	}
}
