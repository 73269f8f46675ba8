/* Tests image/mbr.c: field layout and CHS encoding, validation errors, and agreement with
 * sfdisk(8), which both parses our table and, given the same script, writes the same bytes. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../image/img_priv.h"
#include "../testutil.h"
#include "imgtest.h"

#define DISK_SECTORS (20ull << 21) /* 20 GiB: the second partition is past cylinder 1023 */

static const struct img_mbr_part parts[] = {
	{.type = 0x0c, .bootable = 1, .start = 2048, .sectors = 65536},
	{.type = 0x83, .start = 67584, .sectors = 20000000},
	{.type = 0x82, .start = 20067584, .sectors = 4096},
};

static void test_layout(void)
{
	uint8_t boot[IMG_MBR_BOOT_CODE], m[512];
	static const uint8_t p1[16] = {0x80, 0x20, 0x21, 0x00, 0x0c, 0x34, 0x30, 0x04,
				       0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00};
	static const uint8_t far[3] = {0xFE, 0xFF, 0xFF};

	memset(boot, 0xAB, sizeof(boot));
	TU_EQ_INT(img_mbr_build(m, boot, sizeof(boot), 0x12345678, parts, 3, DISK_SECTORS, NULL),
		  0);
	TU_CHECK(memcmp(m, boot, sizeof(boot)) == 0);
	TU_EQ_INT(img_get_le32(m + 440), 0x12345678);
	TU_EQ_INT(m[444] | m[445], 0);
	TU_CHECK(memcmp(m + 446, p1, 16) == 0);
	TU_EQ_INT(m[462], 0x00);                        /* p2 not bootable */
	TU_CHECK(memcmp(m + 462 + 5, far, 3) == 0);     /* p2 ends past cylinder 1023 */
	TU_CHECK(memcmp(m + 478 + 1, far, 3) == 0);     /* p3 starts past it */
	TU_CHECK(img_is_zero(m + 494, 16));             /* slot 4 empty */
	TU_EQ_INT(m[510], 0x55);
	TU_EQ_INT(m[511], 0xAA);
	TU_EQ_INT(img_mbr_build(m, NULL, 0, 0, NULL, 0, 1, NULL), 0);
	TU_CHECK(img_is_zero(m, 510));
}

static void test_errors(void)
{
	uint8_t m[512], boot[441] = {0};
	struct img_err err = {""};
	struct img_mbr_part p[5] = {parts[0], parts[1], parts[2], parts[0], parts[0]};

	TU_EQ_INT(img_mbr_build(m, boot, 441, 0, p, 1, DISK_SECTORS, &err), IMG_EARG);
	TU_EQ_INT(img_mbr_build(m, NULL, 0, 0, p, 5, DISK_SECTORS, &err), IMG_EARG);
	TU_EQ_INT(img_mbr_build(m, NULL, 0, 0, p, 4, DISK_SECTORS, &err), IMG_EOVERLAP);
	TU_CHECK(strstr(err.msg, "partition 1 (sectors 2048..67583) overlaps partition 4"));
	p[1].start = 67583;
	TU_EQ_INT(img_mbr_build(m, NULL, 0, 0, p, 2, DISK_SECTORS, &err), IMG_EOVERLAP);
	p[1].start = 67584;
	TU_EQ_INT(img_mbr_build(m, NULL, 0, 0, p, 3, 20071679, &err), IMG_ERANGE);
	TU_CHECK(strstr(err.msg, "partition 3 (sectors 20067584..20071679) ends beyond the disk"));
	TU_EQ_INT(img_mbr_build(m, NULL, 0, 0, p, 3, 20071680, &err), 0);
	p[0].start = 0;
	TU_EQ_INT(img_mbr_build(m, NULL, 0, 0, p, 1, DISK_SECTORS, &err), IMG_ERANGE);
	p[0].start = 1;
	p[0].sectors = 0;
	TU_EQ_INT(img_mbr_build(m, NULL, 0, 0, p, 1, DISK_SECTORS, &err), IMG_EARG);
	p[0].sectors = 1;
	p[0].type = 0;
	TU_EQ_INT(img_mbr_build(m, NULL, 0, 0, p, 1, DISK_SECTORS, &err), IMG_EARG);
}

static void load_boot(uint8_t boot[IMG_MBR_BOOT_CODE])
{
	size_t len = 0;
	uint8_t *b = tu_read_file("/usr/lib/syslinux/mbr/mbr.bin", &len);

	memset(boot, 0, IMG_MBR_BOOT_CODE);
	for (int i = 0; i < IMG_MBR_BOOT_CODE && !b; i++)
		boot[i] = (uint8_t)i;
	if (b)
		memcpy(boot, b, len < IMG_MBR_BOOT_CODE ? len : IMG_MBR_BOOT_CODE);
	free(b);
}

static void test_sfdisk(void)
{
	char *dir = tu_tmpdir(), *ours = tu_join(dir, "ours.img"), *ref = tu_join(dir, "ref.img");
	uint8_t boot[IMG_MBR_BOOT_CODE], m[512], r[512];
	struct img_err err = {""};
	char *json;
	int fd;

	load_boot(boot);
	TU_EQ_INT(img_mbr_build(m, boot, sizeof(boot), 0x12345678, parts, 3, DISK_SECTORS, &err),
		  0);
	fd = open(ours, O_RDWR | O_CREAT | O_TRUNC, 0644);
	TU_CHECK(fd >= 0 && ftruncate(fd, DISK_SECTORS * 512) == 0);
	TU_EQ_INT(img_mbr_write(fd, m, &err), 0);
	close(fd);
	json = tu_sh_out("sfdisk --json '%s'", ours);
	TU_CHECK(json && strstr(json, "\"label\": \"dos\"") && strstr(json, "\"id\": \"0x12345678\""));
	TU_CHECK(json && strstr(json, "\"start\": 2048,\n            \"size\": 65536,\n"
				      "            \"type\": \"c\",\n            \"bootable\": true"));
	TU_CHECK(json && strstr(json, "\"start\": 67584,\n            \"size\": 20000000,\n"
				      "            \"type\": \"83\"\n"));
	TU_CHECK(json && strstr(json, "\"start\": 20067584,\n            \"size\": 4096,\n"
				      "            \"type\": \"82\"\n"));
	if (!json || tu_failures)
		fprintf(stderr, "%s\n", json ? json : "(sfdisk failed)");
	/* sfdisk writing the same table must produce the same bytes after the boot code */
	TU_EQ_INT(tu_sh("truncate -s %llu '%s' && printf 'label: dos\\nlabel-id: 0x12345678\\n"
			"2048,65536,c,*\\n67584,20000000,83\\n20067584,4096,82\\n' | "
			"sfdisk -q '%s' >/dev/null",
			DISK_SECTORS * 512, ref, ref),
		  0);
	fd = open(ref, O_RDONLY);
	TU_CHECK(fd >= 0 && pread(fd, r, 512, 0) == 512);
	TU_CHECK(memcmp(m + 440, r + 440, 72) == 0);
	close(fd);
	free(json);
	tu_rmrf(dir);
	free(ours);
	free(ref);
	free(dir);
}

int main(void)
{
	TU_RUN(test_layout);
	TU_RUN(test_errors);
	if (!tu_have("sfdisk"))
		TU_SKIP("sfdisk tests: no sfdisk (Debian package fdisk)");
	TU_RUN(test_sfdisk);
	return TU_EXIT();
}
