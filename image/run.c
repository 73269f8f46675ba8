/* Running the external tools of an image build (mformat, syslinux, mke2fs, zstd) with a
 * controlled environment, keeping their complaints for the error message. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "build.h"
#include "img_priv.h"

extern char **environ;

/* Child side: redirect, extend the environment, exec. */
static void run_child(char *const argv[], char *const env[], int out_fd, int err_fd)
{
	int null = open("/dev/null", O_RDWR);
	dup2(null, 0);
	dup2(out_fd >= 0 ? out_fd : null, 1);
	dup2(err_fd, 2);
	for (size_t i = 0; env && env[i]; i++)
		putenv(env[i]);
	execvp(argv[0], argv);
	fprintf(stderr, "cannot run %s: %s", argv[0], strerror(errno));
	_exit(127);
}

int img_run(char *const argv[], char *const env[], int out_fd, struct img_err *err)
{
	char errbuf[4096];
	FILE *cap = tmpfile();
	if (!cap)
		return img_fail(err, -errno, "tmpfile: %s", strerror(errno));
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		fclose(cap);
		return img_fail(err, -e, "fork: %s", strerror(e));
	}
	if (pid == 0)
		run_child(argv, env, out_fd, fileno(cap));
	int status = 0;
	pid_t w;
	while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (w < 0) {
		int e = errno;
		fclose(cap);
		return img_fail(err, -e, "waiting for %s: %s", argv[0], strerror(e));
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		fclose(cap);
		return 0;
	}
	rewind(cap);
	size_t n = fread(errbuf, 1, sizeof(errbuf) - 1, cap);
	fclose(cap);
	errbuf[n] = '\0';
	while (n > 0 && (errbuf[n - 1] == '\n' || errbuf[n - 1] == ' '))
		errbuf[--n] = '\0';
	for (char *p = errbuf; *p; p++)
		if (*p == '\n')
			*p = ' ';
	return img_fail(err, IMG_EIO, "%s failed (%s %d): %s", argv[0],
			WIFEXITED(status) ? "exit" : "signal",
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
			n ? errbuf : "no message");
}
