/* Kernel modules for the appliance: the image carries a list of .ko paths already in
 * dependency order (computed by `cabin build` from modules.dep), loaded one by one. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../lib/log.h"
#include "cabind.h"

static int module_load(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = (int)syscall(SYS_finit_module, fd, "", 0);
	int e = errno;
	close(fd);
	if (rc < 0 && e != EEXIST)
		return -e;
	return 0;
}

int modules_load_list(const char *list_path)
{
	FILE *f = fopen(list_path, "re");
	if (!f) {
		log_warn("modules: %s", list_path);
		return 1;
	}
	char line[512];
	int failed = 0, loaded = 0, lineno = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		int rc = module_load(line);
		if (rc < 0) {
			log_warnx("modules: %s (%s:%d): %s", line, list_path, lineno,
				  strerror(-rc));
			failed++;
		} else {
			loaded++;
		}
	}
	fclose(f);
	log_info("modules: %d loaded, %d failed", loaded, failed);
	return failed;
}
