/* Public API of the host-side image writers used by `cabin build`: SHA-256, a cpio "newc"
 * archive writer, an MBR writer, a raw-to-qcow2 converter and a FAT timestamp normaliser.
 * Every writer is deterministic: the same inputs give the same bytes. */
#ifndef CABIN_IMG_H
#define CABIN_IMG_H

#include <stddef.h>
#include <stdint.h>

/* ---- errors ----------------------------------------------------------------------------
 * Fallible functions return 0 (or a count) on success and a negative code on failure:
 * -errno for a failed syscall, or one of the IMG_E* codes below for bad input. Functions that
 * take a `struct img_err *` (may be NULL) also write a one-line reason naming what was wrong
 * and where into it. */
#define IMG_ERRORS(X)                                                   \
	X(IMG_EARG, -1000, "invalid argument")                          \
	X(IMG_EPATH, -1001, "invalid archive path")                     \
	X(IMG_EDUP, -1002, "duplicate archive path")                    \
	X(IMG_ENOPARENT, -1003, "parent directory missing from archive") \
	X(IMG_ERANGE, -1004, "value out of range")                      \
	X(IMG_EOVERLAP, -1005, "partitions overlap")                    \
	X(IMG_ESIZE, -1006, "size not a multiple of 512")               \
	X(IMG_EBADFS, -1007, "not a valid FAT filesystem")              \
	X(IMG_EIO, -1008, "short read or write")

#define IMG_ERR_ENUM(name, value, text) name = value,
enum img_code { IMG_ERRORS(IMG_ERR_ENUM) };
#undef IMG_ERR_ENUM

struct img_err {
	char msg[256];
};

/* Returns a static description of rc (an IMG_E* code or a negative errno). */
const char *img_strerror(int rc);

/* ---- sha256.c ------------------------------------------------------------------------- */
#define IMG_SHA256_LEN 32
#define IMG_SHA256_HEX 65 /* 64 hex digits and a NUL */

struct img_sha256 {
	uint32_t h[8];
	uint64_t total; /* bytes hashed so far */
	uint8_t buf[64];
	size_t used; /* bytes pending in buf */
};

/* Starts a new hash in ctx (caller-owned). */
void img_sha256_init(struct img_sha256 *ctx);
/* Hashes len bytes at data (borrowed for the call). */
void img_sha256_update(struct img_sha256 *ctx, const void *data, size_t len);
/* Writes the 32-byte digest to out; ctx must be re-initialised before reuse. */
void img_sha256_final(struct img_sha256 *ctx, uint8_t out[IMG_SHA256_LEN]);
/* Writes the lowercase hex form of n bytes at p, NUL-terminated, into out (2n + 1). */
void img_hex(const uint8_t *p, size_t n, char *out);
/* Writes the lowercase hex form of digest, NUL-terminated, into hex. */
void img_sha256_hex(const uint8_t digest[IMG_SHA256_LEN], char hex[IMG_SHA256_HEX]);
/* Hashes the whole file at path, streaming, into lowercase hex. Returns 0 or -errno. */
int img_sha256_file(const char *path, char hex[IMG_SHA256_HEX], struct img_err *err);

/* ---- sha512.c ------------------------------------------------------------------------- */
#define IMG_SHA512_LEN 64
#define IMG_SHA512_HEX 129 /* 128 hex digits and a NUL */

struct img_sha512 {
	uint64_t h[8];
	uint64_t total; /* bytes hashed so far (images stay far below 2^61) */
	uint8_t buf[128];
	size_t used; /* bytes pending in buf */
};

/* As the img_sha256 functions. */
void img_sha512_init(struct img_sha512 *ctx);
void img_sha512_update(struct img_sha512 *ctx, const void *data, size_t len);
void img_sha512_final(struct img_sha512 *ctx, uint8_t out[IMG_SHA512_LEN]);
void img_sha512_hex(const uint8_t digest[IMG_SHA512_LEN], char hex[IMG_SHA512_HEX]);

/* ---- cpio.c: "newc" (070701) archive writer -------------------------------------------
 * Entries are collected, then written sorted bytewise by path with inode numbers 1, 2, ...
 * in that order, uid/gid 0, nlink 1 (directories 2) and every mtime set to the archive's
 * mtime. Paths are relative ("dev/console"): no leading or trailing '/', no empty, "." or
 * ".." components. Every parent directory must itself be an entry. `perm` is the permission
 * bits only (07777); the file type is implied by the function. All add functions return 0,
 * IMG_EPATH, IMG_ERANGE (perm or size), or -ENOMEM; they copy every string and buffer. */
