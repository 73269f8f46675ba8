/* Recognising the filesystems cabind looks for on block devices (config drives, NoCloud
 * seeds, the data partition) from their first bytes: iso9660, FAT and ext2/3/4, with
 * their labels. Pure: the caller reads the bytes. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "cabind.h"

static unsigned le16(const uint8_t *p) { return (unsigned)p[0] | (unsigned)p[1] << 8; }

/* Copies a fixed-width, space- or NUL-padded label and trims the padding. */
static void copy_label(char *out, size_t outlen, const uint8_t *p, size_t n)
{
	size_t len = 0;
	for (size_t i = 0; i < n && p[i]; i++)
		len = i + 1;
	while (len > 0 && p[len - 1] == ' ')
		len--;
	if (len >= outlen)
		len = outlen - 1;
	memcpy(out, p, len);
	out[len] = '\0';
}

static int probe_iso9660(const uint8_t *buf, size_t len, struct fs_probe *out)
{
	const uint8_t *pvd = buf + 32768;
	if (len < 32768 + 2048 || pvd[0] != 1 || memcmp(pvd + 1, "CD001", 5) != 0)
		return 0;
	out->type = FS_ISO9660;
	copy_label(out->label, sizeof(out->label), pvd + 40, 32);
	return 1;
}

static int probe_ext(const uint8_t *buf, size_t len, struct fs_probe *out)
{
	const uint8_t *sb = buf + 1024;
	if (len < 2048 || le16(sb + 56) != 0xef53)
		return 0;
	out->type = FS_EXT4;
	copy_label(out->label, sizeof(out->label), sb + 120, 16);
	return 1;
}

static int pow2(unsigned v) { return v && !(v & (v - 1)); }

/* A FAT boot sector: the BPB must be plausible before the label is trusted. */
static int probe_fat(const uint8_t *buf, size_t len, struct fs_probe *out)
{
	if (len < 512 || buf[510] != 0x55 || buf[511] != 0xaa)
		return 0;
	unsigned bps = le16(buf + 11), spc = buf[13], fats = buf[16];
	if (bps < 512 || bps > 4096 || !pow2(bps) || !pow2(spc) || fats == 0 ||
	    le16(buf + 14) == 0 || (buf[21] != 0xf0 && buf[21] < 0xf8))
		return 0;
	int fat32 = le16(buf + 22) == 0;
	const uint8_t *ext = buf + (fat32 ? 64 : 36);	/* drive number, then signature */
	out->type = FS_VFAT;
	out->label[0] = '\0';
	if (ext[2] == 0x29) {
		copy_label(out->label, sizeof(out->label), ext + 7, 11);
		if (strcmp(out->label, "NO NAME") == 0)
			out->label[0] = '\0';
	}
	return 1;
}

int fs_probe(const uint8_t *buf, size_t len, struct fs_probe *out)
{
	memset(out, 0, sizeof(*out));
	if (probe_iso9660(buf, len, out) || probe_ext(buf, len, out) ||
	    probe_fat(buf, len, out))
		return 0;
	return -EINVAL;
}

const char *fs_type_name(enum fs_type t)
{
	switch (t) {
	case FS_ISO9660: return "iso9660";
	case FS_VFAT: return "vfat";
	case FS_EXT4: return "ext4";
	case FS_UNKNOWN: break;
	}
	return "unknown";
}

int fs_label_is(const struct fs_probe *p, const char *label)
{
	return strcasecmp(p->label, label) == 0;
}
