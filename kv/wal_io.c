/* The small file helpers of the log shells: see wal_io.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wal_io.h"

/* ---- small file helpers ------------------------------------------------------------------ */

int wal_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int wal_write_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

/* Writes zeros at [from, to) of fd, as far as it can: returns where they end. */
uint64_t wal_write_zeros(int fd, uint64_t from, uint64_t to)
{
	static uint8_t zeros[64 << 10];	/* bss: never written, no bytes in the binary */

	while (from < to) {
		size_t n = to - from < sizeof(zeros) ? (size_t)(to - from) : sizeof(zeros);
		ssize_t w = pwrite(fd, zeros, n, (off_t)from);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		from += (uint64_t)w;
	}
	return from;
}

/* Maps a file read-only (an empty one as an empty buffer). Returns 0 or -errno. */
int wal_map_file(const char *path, const uint8_t **p, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
	void *m;

	if (fd < 0)
		return -errno;
	*p = (const uint8_t *)"";
	*len = 0;
	if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (st.st_size > 0) {
		m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m == MAP_FAILED)
			rc = -errno;
		else {
			*p = m;
			*len = (size_t)st.st_size;
		}
	}
	close(fd);
	return rc;
}

void wal_unmap_file(const uint8_t *p, size_t len)
{
	if (len)
		munmap((void *)p, len);
}


/* "SSSSSSSSSSSSSSSS-RRRRRRRRRRRRRRRR<suffix>" in lower-case hex. Returns 0 or -1. */
int wal_parse_name(const char *name, const char *suffix, struct wal_name *out)
{
	size_t sl = strlen(suffix);

	if (strlen(name) != 33 + sl || name[16] != '-' || strcmp(name + 33, suffix) != 0)
		return -1;
	for (int i = 0; i < 33; i++)
		if (i != 16 && !((name[i] >= '0' && name[i] <= '9') ||
				 (name[i] >= 'a' && name[i] <= 'f')))
			return -1;
	out->seq = strtoull(name, NULL, 16);
	out->rev = (int64_t)strtoull(name + 17, NULL, 16);
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	const struct wal_name *x = a, *y = b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The files of dir named as suffix wants, in number order; leftover temporary files
 * (".tmp": a write that never finished) are removed on the way. Returns the count, or
 * -errno. *out is the caller's to free. */
long wal_list_dir(const char *dir, const char *suffix, struct wal_name **out)
{
	DIR *d = opendir(dir);
	struct wal_name *v = NULL, *nv;
	size_t n = 0, cap = 0;
	struct dirent *e;

	*out = NULL;
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		struct wal_name nm;
		if (len > 4 && strcmp(e->d_name + len - 4, ".tmp") == 0) {
			unlinkat(dirfd(d), e->d_name, 0);
			continue;
		}
		if (wal_parse_name(e->d_name, suffix, &nm))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = nm;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), name_cmp);
	*out = v;
	return (long)n;
}