struct img_cpio;

/* Returns a new, empty archive whose entries all get mtime, or NULL when out of memory.
 * The caller owns it and frees it with img_cpio_free. */
struct img_cpio *img_cpio_new(uint32_t mtime);
void img_cpio_free(struct img_cpio *c);
int img_cpio_add_dir(struct img_cpio *c, const char *path, unsigned perm);
/* The file at src is opened and streamed when the archive is written, not now. */
int img_cpio_add_file(struct img_cpio *c, const char *path, unsigned perm, const char *src);
int img_cpio_add_data(struct img_cpio *c, const char *path, unsigned perm, const void *data,
		      size_t len);
int img_cpio_add_symlink(struct img_cpio *c, const char *path, const char *target);
int img_cpio_add_chardev(struct img_cpio *c, const char *path, unsigned perm, unsigned major,
			 unsigned minor);
/* Writes the whole archive, ending with TRAILER!!!, to fd (borrowed) at its current position.
 * Returns 0, IMG_EDUP, IMG_ENOPARENT, IMG_ERANGE (a source file over 4 GiB), -ENOMEM or
 * -errno (reading a source file or writing fd). */
int img_cpio_write(struct img_cpio *c, int fd, struct img_err *err);

/* ---- mbr.c: classic MBR partition table ---------------------------------------------- */
#define IMG_MBR_BOOT_CODE 440

struct img_mbr_part {
	uint8_t type;      /* e.g. 0x0c FAT32 LBA, 0x83 Linux; never 0 */
	uint8_t bootable;  /* non-zero: active flag 0x80 */
	uint32_t start;    /* first sector (LBA), >= 1 */
	uint32_t sectors;  /* > 0 */
};

/* Builds a 512-byte MBR in out: boot_len (<= 440) bytes of boot_code (borrowed; may be NULL
 * when boot_len is 0), disk signature, nparts (<= 4) partitions in slots 1.., 0x55AA.
 * Partitions must lie within sector 1 .. disk_sectors - 1 and must not overlap.
 * Returns 0, IMG_EARG, IMG_ERANGE or IMG_EOVERLAP. No I/O. */
int img_mbr_build(uint8_t out[512], const uint8_t *boot_code, size_t boot_len,
		  uint32_t disk_sig, const struct img_mbr_part *parts, size_t nparts,
		  uint64_t disk_sectors, struct img_err *err);
/* Writes the 512-byte mbr to sector 0 of fd (borrowed). Returns 0 or -errno. */
int img_mbr_write(int fd, const uint8_t mbr[512], struct img_err *err);

/* ---- qcow2.c: raw image -> qcow2 v3 --------------------------------------------------
 * 64 KiB clusters, 16-bit refcounts, no backing file, compression or encryption. All-zero
 * clusters of the raw image are left unallocated. Same raw input, same output bytes. */

/* Converts the regular file raw_fd (borrowed; its size must be a multiple of 512 and its
 * contents must not change during the call; its file offset is moved) into a qcow2 file at
 * out_path (borrowed) with virtual size = raw size. Writes a temporary file beside out_path,
 * fsyncs and renames it, so out_path is either the complete new image or untouched; the
 * temporary is removed on error. Returns 0, IMG_ESIZE, IMG_ERANGE, IMG_EARG (raw not a
 * regular file), -ENOMEM or -errno (-EISDIR when out_path is a directory). */
int img_qcow2_convert(int raw_fd, const char *out_path, struct img_err *err);

/* ---- fatstamp.c: reproducible FAT timestamps -----------------------------------------
 * Sets creation, modification and access date-time of every short directory entry (live,
 * deleted, ".", "..", volume label) of the FAT12/16/32 filesystem starting at byte `offset`
 * of fd (borrowed) to `epoch`, as UTC, clamped to 1980-01-01..2107-12-31. Long-name entries
 * are left alone. Returns 0, IMG_EBADFS (BPB or directory structure invalid; err says what),
 * -ENOMEM or -errno. */
int img_fat_stamp(int fd, uint64_t offset, int64_t epoch, struct img_err *err);

#endif
