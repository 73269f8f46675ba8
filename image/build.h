/* Internal interface of `cabin build`: the kernel-module closure, the boot and data
 * filesystems made by external tools, and the manifest. */
#ifndef CABIN_IMG_BUILD_H
#define CABIN_IMG_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/version.h"
#include "img.h"

/* ---- kmod.c: which modules to ship, in which order ----------------------------------
 * A pure core over the text of modules.dep ("path: dep dep ...", paths relative to the
 * modules directory). */
struct img_kmods {
	char **paths;		/* relative .ko paths, dependencies before dependants */
	size_t n;
};

/* Resolves names (module names; '-' and '_' are the same) to the closure of their
 * dependencies, ordered so that each module follows everything it needs and the listed
 * order is kept otherwise. A name found only in builtin (the text of modules.builtin, may
 * be NULL) is skipped. Returns 0, IMG_EARG (a name in neither, or a malformed line; err
 * says which) or -ENOMEM. out is owned by the caller: img_kmods_free. */
int img_kmod_closure(const char *dep, size_t dep_len, const char *builtin,
		     const char *const *names, size_t nnames, struct img_kmods *out,
		     struct img_err *err);
void img_kmods_free(struct img_kmods *m);
/* The stages in which cabind loads modules, in this order: before the configuration
 * search ("[boot]"), in the background during it, done before the data disk is mounted
 * ("[data]": the filesystem of the data partition, slow to load under TCG, loads while
 * block devices settle), when no configuration was found on a virtio disk ("[cdrom]":
 * the CD-ROM drivers, costly to probe), and in the background once ready
 * ("[after-ready]"). */
enum img_stage { IMG_STAGE_BOOT, IMG_STAGE_DATA, IMG_STAGE_CDROM, IMG_STAGE_LATE, IMG_STAGES };
extern const char *const img_stage_names[IMG_STAGES];	/* "boot", ... */
extern const char *const img_stage_lists[IMG_STAGES];	/* "lib/modules/cabin.list", ... */

/* Reads a module list file (one name per line, '#' comments, optional section headers
 * "[boot]", "[data]", "[cdrom]", "[after-ready]" in that order; names before any header are boot
 * names) into a NULL-terminated array; *n gets the count and end[s] the index just past
 * the last name of stage s (so stage s is names[end[s-1] .. end[s])). Returns 0, IMG_EARG
 * (a line that is not a module name, or an unknown or out-of-order section) or -errno.
 * Free with img_names_free. */
int img_read_names(const char *path, char ***names, size_t *n, size_t end[IMG_STAGES],
		   struct img_err *err);
void img_names_free(char **names);

/* ---- run.c: external tools ------------------------------------------------------------ */
/* Runs argv (argv[0] looked up in PATH) with extra environment entries env (NULL-ended,
 * may be NULL); stdout goes to out_fd if >= 0, else to /dev/null; stderr is captured and,
 * if the tool fails, copied into err. Returns 0 or IMG_EIO (non-zero exit), -errno. */
int img_run(char *const argv[], char *const env[], int out_fd, struct img_err *err);

#endif

/* ---- build.c and its steps ------------------------------------------------------------ */
struct img_manifest;

struct img_build {
	const char *output, *manifest_path, *cabind, *module_list, *append;
	const char *kernel_deb, *kernel_root;
	char kernel[4096];	/* vmlinuz */
	char modules[4096];	/* lib/modules/<version> */
	char kver[128];
	char work[4096];	/* private temporary directory */
	uint64_t disk_size;
	int64_t epoch;		/* SOURCE_DATE_EPOCH */
	int quiet;
	struct img_manifest *man;
};

/* Prints a progress line unless the build is quiet. */
void img_step(const struct img_build *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* initrd.c: the initramfs (cabind as /init, modules, their load list), compressed whole
 * with zstd into out_path. Returns 0 or a negative code with err set. */
int img_make_initrd(struct img_build *b, const char *out_path, struct img_err *err);

/* disk.c: the raw disk at raw_path: MBR, FAT boot partition with syslinux, kernel and
 * initrd, ext4 data partition. Returns 0 or a negative code with err set. */
int img_make_disk(struct img_build *b, const char *raw_path, const char *initrd,
		  struct img_err *err);

/* manifest.c: every input that went into the image, with its sha256. */
struct img_manifest *img_manifest_new(void);
void img_manifest_free(struct img_manifest *m);
/* Hashes the file at path now and records it under role (e.g. "kernel"). Returns 0,
 * -ENOMEM or -errno with err set. */
int img_manifest_add(struct img_manifest *m, const char *role, const char *path,
		     struct img_err *err);
/* Writes the manifest as JSON to path (fsynced; the caller renames it into place), with
 * the sha256 of the image file built (recorded under b->output) and the build
 * parameters. Returns 0 or a negative code with err set; on error path is removed. */
int img_manifest_write(const struct img_manifest *m, const struct img_build *b,
		       const char *built, const char *path, struct img_err *err);

/* Entry point of `cabin build`; argv[0] is "build". Returns the exit status. */
int img_build_main(int argc, char **argv);
/* `cabin upload` (image/upload.c). */
int img_upload_main(int argc, char **argv);
