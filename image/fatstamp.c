/* FAT timestamp normaliser: mtools and syslinux stamp what they write with the current time,
 * so after building the boot filesystem we walk every directory and set every short entry's
 * dates to SOURCE_DATE_EPOCH, making the image reproducible. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "img_priv.h"

#define DIRENT 32
#define ATTR_LFN 0x0F
#define ATTR_VOLUME 0x08
#define ATTR_DIR 0x10

struct fat_walk {
	int fd;
	uint64_t base; /* byte offset of the filesystem in the image */
	struct img_fat_geom g;
	uint8_t *fat, *buf, *visited;
	uint32_t *stack; /* directory start clusters still to walk */
	size_t depth, cap;
	uint16_t date, time;
	uint8_t tenths;
	struct img_err *err;
};

static void stamp_entry(const struct fat_walk *w, uint8_t *e)
{
	e[13] = w->tenths;
	img_le16(e + 14, w->time); /* creation */
	img_le16(e + 16, w->date);
	img_le16(e + 18, w->date); /* last access: date only */
	img_le16(e + 22, w->time); /* modification */
	img_le16(e + 24, w->date);
}

static int push_cluster(struct fat_walk *w, uint32_t c)
{
	if (w->depth == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 64;
		uint32_t *ns = realloc(w->stack, cap * sizeof(*ns));

		if (!ns)
			return img_fail(w->err, -ENOMEM, "fat: out of memory");
		w->stack = ns;
		w->cap = cap;
	}
	w->stack[w->depth++] = c;
	return 0;
}

/* Queues the subdirectory that entry e (found at image byte `where`) starts. */
static int push_dir(struct fat_walk *w, const uint8_t *e, uint64_t where)
{
	uint32_t c = img_get_le16(e + 26);

	if (w->g.type == IMG_FAT32)
		c |= (uint32_t)img_get_le16(e + 20) << 16;
	if (c < 2 || c > w->g.clusters + 1)
		return img_fail(w->err, IMG_EBADFS,
				"fat: directory entry '%.11s' at byte %llu points to cluster %u "
				"outside 2..%u", (const char *)e, (unsigned long long)where, c,
				w->g.clusters + 1);
	return push_cluster(w, c);
}

/* Stamps the entries in buf (len bytes read from byte `where` of the image) and queues live
 * subdirectories. Returns 1 at the end-of-directory marker, 0 to go on, or a negative code. */
static int stamp_entries(struct fat_walk *w, uint8_t *buf, size_t len, uint64_t where)
{
	for (size_t off = 0; off + DIRENT <= len; off += DIRENT) {
		uint8_t *e = buf + off;
		uint8_t attr = e[11];
		int rc;

		if (e[0] == 0x00)
			return 1;
		if ((attr & 0x3F) == ATTR_LFN)
			continue; /* long-name slot: those bytes are name characters */
		stamp_entry(w, e);
		if (e[0] == 0xE5 || e[0] == '.' || !(attr & ATTR_DIR) || (attr & ATTR_VOLUME))
			continue;
		if ((rc = push_dir(w, e, where + off)) < 0)
			return rc;
	}
	return 0;
}

/* Reads len bytes at fs offset off, stamps them and writes them back. */
static int stamp_region(struct fat_walk *w, uint8_t *buf, size_t len, uint64_t off)
{
	uint64_t at = w->base + off;
	int rc = img_pread_all(w->fd, buf, len, at), end;

	if (rc < 0)
		return img_fail(w->err, rc, "fat: reading directory at byte %llu: %s",
				(unsigned long long)at, img_strerror(rc));
	if ((end = stamp_entries(w, buf, len, at)) < 0)
		return end;
	if ((rc = img_pwrite_all(w->fd, buf, len, at)) < 0)
		return img_fail(w->err, rc, "fat: writing directory at byte %llu: %s",
				(unsigned long long)at, img_strerror(rc));
	return end;
}

/* Walks one directory's cluster chain; each cluster may belong to one directory only,
 * which also ends chains that loop. */
static int stamp_chain(struct fat_walk *w, uint32_t c)
{
	for (; c; c = img_fat_next(&w->g, w->fat, c)) {
		uint64_t off = w->g.data_offset + (uint64_t)(c - 2) * w->g.cluster_bytes;
		int rc;

		if (w->visited[c / 8] & (1u << (c % 8)))
			return img_fail(w->err, IMG_EBADFS,
					"fat: cluster %u is reached twice (loop or cross-link)", c);
		w->visited[c / 8] |= (uint8_t)(1u << (c % 8));
		if ((rc = stamp_region(w, w->buf, w->g.cluster_bytes, off)) != 0)
			return rc < 0 ? rc : 0;
	}
	return 0;
}

static int walk(struct fat_walk *w)
{
	int rc;

	if (w->g.type == IMG_FAT32) {
		rc = push_cluster(w, w->g.root_cluster); /* validated by the BPB parser */
	} else {
		uint8_t *root = malloc(w->g.root_bytes);

		if (!root)
			return img_fail(w->err, -ENOMEM, "fat: out of memory");
		rc = stamp_region(w, root, w->g.root_bytes, w->g.root_offset);
		free(root);
	}
	while (rc >= 0 && w->depth > 0)
		rc = stamp_chain(w, w->stack[--w->depth]);
	return rc < 0 ? rc : 0;
}

/* Reads and checks the boot sector and loads the live FAT into w. */
static int load(struct fat_walk *w)
{
	uint8_t bs[512];
	struct stat st;
	int rc;

	if (fstat(w->fd, &st) < 0)
		return img_fail(w->err, -errno, "fat: image: %s", strerror(errno));
	if ((rc = img_pread_all(w->fd, bs, sizeof(bs), w->base)) < 0)
		return img_fail(w->err, rc == IMG_EIO ? IMG_EBADFS : rc,
				"fat: no boot sector at byte %llu of the image",
				(unsigned long long)w->base);
	if ((rc = img_fat_parse_bpb(bs, &w->g, w->err)) < 0)
		return rc;
	if (w->base + w->g.fs_bytes > (uint64_t)st.st_size)
		return img_fail(w->err, IMG_EBADFS,
				"fat: filesystem of %llu bytes at byte %llu extends past the "
				"image's end (%lld bytes)", (unsigned long long)w->g.fs_bytes,
				(unsigned long long)w->base, (long long)st.st_size);
	w->fat = malloc(w->g.fat_bytes);
	w->buf = malloc(w->g.cluster_bytes);
	w->visited = calloc(((size_t)w->g.clusters + 2) / 8 + 1, 1);
	if (!w->fat || !w->buf || !w->visited)
		return img_fail(w->err, -ENOMEM, "fat: out of memory");
	if ((rc = img_pread_all(w->fd, w->fat, w->g.fat_bytes, w->base + w->g.fat_offset)) < 0)
		return img_fail(w->err, rc, "fat: reading the FAT: %s", img_strerror(rc));
	return 0;
}

int img_fat_stamp(int fd, uint64_t offset, int64_t epoch, struct img_err *err)
{
	struct fat_walk w = {.fd = fd, .base = offset, .err = err};
	int rc;

	img_fat_datetime(epoch, &w.date, &w.time, &w.tenths);
	rc = load(&w);
	if (rc == 0)
		rc = walk(&w);
	free(w.fat);
	free(w.buf);
	free(w.visited);
	free(w.stack);
	return rc;
}
