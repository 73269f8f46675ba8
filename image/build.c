/* `cabin build`: turns cabind, a stock Debian kernel and the module list into a bootable,
 * reproducible qcow2 image plus a manifest of every input. Work happens in a private
 * directory beside the output; the image and manifest appear only when complete. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "build.h"
#include "img_priv.h"

#define MIN_DISK (128ull << 20)
#define MAX_DISK (2048ull << 30)

static void build_usage(FILE *out)
{
	fprintf(out,
		"Usage: cabin build [OPTIONS]\n"
		"\n"
		"Writes the bootable appliance image (qcow2) and a manifest of its inputs.\n"
		"\n"
		"  -o, --output FILE         image to write (default build/cabin.qcow2)\n"
		"  --manifest FILE           manifest to write (default: the output's name with\n"
		"                            .manifest.json in place of .qcow2)\n"
		"  --cabind FILE             the init binary (default build/cabind)\n"
		"  --kernel-deb FILE         a Debian linux-image-*.deb to take the kernel from\n"
		"  --kernel-root DIR         an unpacked kernel package with modules.dep\n"
		"                            (default build/kernel)\n"
		"  --kernel FILE             a vmlinuz (with --modules)\n"
		"  --modules DIR             its lib/modules/VERSION directory (with --kernel)\n"
		"  --module-list FILE        modules to ship (default appliance/modules.txt)\n"
		"  --size SIZE               virtual disk size: bytes or K/M/G (default 1G,\n"
		"                            at least 128M)\n"
		"  --append ARGS             extra kernel command line\n"
		"  --source-date-epoch N     timestamps and seeds (default $SOURCE_DATE_EPOCH,\n"
		"                            else the current time)\n"
		"  -q, --quiet               print only errors\n"
		"  -h, --help                this help\n");
}

void img_step(const struct img_build *b, const char *fmt, ...)
{
	if (b->quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	printf("cabin build: ");
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	va_end(ap);
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return -1;
	unsigned shift = 0;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	if (shift)
		end++;
	if (*end || v > (MAX_DISK >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_epoch(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > 4102444800ll)
		return -1;
	*out = v;
	return 0;
}

static int build_parse(int argc, char **argv, struct img_build *b, const char **kernel,
		       const char **modules)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "manifest", required_argument, NULL, 'M' },
		{ "cabind", required_argument, NULL, 'c' },
		{ "kernel-deb", required_argument, NULL, 'd' },
		{ "kernel-root", required_argument, NULL, 'r' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "modules", required_argument, NULL, 'm' },
		{ "module-list", required_argument, NULL, 'l' },
		{ "size", required_argument, NULL, 's' },
		{ "append", required_argument, NULL, 'a' },
		{ "source-date-epoch", required_argument, NULL, 'e' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	int ch, have_epoch = 0;
	while ((ch = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
		switch (ch) {
		case 'o': b->output = optarg; break;
		case 'M': b->manifest_path = optarg; break;
		case 'c': b->cabind = optarg; break;
		case 'd': b->kernel_deb = optarg; break;
		case 'r': b->kernel_root = optarg; break;
		case 'k': *kernel = optarg; break;
		case 'm': *modules = optarg; break;
		case 'l': b->module_list = optarg; break;
		case 'a': b->append = optarg; break;
		case 'q': b->quiet = 1; break;
		case 's':
			if (parse_size(optarg, &b->disk_size) < 0 || b->disk_size < MIN_DISK ||
			    b->disk_size % (1 << 20)) {
				fprintf(stderr, "cabin build: --size %s: expected a whole number of "
						"MiB from 128M to 2048G (e.g. 1G)\n", optarg);
				return 2;
			}
			break;
		case 'e':
			if (parse_epoch(optarg, &b->epoch) < 0) {
				fprintf(stderr, "cabin build: --source-date-epoch %s: expected "
						"seconds since 1970\n", optarg);
				return 2;
			}
			have_epoch = 1;
			break;
		case 'h': build_usage(stdout); return 0;
		default: fprintf(stderr, "Try 'cabin build --help'.\n"); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "cabin build: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!have_epoch && sde && *sde && parse_epoch(sde, &b->epoch) < 0) {
		fprintf(stderr, "cabin build: SOURCE_DATE_EPOCH=%s: expected seconds since "
				"1970\n", sde);
		return 2;
	}
	if (!have_epoch && !(sde && *sde))
		b->epoch = (int64_t)time(NULL);
	if ((*kernel != NULL) != (*modules != NULL)) {
		fprintf(stderr, "cabin build: --kernel and --modules go together\n");
		return 2;
	}
	if ((b->kernel_deb != NULL) + (b->kernel_root != NULL) + (*kernel != NULL) > 1) {
		fprintf(stderr, "cabin build: give one of --kernel-deb, --kernel-root or "
				"--kernel/--modules\n");
		return 2;
	}
	return -1;
}

/* Finds the single entry of dir whose name starts with prefix. */
static int find_one(const char *dir, const char *prefix, char *out, size_t len,
		    struct img_err *err)
{
	DIR *d = opendir(dir);
	if (!d)
		return img_fail(err, -errno, "%s: %s", dir, strerror(errno));
	struct dirent *de;
	int found = 0;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) || de->d_name[0] == '.')
			continue;
		if (found++ == 0)
			snprintf(out, len, "%s/%s", dir, de->d_name);
	}
	closedir(d);
	if (found != 1)
		return img_fail(err, IMG_EARG, "%s: expected one %s* entry, found %d", dir,
				prefix, found);
	return 0;
}

