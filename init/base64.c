/* Base64 decoding (RFC 4648) for user data: write_files content, !!binary YAML values and
 * base64 MIME parts. Whitespace and line breaks are skipped; anything else that is not in
 * the alphabet is an error, so a mistyped payload is reported rather than half-decoded. */
#include "config_int.h"

static int b64_val(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

static int is_space(unsigned char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\f' || ch == '\v';
}

ssize_t b64_decode(const char *in, size_t len, uint8_t *out, size_t *bad)
{
	uint32_t acc = 0;
	int nacc = 0, pad = 0;
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];
		if (is_space(ch))
			continue;
		if (ch == '=' && nacc + pad >= 2 && nacc + pad < 4) {
			pad++;
			continue;
		}
		int v = b64_val(ch);
		if (v < 0 || pad) {
			*bad = i;
			return -1;
		}
		acc = acc << 6 | (uint32_t)v;
		if (++nacc == 4) {
			out[o++] = (uint8_t)(acc >> 16);
			out[o++] = (uint8_t)(acc >> 8);
			out[o++] = (uint8_t)acc;
			acc = 0;
			nacc = 0;
		}
	}
	if (nacc == 1 || (pad && nacc + pad != 4)) {
		*bad = len;
		return -1;
	}
	if (nacc == 2) {
		out[o++] = (uint8_t)(acc >> 4);
	} else if (nacc == 3) {
		out[o++] = (uint8_t)(acc >> 10);
		out[o++] = (uint8_t)(acc >> 2);
	}
	return (ssize_t)o;
}
