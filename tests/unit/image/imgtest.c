/* Scratch directories, shell commands and file helpers for the image unit tests. */
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "imgtest.h"

char *tu_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *path;

	if (!base || !*base)
		base = "/tmp";
	if (asprintf(&path, "%s/cabin-img-XXXXXX", base) < 0 || !mkdtemp(path)) {
		perror("tu_tmpdir");
		exit(2);
	}
	return path;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void tu_rmrf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void add_sbin(void)
{
	const char *path = getenv("PATH");
	char *np;

	if (path && strstr(path, "/usr/sbin"))
		return;
	if (asprintf(&np, "%s:/usr/sbin:/sbin", path ? path : "/usr/bin:/bin") < 0)
		return;
	setenv("PATH", np, 1);
	free(np);
}

int tu_have(const char *tool)
{
	add_sbin();
	return tu_sh("command -v '%s' >/dev/null 2>&1", tool) == 0;
}

static char *vformat(const char *fmt, va_list ap)
{
	char *cmd;

	if (vasprintf(&cmd, fmt, ap) < 0)
		return NULL;
	return cmd;
}

int tu_sh(const char *fmt, ...)
{
	va_list ap;
	char *cmd;
	int st;

	va_start(ap, fmt);
	cmd = vformat(fmt, ap);
	va_end(ap);
	if (!cmd)
		return -1;
	st = system(cmd);
	free(cmd);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(FILE *f, size_t *out_len)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	char chunk[4096];
	size_t n;

	if (!mem)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, mem);
	if (fclose(mem) != 0)
		return NULL;
	if (out_len)
		*out_len = len;
	return buf;
}

char *tu_sh_out(const char *fmt, ...)
{
	va_list ap;
	char *cmd, *out;
	FILE *p;

	va_start(ap, fmt);
	cmd = vformat(fmt, ap);
	va_end(ap);
	if (!cmd)
		return NULL;
	p = popen(cmd, "r");
	free(cmd);
	if (!p)
		return NULL;
	out = slurp(p, NULL);
	if (pclose(p) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

char *tu_join(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		exit(2);
	return p;
}

int tu_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (!f)
		return -1;
	ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok ? 0 : -1;
}

uint8_t *tu_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;

	if (!f)
		return NULL;
	buf = (uint8_t *)slurp(f, len);
	fclose(f);
	return buf;
}

/* Offset after at where fd switches between data and hole (size if never). */
static off_t next_change(int fd, off_t at, off_t size)
{
	off_t d = lseek(fd, at, SEEK_DATA), h;

	if (d < 0)
		return size;
	if (d > at)
		return d;
	h = lseek(fd, at, SEEK_HOLE);
	return h < 0 ? size : h;
}

static int same_range(int fa, int fb, off_t off, off_t end)
{
	static char ba[1 << 16], bb[1 << 16];

	while (off < end) {
		size_t n = end - off < (off_t)sizeof(ba) ? (size_t)(end - off) : sizeof(ba);

		if (pread(fa, ba, n, off) != (ssize_t)n || pread(fb, bb, n, off) != (ssize_t)n ||
		    memcmp(ba, bb, n) != 0)
			return 0;
		off += (off_t)n;
	}
	return 1;
}

static int same_fds(int fa, int fb)
{
	struct stat sa, sb;
	off_t off = 0;

	if (fstat(fa, &sa) < 0 || fstat(fb, &sb) < 0 || sa.st_size != sb.st_size)
		return 0;
	while (off < sa.st_size) {
		off_t ea = next_change(fa, off, sa.st_size), eb = next_change(fb, off, sa.st_size);
		off_t end = ea < eb ? ea : eb;
		int data = lseek(fa, off, SEEK_DATA) == off || lseek(fb, off, SEEK_DATA) == off;

		if (data && !same_range(fa, fb, off, end))
			return 0;
		off = end;
	}
	return 1;
}

int tu_same_file(const char *a, const char *b)
{
	int fa = open(a, O_RDONLY), fb = open(b, O_RDONLY), same = 0;

	if (fa >= 0 && fb >= 0)
		same = same_fds(fa, fb);
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return same;
}