/* Kernel and modules from an unpacked package tree (lib/ or usr/lib/modules). */
static int kernel_from_root(struct img_build *b, const char *root, struct img_err *err)
{
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s/boot", root);
	int rc = find_one(dir, "vmlinuz-", b->kernel, sizeof(b->kernel), err);
	if (rc < 0)
		return rc;
	snprintf(dir, sizeof(dir), "%s/lib/modules", root);
	if (access(dir, F_OK) < 0)
		snprintf(dir, sizeof(dir), "%s/usr/lib/modules", root);
	return find_one(dir, "", b->modules, sizeof(b->modules), err);
}

/* Unpacks the .deb into the work dir and indexes its modules there. */
static int kernel_from_deb(struct img_build *b, struct img_err *err)
{
	char root[4200];
	snprintf(root, sizeof(root), "%s/kernel", b->work);
	if (access(b->kernel_deb, R_OK) < 0)
		return img_fail(err, -errno, "kernel package %s: %s", b->kernel_deb,
				strerror(errno));
	int rc = img_manifest_add(b->man, "kernel-package", b->kernel_deb, err);
	if (rc < 0)
		return rc;
	img_step(b, "unpacking %s", b->kernel_deb);
	char *x[] = { "dpkg-deb", "-x", (char *)b->kernel_deb, root, NULL };
	char why[sizeof(err->msg)];
	if ((rc = img_run(x, NULL, -1, err)) < 0) {
		memcpy(why, err->msg, sizeof(why));
		return img_fail(err, rc, "kernel package %s is not a usable .deb: %.180s",
				b->kernel_deb, why);
	}
	if ((rc = kernel_from_root(b, root, err)) < 0) {
		memcpy(why, err->msg, sizeof(why));
		return img_fail(err, rc, "kernel package %s: %.200s", b->kernel_deb, why);
	}
	const char *ver = strrchr(b->modules, '/') + 1;
	char *depmod[] = { "depmod", "-b", root, (char *)ver, NULL };
	return img_run(depmod, NULL, -1, err);
}

/* A bzImage has "HdrS" at 0x202: reject anything else before it reaches the disk. */
static int kernel_check(struct img_build *b, struct img_err *err)
{
	char magic[4];
	int fd = open(b->kernel, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return img_fail(err, -errno, "kernel %s: %s", b->kernel, strerror(errno));
	int rc = img_pread_all(fd, magic, 4, 0x202);
	close(fd);
	if (rc < 0 || memcmp(magic, "HdrS", 4) != 0)
		return img_fail(err, IMG_EARG, "kernel %s: not a Linux bzImage", b->kernel);
	const char *ver = strrchr(b->modules, '/');
	int w = snprintf(b->kver, sizeof(b->kver), "%s", ver ? ver + 1 : b->modules);
	if (w < 0 || (size_t)w >= sizeof(b->kver))
		return img_fail(err, IMG_EARG, "modules directory %s: version name too long",
				b->modules);
	return img_manifest_add(b->man, "kernel", b->kernel, err);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static int make_workdir(struct img_build *b, struct img_err *err)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", b->output);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	int w = snprintf(b->work, sizeof(b->work), "%s/.cabin-build.XXXXXX", dir);
	if (w < 0 || (size_t)w >= sizeof(b->work)) {
		b->work[0] = '\0';
		return img_fail(err, -ENAMETOOLONG, "output directory name too long: %s", dir);
	}
	if (!mkdtemp(b->work)) {
		int e = errno;
		b->work[0] = '\0';
		return img_fail(err, -e, "cannot create a work directory in %s: %s", dir,
				strerror(e));
	}
	return 0;
}

static int output_check(const struct img_build *b, struct img_err *err)
{
	struct stat st;
	const char *paths[] = { b->output, b->manifest_path };
	for (int i = 0; i < 2; i++)
		if (stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode))
			return img_fail(err, -EISDIR, "output %s is a directory", paths[i]);
	if (strcmp(b->output, b->manifest_path) == 0)
		return img_fail(err, IMG_EARG, "--manifest is the same file as --output");
	return 0;
}

