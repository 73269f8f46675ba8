/* CRC-32C (Castagnoli, reflected polynomial 0x82f63b78) for the write-ahead log, slice-by-8:
 * eight 256-entry tables let one step fold eight bytes. The tables are built on first use;
 * every byte is loaded on its own, so the result does not depend on byte order. */
#include <stdbool.h>

#include "wal.h"

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
