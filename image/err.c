/* Error codes of the image module: the message table built from IMG_ERRORS and the helper
 * that records a detailed reason for the caller. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "img_priv.h"

const char *img_strerror(int rc)
{
#define IMG_ERR_CASE(name, value, text) \
	case value:                     \
		return text;
	switch (rc) {
		IMG_ERRORS(IMG_ERR_CASE)
	}
#undef IMG_ERR_CASE
	if (rc < 0 && rc > -4096)
		return strerror(-rc);
	return "unknown error";
}

int img_fail(struct img_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}
