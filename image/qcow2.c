/* Thin I/O shell of the qcow2 writer: finds the non-zero clusters of a raw image (skipping
 * holes with SEEK_DATA/SEEK_HOLE), lets the layout core place them, then writes the file under
 * a temporary name and renames it into place only when it is complete and fsynced. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "img_priv.h"

#define CS IMG_QCOW2_CLUSTER
#define BLOCK 4096 /* zero blocks of output clusters stay holes in the qcow2 file */

struct qcow2_list {
	uint64_t *v;
	size_t n, cap;
};

static int list_add(struct qcow2_list *l, uint64_t c)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 1024;
		uint64_t *nv = realloc(l->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = c;
	return 0;
}

/* Reads guest cluster c of the raw image into buf, zero-padding a short last cluster. */
static int read_cluster(int raw, uint64_t size, uint64_t c, uint8_t *buf, struct img_err *err)
{
	uint64_t off = c * CS, len = size - off < CS ? size - off : CS;
	int rc = img_pread_all(raw, buf, len, off);

	if (rc < 0)
		return img_fail(err, rc, "qcow2: reading raw image at offset %llu: %s",
				(unsigned long long)off, img_strerror(rc));
	memset(buf + len, 0, CS - len);
	return 0;
}

/* Records every cluster overlapping data extent [d, h) whose bytes in the extent are not all
 * zero. Bytes outside extents are holes and read as zero, so only the extent is read; a
 * cluster spanning several extents is recorded once, when the first non-zero part is seen. */
static int scan_extent(int raw, uint64_t d, uint64_t h, struct qcow2_list *l, uint8_t *buf,
		       struct img_err *err)
{
	for (uint64_t c = d / CS; c * CS < h; c++) {
		uint64_t lo = c * CS > d ? c * CS : d, hi = (c + 1) * CS < h ? (c + 1) * CS : h;
		int rc = img_pread_all(raw, buf, hi - lo, lo);

		if (rc < 0)
			return img_fail(err, rc, "qcow2: reading raw image at offset %llu: %s",
					(unsigned long long)lo, img_strerror(rc));
		if (img_is_zero(buf, hi - lo) || (l->n > 0 && l->v[l->n - 1] == c))
			continue;
		if ((rc = list_add(l, c)) < 0)
			return img_fail(err, rc, "qcow2: out of memory");
	}
	return 0;
}

static int scan_raw(int raw, uint64_t size, struct qcow2_list *l, uint8_t *buf,
		    struct img_err *err)
{
	uint64_t off = 0;
	int rc;

	while (off < size) {
		off_t d = lseek(raw, (off_t)off, SEEK_DATA), h;

		if (d < 0 && errno == ENXIO)
			break; /* only a hole remains */
		if (d < 0)
			return img_fail(err, -errno, "qcow2: seeking raw image: %s", strerror(errno));
		h = lseek(raw, d, SEEK_HOLE);
		if (h < 0 || (uint64_t)h > size)
			h = (off_t)size;
		if ((rc = scan_extent(raw, (uint64_t)d, (uint64_t)h, l, buf, err)) < 0)
			return rc;
		off = (uint64_t)h;
	}
	return 0;
}

/* Writes one cluster, skipping all-zero blocks: the file was pre-sized with ftruncate. */
static int put_cluster(int fd, const uint8_t *buf, uint64_t off, struct img_err *err)
{
	for (uint64_t b = 0; b < CS;) {
		uint64_t e;
		int rc;

		if (img_is_zero(buf + b, BLOCK)) {
			b += BLOCK;
			continue;
		}
		for (e = b + BLOCK; e < CS && !img_is_zero(buf + e, BLOCK); e += BLOCK)
			;
		if ((rc = img_pwrite_all(fd, buf + b, e - b, off + b)) < 0)
			return img_fail(err, rc, "qcow2: writing at offset %llu: %s",
					(unsigned long long)(off + b), img_strerror(rc));
		b = e;
	}
	return 0;
}

static int write_meta(int fd, const struct img_qcow2_layout *L, uint8_t *buf,
		      struct img_err *err)
{
	int rc = 0;
	uint64_t i, slot;

