/* cpio "newc" archive writer for the initramfs: entries are collected in any order and
 * written sorted by path with fixed owners, inode numbers and mtime, so the archive's bytes
 * depend only on the entries and never on the build machine or the order they were added. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "img_priv.h"

#define CPIO_HDR 110
#define CPIO_PATH_MAX 4096
#define CPIO_BUF (1 << 16)

struct cpio_entry {
	char *path;
	uint32_t mode;     /* type | perm */
	char *src;         /* regular file streamed from this path at write time */
	uint8_t *data;     /* file contents from memory, or symlink target */
	size_t len;
	uint32_t rmajor, rminor;
};

struct img_cpio {
	uint32_t mtime;
	struct cpio_entry *e;
	size_t n, cap;
};

/* Buffered sequential output so each header is not its own write(2). */
struct cpio_out {
	int fd;
	size_t used;
	uint64_t total;
	uint8_t buf[CPIO_BUF];
};

struct img_cpio *img_cpio_new(uint32_t mtime)
{
	struct img_cpio *c = calloc(1, sizeof(*c));

	if (c)
		c->mtime = mtime;
	return c;
}

void img_cpio_free(struct img_cpio *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->e[i].path);
		free(c->e[i].src);
		free(c->e[i].data);
	}
	free(c->e);
	free(c);
}

/* Relative, non-empty components, none "." or "..", no leading/trailing/double '/'. */
static bool valid_path(const char *p)
{
	size_t len = strlen(p);

	if (len == 0 || len >= CPIO_PATH_MAX)
		return false;
	for (const char *s = p;;) {
		size_t n = strcspn(s, "/");

		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		if (s[n] == '\0')
			return true;
		s += n + 1;
	}
}

/* Appends an entry owning copies of path, src and data; on failure nothing changes. */
static int add(struct img_cpio *c, const char *path, uint32_t mode, const char *src,
	       const void *data, size_t len)
{
	struct cpio_entry e = {.mode = mode, .len = len};

	if (!valid_path(path))
		return IMG_EPATH;
	if (len > UINT32_MAX)
		return IMG_ERANGE;
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		struct cpio_entry *ne = realloc(c->e, cap * sizeof(*ne));

		if (!ne)
			return -ENOMEM;
		c->e = ne;
		c->cap = cap;
	}
	e.path = strdup(path);
	e.src = src ? strdup(src) : NULL;
	e.data = len ? malloc(len) : NULL;
	if (!e.path || (src && !e.src) || (len && !e.data)) {
		free(e.path);
		free(e.src);
		free(e.data);
		return -ENOMEM;
	}
	if (len)
		memcpy(e.data, data, len);
	c->e[c->n++] = e;
	return 0;
}

int img_cpio_add_dir(struct img_cpio *c, const char *path, unsigned perm)
{
	if (perm & ~07777u)
		return IMG_ERANGE;
	return add(c, path, S_IFDIR | perm, NULL, NULL, 0);
}

int img_cpio_add_file(struct img_cpio *c, const char *path, unsigned perm, const char *src)
{
	if (perm & ~07777u)
		return IMG_ERANGE;
	return add(c, path, S_IFREG | perm, src, NULL, 0);
}

int img_cpio_add_data(struct img_cpio *c, const char *path, unsigned perm, const void *data,
		      size_t len)
{
	if (perm & ~07777u)
		return IMG_ERANGE;
	return add(c, path, S_IFREG | perm, NULL, data, len);
}

int img_cpio_add_symlink(struct img_cpio *c, const char *path, const char *target)
{
	size_t len = strlen(target);

	if (len == 0 || len >= CPIO_PATH_MAX)
		return IMG_EPATH;
	return add(c, path, S_IFLNK | 0777, NULL, target, len);
}

int img_cpio_add_chardev(struct img_cpio *c, const char *path, unsigned perm, unsigned major,
			 unsigned minor)
{
	int rc;

	/* Linux dev_t: 12-bit major, 20-bit minor */
	if ((perm & ~07777u) || major >= 1u << 12 || minor >= 1u << 20)
		return IMG_ERANGE;
	rc = add(c, path, S_IFCHR | perm, NULL, NULL, 0);
	if (rc == 0) {
		c->e[c->n - 1].rmajor = major;
		c->e[c->n - 1].rminor = minor;
	}
	return rc;
}

/* ---- writing ---- */

static int out_flush(struct cpio_out *o)
{
	int rc = img_write_all(o->fd, o->buf, o->used);

	o->used = 0;
	return rc;
}

static int out_put(struct cpio_out *o, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		size_t take = CPIO_BUF - o->used < len ? CPIO_BUF - o->used : len;
		int rc;

		memcpy(o->buf + o->used, p, take);
		o->used += take;
		o->total += take;
		p += take;
		len -= take;
		if (o->used == CPIO_BUF && (rc = out_flush(o)) < 0)
			return rc;
	}
	return 0;
}

static int out_pad4(struct cpio_out *o)
{
	static const uint8_t zero[3];

	return out_put(o, zero, (4 - o->total % 4) % 4);
}

/* Header fields in newc order after the magic. */
struct cpio_hdr {
	uint32_t ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor,
		rdevminor, namesize, check;
};

static int put_header(struct cpio_out *o, const struct cpio_hdr *h, const char *name)
{
	char buf[CPIO_HDR + 1];
	int rc;

	snprintf(buf, sizeof(buf),
		 "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", h->ino, h->mode,
		 h->uid, h->gid, h->nlink, h->mtime, h->filesize, h->devmajor, h->devminor,
		 h->rdevmajor, h->rdevminor, h->namesize, h->check);
	if ((rc = out_put(o, buf, CPIO_HDR)) < 0 || (rc = out_put(o, name, h->namesize)) < 0)
		return rc;
	return out_pad4(o);
}