/* The steps, in order; each leaves its files in the work dir. */
static int build_run(struct img_build *b, const char *kernel, const char *modules,
		     struct img_err *err)
{
	char initrd[4200], raw[4200], qcow[4200], man[4200];
	int rc = output_check(b, err);
	if (rc == 0)
		rc = make_workdir(b, err);
	if (rc < 0)
		return rc;
	if (b->kernel_deb)
		rc = kernel_from_deb(b, err);
	else if (kernel) {
		snprintf(b->kernel, sizeof(b->kernel), "%s", kernel);
		snprintf(b->modules, sizeof(b->modules), "%s", modules);
	} else
		rc = kernel_from_root(b, b->kernel_root ? b->kernel_root : "build/kernel", err);
	if (rc == 0)
		rc = kernel_check(b, err);
	snprintf(initrd, sizeof(initrd), "%s/initrd.img", b->work);
	snprintf(raw, sizeof(raw), "%s/disk.raw", b->work);
	snprintf(qcow, sizeof(qcow), "%s/image.qcow2", b->work);
	/* beside its final name, so the last rename cannot cross filesystems */
	snprintf(man, sizeof(man), "%s.tmp.%d", b->manifest_path, (int)getpid());
	if (rc == 0)
		rc = img_make_initrd(b, initrd, err);
	if (rc == 0)
		rc = img_make_disk(b, raw, initrd, err);
	int fd = rc == 0 ? open(raw, O_RDONLY | O_CLOEXEC) : -1;
	if (rc == 0 && fd < 0)
		rc = img_fail(err, -errno, "%s: %s", raw, strerror(errno));
	if (rc == 0) {
		img_step(b, "writing qcow2");
		rc = img_qcow2_convert(fd, qcow, err);
	}
	if (fd >= 0)
		close(fd);
	if (rc == 0)
		rc = img_manifest_write(b->man, b, qcow, man, err);
	if (rc == 0 && rename(qcow, b->output) < 0)
		rc = img_fail(err, -errno, "%s: %s", b->output, strerror(errno));
	if (rc == 0 && rename(man, b->manifest_path) < 0)
		rc = img_fail(err, -errno, "%s: %s", b->manifest_path, strerror(errno));
	if (rc < 0)
		unlink(man);
	return rc;
}

static void default_manifest(struct img_build *b, char *buf, size_t len)
{
	size_t n = strlen(b->output);
	if (n > 6 && strcmp(b->output + n - 6, ".qcow2") == 0)
		snprintf(buf, len, "%.*s.manifest.json", (int)(n - 6), b->output);
	else
		snprintf(buf, len, "%s.manifest.json", b->output);
	b->manifest_path = buf;
}

int img_build_main(int argc, char **argv)
{
	struct img_build b = { .output = "build/cabin.qcow2", .cabind = "build/cabind",
			       .module_list = "appliance/modules.txt", .disk_size = 1ull << 30 };
	struct img_err err = { "" };
	const char *kernel = NULL, *modules = NULL;
	char manifest[4200];
	int rc = build_parse(argc, argv, &b, &kernel, &modules);
	if (rc >= 0)
		return rc;
	if (!b.manifest_path)
		default_manifest(&b, manifest, sizeof(manifest));
	if (!(b.man = img_manifest_new())) {
		fprintf(stderr, "cabin build: out of memory\n");
		return 1;
	}
	rc = build_run(&b, kernel, modules, &err);
	if (b.work[0])
		nftw(b.work, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	img_manifest_free(b.man);
	if (rc < 0) {
		fprintf(stderr, "cabin build: %s\n", err.msg[0] ? err.msg : img_strerror(rc));
		return 1;
	}
	struct stat st;
	stat(b.output, &st);
	img_step(&b, "wrote %s (%.1f MiB) and %s", b.output, (double)st.st_size / 1048576.0,
		 b.manifest_path);
	return 0;
}
