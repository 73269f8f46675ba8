/* Growing the data partition's MBR entry to the end of a larger disk, and refusing to
 * when the table is not what the image wrote. */
#include <errno.h>

#include "../../../init/cabind.h"
#include "../testutil.h"

static void entry(uint8_t *s, int i, uint8_t type, uint32_t start, uint32_t count)
{
	uint8_t *e = s + 446 + 16 * i;
	e[4] = type;
	for (int k = 0; k < 4; k++) {
		e[8 + k] = (uint8_t)(start >> (8 * k));
		e[12 + k] = (uint8_t)(count >> (8 * k));
	}
}

static uint32_t count_of(const uint8_t *s, int i)
{
	const uint8_t *e = s + 446 + 16 * i + 12;
	return (uint32_t)e[0] | (uint32_t)e[1] << 8 | (uint32_t)e[2] << 16 | (uint32_t)e[3] << 24;
}

static void image_table(uint8_t *s)
{
	memset(s, 0, 512);
	s[510] = 0x55;
	s[511] = 0xaa;
	entry(s, 0, 0x0e, 2048, 131072);		/* boot, 64 MiB */
	entry(s, 1, 0x83, 133120, 2097152 - 133120);	/* data, to the end of 1 GiB */
}

static void test_grow(void)
{
	uint8_t s[512];
	uint32_t old, new;
	image_table(s);
	/* a 2 GiB disk: grows to the last whole 4 KiB block */
	TU_EQ_INT(mbr_grow(s, 2, 4194304, &old, &new), 1);
	TU_EQ_INT(old, 2097152 - 133120);
	TU_EQ_INT(new, 4194304 - 133120);
	TU_EQ_INT(count_of(s, 1), new);
	TU_EQ_INT(count_of(s, 0), 131072);	/* the boot partition is untouched */
	/* again: nothing to do */
	TU_EQ_INT(mbr_grow(s, 2, 4194304, &old, &new), 0);
	/* an odd number of sectors rounds down to 4 KiB */
	image_table(s);
	TU_EQ_INT(mbr_grow(s, 2, 4194304 + 5, &old, &new), 1);
	TU_EQ_INT(new % 8, 0);
	/* beyond 2 TiB the entry stops at the MBR limit */
	image_table(s);
	TU_EQ_INT(mbr_grow(s, 2, 8ull << 32, &old, &new), 1);
	TU_EQ_INT(new, 0xfffffff8u);
}

static void test_refuse(void)
{
	uint8_t s[512];
	uint32_t old, new;
	image_table(s);
	TU_EQ_INT(mbr_grow(s, 1, 4194304, &old, &new), -EINVAL);	/* not the last */
	TU_EQ_INT(mbr_grow(s, 3, 4194304, &old, &new), -EINVAL);	/* empty entry */
	TU_EQ_INT(mbr_grow(s, 5, 4194304, &old, &new), -EINVAL);
	TU_EQ_INT(mbr_grow(s, 2, 1000, &old, &new), -EINVAL);	/* disk smaller than it */
	s[510] = 0;
	TU_EQ_INT(mbr_grow(s, 2, 4194304, &old, &new), -EINVAL);	/* no signature */
}

int main(void)
{
	TU_RUN(test_grow);
	TU_RUN(test_refuse);
	return TU_EXIT();
}
