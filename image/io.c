/* Whole-buffer read and write helpers for the image writers' thin I/O shells: they retry on
 * EINTR and short transfers so callers see only "all done" or an error. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "img_priv.h"

int img_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int img_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int img_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return IMG_EIO;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

bool img_is_zero(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (len == 0)
		return true;
	/* buf[0] == 0 and every byte equals its successor => all zero */
	return p[0] == 0 && memcmp(p, p + 1, len - 1) == 0;
}
