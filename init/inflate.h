/* Deflate (RFC 1951) and gzip (RFC 1952) decompression for compressed user data and
 * write_files content: the image carries no zlib. Pure, bounded, checked (CRC-32 and size). */
#ifndef CABIN_INFLATE_H
#define CABIN_INFLATE_H

#include <stddef.h>
#include <stdint.h>

/* Decompresses one raw deflate stream from in[0..inlen) into out[0..outcap). Returns 0
 * with *outlen (bytes written) and *consumed (input bytes used, up to the byte holding the
 * last bit), -ENOSPC when the output would not fit in outcap, or -EBADMSG when the stream
 * is corrupt or truncated (*why, static text, says how). Never reads or writes outside the
 * given buffers. */
int inflate_raw(const uint8_t *in, size_t inlen, uint8_t *out, size_t outcap,
		size_t *outlen, size_t *consumed, const char **why);

/* Decompresses gzip data (every member, each CRC-32 and length checked). Returns 0 with
 * *out (allocated through the config allocator, NUL-terminated, freed by the caller with
 * cfg_free) and *outlen; -EFBIG when the result would exceed max bytes; -EBADMSG (*why says
 * how: not gzip, corrupt, truncated, CRC mismatch, trailing data); -ENOMEM. */
int inflate_gzip(const uint8_t *in, size_t inlen, size_t max, uint8_t **out,
		 size_t *outlen, const char **why);

/* True when data starts with the gzip magic bytes. */
int inflate_is_gzip(const void *data, size_t len);

/* CRC-32 (ISO-HDLC, as gzip): start with crc = 0, feed pieces in order. */
uint32_t inflate_crc32(uint32_t crc, const void *data, size_t len);

#endif
