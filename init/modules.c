/* Kernel modules for the appliance: the image carries a list of .ko paths already in
 * dependency order (computed by `cabin build` from modules.dep), loaded one by one. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
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
	uint64_t t0 = ev_now_ms();
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		uint64_t t = ev_now_ms();
		int rc = module_load(line);
		log_debug("modules: %s: %llu ms", line, (unsigned long long)(ev_now_ms() - t));
		if (rc < 0) {
			log_warnx("modules: %s (%s:%d): %s", line, list_path, lineno,
				  strerror(-rc));
			failed++;
		} else {
			loaded++;
		}
	}
	fclose(f);
	log_info("modules: %d loaded, %d failed (%llu ms)", loaded, failed,
		 (unsigned long long)(ev_now_ms() - t0));
	return failed;
}

pid_t modules_load_background(const char *list_path)
{
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		_exit(modules_load_list(list_path) ? 1 : 0);
	}
	return pid < 0 ? -errno : pid;
}
