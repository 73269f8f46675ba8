/* The small file helpers of the log shells (kv/wal_file.c for the store's log, kv/rlog.c
 * for Raft's): positioned writes, zeros written ahead, read-only maps, and directories of
 * files named by two hex numbers. */
#ifndef CABIN_KV_WAL_IO_H
#define CABIN_KV_WAL_IO_H

#include <stddef.h>
#include <stdint.h>

/* A file of a log: the two numbers of its name ("SSSSSSSSSSSSSSSS-RRRRRRRRRRRRRRRR.ext"). */
struct wal_name {
	uint64_t seq;
	int64_t rev;
};

/* fsync of a directory, so that a file created or renamed in it survives a crash. 0 or
 * -errno. */
int wal_fsync_dir(const char *dir);
/* Writes all n bytes at off (retrying short writes). 0 or -errno (-EIO for no progress). */
int wal_write_all(int fd, const uint8_t *p, size_t n, uint64_t off);
/* Writes zeros at [from, to) of fd, as far as it can: returns where they end. */
uint64_t wal_write_zeros(int fd, uint64_t from, uint64_t to);
/* Maps a file read-only (an empty one as an empty buffer). Returns 0 or -errno. */
int wal_map_file(const char *path, const uint8_t **p, size_t *len);
void wal_unmap_file(const uint8_t *p, size_t len);
/* Parses "SSSSSSSSSSSSSSSS-RRRRRRRRRRRRRRRR<suffix>" (lower-case hex). 0 or -1. */
int wal_parse_name(const char *name, const char *suffix, struct wal_name *out);
/* The files of dir named as suffix wants, in number order; leftover temporary files
 * (".tmp": a write that never finished) are removed on the way. Returns the count, or
 * -errno. *out is the caller's to free. */
long wal_list_dir(const char *dir, const char *suffix, struct wal_name **out);

#endif
