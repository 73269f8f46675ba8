/* CRC-32C (Castagnoli, reflected polynomial 0x82f63b78) for the write-ahead log: the x86
 * SSE4.2 crc32 instruction, which computes exactly this CRC, where the CPU has it (asked
 * once with cpuid: QEMU's default CPU model does not); else slice-by-8, eight 256-entry
 * tables folding eight bytes a step, built on first use, every byte loaded on its own so
 * the result does not depend on byte order. */
#include <stdbool.h>
#include <string.h>

#include "wal.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <nmmintrin.h>

__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const uint8_t *b,
							  size_t n)
{
	uint64_t c = ~crc;

	for (; n >= 8; b += 8, n -= 8) {
		uint64_t v;
		memcpy(&v, b, 8);	/* little-endian: the bytes in order */
		c = _mm_crc32_u64(c, v);
	}
	crc = (uint32_t)c;
	while (n--)
		crc = _mm_crc32_u8(crc, *b++);
	return ~crc;
}

static int hw = -1;	/* unknown yet */

static bool have_hw(void)
{
	unsigned a, b, c, d;

	if (hw < 0)
		hw = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSE4_2);
	return hw;
}
#else
static uint32_t crc_hw(uint32_t crc, const uint8_t *b, size_t n)
{
	(void)b;
	(void)n;
	return crc;
}

static bool have_hw(void)
{
	return false;
}
#endif

static uint32_t tab[8][256];
static bool tab_ready;

static void tab_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int b = 0; b < 8; b++)
			c = (c >> 1) ^ (c & 1 ? 0x82f63b78u : 0);
		tab[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int k = 1; k < 8; k++)
			tab[k][i] = (tab[k - 1][i] >> 8) ^ tab[0][tab[k - 1][i] & 0xff];
	tab_ready = true;
}

uint32_t wal_crc32c(uint32_t crc, const void *p, size_t n)
{
	return have_hw() ? crc_hw(crc, p, n) : wal_crc32c_soft(crc, p, n);
}

uint32_t wal_crc32c_soft(uint32_t crc, const void *p, size_t n)
{
	const uint8_t *b = p;

	if (!tab_ready)
		tab_init();
	crc = ~crc;
	for (; n >= 8; b += 8, n -= 8) {
		uint32_t lo = crc ^ ((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
				     (uint32_t)b[3] << 24);
		uint32_t hi = (uint32_t)b[4] | (uint32_t)b[5] << 8 | (uint32_t)b[6] << 16 |
			      (uint32_t)b[7] << 24;
		crc = tab[7][lo & 0xff] ^ tab[6][(lo >> 8) & 0xff] ^ tab[5][(lo >> 16) & 0xff] ^
		      tab[4][lo >> 24] ^ tab[3][hi & 0xff] ^ tab[2][(hi >> 8) & 0xff] ^
		      tab[1][(hi >> 16) & 0xff] ^ tab[0][hi >> 24];
	}
	while (n--)
		crc = tab[0][(crc ^ *b++) & 0xff] ^ (crc >> 8);
	return ~crc;
}
