/* The initramfs: cabind as /init, the poweroff/reboot/halt names the kernel calls, the
 * module closure and its load order. The cpio writer sorts and stamps every entry, and
 * the archive is compressed as a whole (modules stay plain .ko: the kernel cannot load
 * compressed ones here). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build.h"
#include "img_priv.h"

#define INITRD_ZSTD_LEVEL "-12"

/* Directories already in the archive: the writer rejects duplicates, and module paths
 * share most of their parents. */
struct dirset {
	char **v;
	size_t n;
};

static int dirset_add(struct img_cpio *c, struct dirset *d, const char *path, unsigned perm)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->v[i], path) == 0)
			return 0;
	char **nv = realloc(d->v, (d->n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	d->v = nv;
	if (!(nv[d->n] = strdup(path)))
		return -ENOMEM;
	d->n++;
	return img_cpio_add_dir(c, path, perm);
}

static void dirset_free(struct dirset *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i]);
	free(d->v);
}

/* Adds every directory on the way to path ("a/b/c.ko" adds "a" and "a/b"). */
static int add_parents(struct img_cpio *c, struct dirset *d, const char *path)
{
	char buf[4096];
	int rc = 0;
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = strchr(buf, '/'); p && rc == 0; p = strchr(p + 1, '/')) {
		*p = '\0';
		rc = dirset_add(c, d, buf, 0755);
		*p = '/';
	}
	return rc;
}

static int read_whole(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap + 1);
	size_t k;
	while (buf && (k = fread(buf + n, 1, cap - n, f)) > 0) {
		n += k;
		if (n == cap) {
			char *nb = realloc(buf, cap * 2 + 1);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	fclose(f);
	if (!buf)
		return -ENOMEM;
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* Adds modules paths[from..to) and the list of their in-image paths, in order, as
 * list_name. */
static int add_module_stage(struct img_build *b, struct img_cpio *c, struct dirset *d,
			    const struct img_kmods *mods, size_t from, size_t to,
			    const char *list_name, struct img_err *err)
{
	size_t listlen = 0;
	char *list = NULL;
	int rc = 0;
	for (size_t i = from; rc == 0 && i < to; i++) {
		char dst[4200], src[8400];
		snprintf(dst, sizeof(dst), "lib/modules/%s/%s", b->kver, mods->paths[i]);
		snprintf(src, sizeof(src), "%s/%s", b->modules, mods->paths[i]);
		rc = add_parents(c, d, dst);
		if (rc == 0)
			rc = img_cpio_add_file(c, dst, 0644, src);
		if (rc == 0)
			rc = img_manifest_add(b->man, "module", src, err);
		char *nl = rc == 0 ? realloc(list, listlen + strlen(dst) + 3) : NULL;
		if (rc == 0 && !nl)
			rc = -ENOMEM;
		if (rc == 0) {
			list = nl;
			listlen += (size_t)sprintf(list + listlen, "/%s\n", dst);
		}
	}
	if (rc == 0)
		rc = img_cpio_add_data(c, list_name, 0644, list ? list : "", listlen);
	free(list);
	return rc;
}

/* Computes the module closure and adds the modules with one load list per stage. Closing
 * over the names of the stages so far, stage by stage, makes each closure a prefix of the
 * next, so a stage's list is what its closure adds. */
static int add_modules(struct img_build *b, struct img_cpio *c, struct dirset *d,
		       struct img_err *err)
{
	char path[4200], *dep = NULL, *builtin = NULL, **names = NULL;
	size_t dep_len, bl_len, nnames, end[IMG_STAGES], from = 0, count[IMG_STAGES] = { 0 };
	snprintf(path, sizeof(path), "%s/modules.dep", b->modules);
	int rc = read_whole(path, &dep, &dep_len);
	if (rc < 0)
		return img_fail(err, rc, "%s: %s (run depmod -b on the kernel tree)", path,
				strerror(-rc));
	snprintf(path, sizeof(path), "%s/modules.builtin", b->modules);
	if (read_whole(path, &builtin, &bl_len) < 0)
		builtin = NULL;
	rc = img_read_names(b->module_list, &names, &nnames, end, err);
	if (rc == 0)
		rc = img_manifest_add(b->man, "module-list", b->module_list, err);
	for (int s = 0; rc == 0 && s < IMG_STAGES; s++) {
		struct img_kmods upto = { 0 };
		rc = img_kmod_closure(dep, dep_len, builtin, (const char *const *)names, end[s],
				      &upto, err);
		if (rc == 0)
			rc = add_module_stage(b, c, d, &upto, from, upto.n, img_stage_lists[s], err);
		count[s] = upto.n - from;
		from = upto.n;
		img_kmods_free(&upto);
	}
	if (rc == 0)
		img_step(b, "modules: %zu at boot, %zu for CD-ROMs, %zu after ready (closure of %zu "
			 "listed) for %s", count[0], count[1], count[2], nnames, b->kver);
	free(dep);
	free(builtin);
	img_names_free(names);
	return rc;
}

static int fill_archive(struct img_build *b, struct img_cpio *c, struct img_err *err)
{
	static const char *const dirs[] = { "dev", "etc", "lib", "lib/modules", "mnt", "proc",
					     "run", "sbin", "sys", "tmp", "var", "var/lib" };
	static const char *const links[] = { "sbin/poweroff", "sbin/reboot", "sbin/halt" };
	struct dirset d = { 0 };
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < sizeof(dirs) / sizeof(dirs[0]); i++)
		rc = dirset_add(c, &d, dirs[i], strcmp(dirs[i], "tmp") ? 0755 : 01777);
	if (rc == 0)
		rc = img_cpio_add_chardev(c, "dev/console", 0600, 5, 1);
	if (rc == 0)
		rc = img_cpio_add_file(c, "init", 0755, b->cabind);
	for (size_t i = 0; rc == 0 && i < sizeof(links) / sizeof(links[0]); i++)
		rc = img_cpio_add_symlink(c, links[i], "/init");
	if (rc == 0)
		rc = add_modules(b, c, &d, err);
	dirset_free(&d);
	if (rc < 0 && !err->msg[0])
		img_fail(err, rc, "initramfs: %s", img_strerror(rc));
	return rc;
}

int img_make_initrd(struct img_build *b, const char *out_path, struct img_err *err)
{
	char cpio_path[4200];
	snprintf(cpio_path, sizeof(cpio_path), "%s/initrd.cpio", b->work);
	struct img_cpio *c = img_cpio_new((uint32_t)b->epoch);
	if (!c)
		return img_fail(err, -ENOMEM, "initramfs: out of memory");
	int rc = img_manifest_add(b->man, "cabind", b->cabind, err);
	if (rc == 0)
		rc = fill_archive(b, c, err);
	int fd = -1;
	if (rc == 0) {
		fd = open(cpio_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		rc = fd < 0 ? img_fail(err, -errno, "%s: %s", cpio_path, strerror(errno)) : 0;
	}
	if (rc == 0)
		rc = img_cpio_write(c, fd, err);
	if (fd >= 0)
		close(fd);
	img_cpio_free(c);
	if (rc < 0)
		return rc;
	int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0)
		return img_fail(err, -errno, "%s: %s", out_path, strerror(errno));
	/* one thread, explicit level: ZSTD_CLEVEL / ZSTD_NBTHREADS cannot change the bytes */
	char *argv[] = { "zstd", INITRD_ZSTD_LEVEL, "-T1", "-q", "-c", "--no-progress", cpio_path,
			 NULL };
	rc = img_run(argv, NULL, out, err);
	close(out);
	unlink(cpio_path);
	return rc;
}