	img_qcow2_header(L, buf);
	rc = put_cluster(fd, buf, 0, err);
	for (i = 0; rc == 0 && i < L->rt_clusters; i++) {
		img_qcow2_rt(L, i, buf);
		rc = put_cluster(fd, buf, L->rt_offset + i * CS, err);
	}
	for (i = 0; rc == 0 && i < L->rb_count; i++) {
		img_qcow2_rb(L, i, buf);
		rc = put_cluster(fd, buf, L->rb_offset + i * CS, err);
	}
	for (i = 0; rc == 0 && i < L->l1_clusters; i++) {
		img_qcow2_l1(L, i, buf);
		rc = put_cluster(fd, buf, L->l1_offset + i * CS, err);
	}
	for (i = 0, slot = 0; rc == 0 && i < L->ndata; slot++) {
		i = img_qcow2_l2(L, i, buf);
		rc = put_cluster(fd, buf, L->l2_offset + slot * CS, err);
	}
	return rc;
}

static int write_image(int fd, int raw, const struct img_qcow2_layout *L, uint8_t *buf,
		       struct img_err *err)
{
	int rc;

	if (ftruncate(fd, (off_t)(L->total_clusters * CS)) < 0)
		return img_fail(err, -errno, "qcow2: sizing output: %s", strerror(errno));
	if ((rc = write_meta(fd, L, buf, err)) < 0)
		return rc;
	for (uint64_t i = 0; i < L->ndata; i++) {
		if ((rc = read_cluster(raw, L->virtual_size, L->data[i], buf, err)) < 0 ||
		    (rc = put_cluster(fd, buf, img_qcow2_data_host(L, i), err)) < 0)
			return rc;
	}
	if (fsync(fd) < 0)
		return img_fail(err, -errno, "qcow2: fsync: %s", strerror(errno));
	return 0;
}

static int check_paths(int raw, const char *out_path, struct stat *st, struct img_err *err)
{
	struct stat ost;

	if (fstat(raw, st) < 0)
		return img_fail(err, -errno, "qcow2: raw image: %s", strerror(errno));
	if (!S_ISREG(st->st_mode))
		return img_fail(err, IMG_EARG, "qcow2: raw image is not a regular file");
	if (st->st_size % 512)
		return img_fail(err, IMG_ESIZE,
				"qcow2: raw image size %lld is not a multiple of 512",
				(long long)st->st_size);
	if (stat(out_path, &ost) == 0 && S_ISDIR(ost.st_mode))
		return img_fail(err, -EISDIR, "qcow2: output path '%s' is a directory", out_path);
	return 0;
}

/* Makes the rename durable; failure here is not fatal to the image itself. */
static void sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd;

	if (!copy)
		return;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

/* Writes L to a temporary file beside out_path and renames it into place. */
static int emit(int raw, const struct img_qcow2_layout *L, const char *out_path, uint8_t *buf,
		struct img_err *err)
{
	char *tmp;
	int fd, rc;

	if (asprintf(&tmp, "%s.tmp.XXXXXX", out_path) < 0)
		return img_fail(err, -ENOMEM, "qcow2: out of memory");
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = img_fail(err, -errno, "qcow2: cannot create a temporary file for '%s': %s",
			      out_path, strerror(errno));
		free(tmp);
		return rc;
	}
	rc = write_image(fd, raw, L, buf, err);
	if (rc == 0 && fchmod(fd, 0644) < 0)
		rc = img_fail(err, -errno, "qcow2: chmod '%s': %s", tmp, strerror(errno));
	if (close(fd) < 0 && rc == 0)
		rc = img_fail(err, -errno, "qcow2: closing '%s': %s", tmp, strerror(errno));
	if (rc == 0 && rename(tmp, out_path) < 0)
		rc = img_fail(err, -errno, "qcow2: renaming '%s' to '%s': %s", tmp, out_path,
			      strerror(errno));
	if (rc < 0)
		unlink(tmp);
	else
		sync_dir(out_path);
	free(tmp);
	return rc;
}

int img_qcow2_convert(int raw_fd, const char *out_path, struct img_err *err)
{
	struct qcow2_list list = {0};
	struct img_qcow2_layout L;
	struct stat st;
	uint8_t *buf;
	int rc;

	if ((rc = check_paths(raw_fd, out_path, &st, err)) < 0)
		return rc;
	if (!(buf = malloc(CS)))
		return img_fail(err, -ENOMEM, "qcow2: out of memory");
	rc = scan_raw(raw_fd, (uint64_t)st.st_size, &list, buf, err);
	if (rc == 0)
		rc = img_qcow2_plan(&L, (uint64_t)st.st_size, list.v, list.n, err);
	if (rc == 0)
		rc = emit(raw_fd, &L, out_path, buf, err);
	free(list.v);
	free(buf);
	return rc;
}