static int copy_fd(struct cpio_out *o, int fd, uint64_t size)
{
	uint8_t buf[1 << 14];

	while (size > 0) {
		size_t want = size < sizeof(buf) ? size : sizeof(buf);
		ssize_t n = read(fd, buf, want);
		int rc;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return IMG_EIO; /* the file shrank while we read it */
		if ((rc = out_put(o, buf, (size_t)n)) < 0)
			return rc;
		size -= (uint64_t)n;
	}
	return 0;
}

/* Opens e->src and checks it fits a newc entry. Returns the fd or a negative code. */
static int open_source(const struct cpio_entry *e, struct stat *st, struct img_err *err)
{
	int fd = open(e->src, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return img_fail(err, -errno, "cpio: cannot open '%s' for '%s': %s", e->src,
				e->path, strerror(errno));
	if (fstat(fd, st) < 0)
		rc = img_fail(err, -errno, "cpio: cannot stat '%s': %s", e->src, strerror(errno));
	else if (!S_ISREG(st->st_mode))
		rc = img_fail(err, IMG_EARG, "cpio: source '%s' for '%s' is not a regular file",
			      e->src, e->path);
	else if ((uint64_t)st->st_size > UINT32_MAX)
		rc = img_fail(err, IMG_ERANGE, "cpio: source '%s' for '%s' is over 4 GiB",
			      e->src, e->path);
	else
		return fd;
	close(fd);
	return rc;
}

static int put_source(struct cpio_out *o, const struct cpio_entry *e, struct cpio_hdr *h,
		      struct img_err *err)
{
	struct stat st;
	int fd = open_source(e, &st, err), rc;

	if (fd < 0)
		return fd;
	h->filesize = (uint32_t)st.st_size;
	rc = put_header(o, h, e->path);
	if (rc == 0)
		rc = copy_fd(o, fd, (uint64_t)st.st_size);
	if (rc == 0)
		rc = out_pad4(o);
	close(fd);
	if (rc < 0)
		return img_fail(err, rc, "cpio: copying '%s' into '%s': %s", e->src, e->path,
				img_strerror(rc));
	return 0;
}

static int put_entry(struct cpio_out *o, const struct cpio_entry *e, uint32_t ino,
		     uint32_t mtime, struct img_err *err)
{
	struct cpio_hdr h = {
		.ino = ino, .mode = e->mode, .nlink = S_ISDIR(e->mode) ? 2 : 1, .mtime = mtime,
		.filesize = (uint32_t)e->len, .rdevmajor = e->rmajor, .rdevminor = e->rminor,
		.namesize = (uint32_t)strlen(e->path) + 1,
	};
	int rc;

	if (e->src)
		return put_source(o, e, &h, err);
	if ((rc = put_header(o, &h, e->path)) < 0 || (rc = out_put(o, e->data, e->len)) < 0 ||
	    (rc = out_pad4(o)) < 0)
		return img_fail(err, rc, "cpio: writing '%s': %s", e->path, img_strerror(rc));
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct cpio_entry *)a)->path, ((const struct cpio_entry *)b)->path);
}

/* After sorting: no duplicates, and every parent is an earlier directory entry. */
static int check_tree(const struct img_cpio *c, struct img_err *err)
{
	for (size_t i = 0; i < c->n; i++) {
		const char *p = c->e[i].path, *slash = strrchr(p, '/');
		struct cpio_entry key, *parent;
		char dir[CPIO_PATH_MAX];

		if (i > 0 && strcmp(c->e[i - 1].path, p) == 0)
			return img_fail(err, IMG_EDUP, "cpio: '%s' added twice", p);
		if (!slash)
			continue;
		memcpy(dir, p, (size_t)(slash - p));
		dir[slash - p] = '\0';
		key.path = dir;
		parent = bsearch(&key, c->e, i, sizeof(key), cmp_entry);
		if (!parent || !S_ISDIR(parent->mode))
			return img_fail(err, IMG_ENOPARENT,
					"cpio: '%s' needs directory entry '%s'", p, dir);
	}
	return 0;
}

static int write_all_entries(struct img_cpio *c, struct cpio_out *o, struct img_err *err)
{
	static const struct cpio_hdr trailer = {.nlink = 1, .namesize = 11};
	int rc;

	for (size_t i = 0; i < c->n; i++)
		if ((rc = put_entry(o, &c->e[i], (uint32_t)i + 1, c->mtime, err)) < 0)
			return rc;
	if ((rc = put_header(o, &trailer, "TRAILER!!!")) < 0 || (rc = out_flush(o)) < 0)
		return img_fail(err, rc, "cpio: writing archive: %s", img_strerror(rc));
	return 0;
}

int img_cpio_write(struct img_cpio *c, int fd, struct img_err *err)
{
	struct cpio_out *o;
	int rc;

	if (c->n >= UINT32_MAX)
		return img_fail(err, IMG_ERANGE, "cpio: too many entries");
	qsort(c->e, c->n, sizeof(c->e[0]), cmp_entry);
	if ((rc = check_tree(c, err)) < 0)
		return rc;
	if (!(o = calloc(1, sizeof(*o))))
		return img_fail(err, -ENOMEM, "cpio: out of memory");
	o->fd = fd;
	rc = write_all_entries(c, o, err);
	free(o);
	return rc;
}
