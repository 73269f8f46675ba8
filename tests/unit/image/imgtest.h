/* Helpers for the image unit tests: scratch directories, running external tools (cpio,
 * sfdisk, qemu-img, mtools) through the shell, and whole-file read/write. */
#ifndef CABIN_IMGTEST_H
#define CABIN_IMGTEST_H

#include <stddef.h>
#include <stdint.h>

/* Returns a new directory under $TMPDIR (or /tmp), malloc'd; exits on failure. */
char *tu_tmpdir(void);
/* Removes path and everything below it. */
void tu_rmrf(const char *path);
/* True when tool is an executable in $PATH (with /usr/sbin and /sbin appended). */
int tu_have(const char *tool);
/* Runs a printf-formatted shell command; returns its exit status, or -1 if it did not exit. */
int tu_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Runs a command and returns its stdout, malloc'd and NUL-terminated (NULL on failure). */
char *tu_sh_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Returns a malloc'd "dir/name". */
char *tu_join(const char *dir, const char *name);
/* Writes len bytes to path (created 0644, truncated). Returns 0 or -1. */
int tu_write_file(const char *path, const void *data, size_t len);
/* True when files a and b have the same size and bytes. Hole-aware: ranges that are holes in
 * both are not read, so comparing mostly sparse multi-GiB files is quick. */
int tu_same_file(const char *a, const char *b);
/* Returns the malloc'd contents of path and its length, or NULL. */
uint8_t *tu_read_file(const char *path, size_t *len);

#endif
