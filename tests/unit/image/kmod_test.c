/* The module closure over synthetic modules.dep text: dependencies first, shared ones
 * once, listed order kept, '-' and '_' the same, built-ins skipped, errors named. */
#include <stdlib.h>

#include "../../../image/build.h"
#include "../testutil.h"
#include "imgtest.h"

static const char dep[] =
	"kernel/drivers/virtio/virtio_ring.ko:\n"
	"kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko\n"
	"kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko "
	"kernel/net/core/failover.ko kernel/drivers/virtio/virtio.ko "
	"kernel/drivers/virtio/virtio_ring.ko\n"
	"kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko\n"
	"kernel/net/core/failover.ko:\n"
	"kernel/drivers/char/hw_random/virtio-rng.ko: kernel/drivers/virtio/virtio.ko "
	"kernel/drivers/virtio/virtio_ring.ko\n"
	"kernel/crypto/crc32c_generic.ko:\n";

static int index_of(const struct img_kmods *m, const char *path)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->paths[i], path) == 0)
			return (int)i;
	return -1;
}

static void test_closure_order(void)
{
	const char *names[] = { "crc32c_generic", "virtio_net", "virtio_rng" };
	struct img_kmods m;
	struct img_err err = { "" };
	TU_EQ_INT(img_kmod_closure(dep, sizeof(dep) - 1, NULL, names, 3, &m, &err), 0);
	TU_EQ_INT(m.n, 7);
	TU_EQ_STR(m.paths[0], "kernel/crypto/crc32c_generic.ko");
	int ring = index_of(&m, "kernel/drivers/virtio/virtio_ring.ko");
	int virtio = index_of(&m, "kernel/drivers/virtio/virtio.ko");
	int fo = index_of(&m, "kernel/net/core/failover.ko");
	int nfo = index_of(&m, "kernel/drivers/net/net_failover.ko");
	int net = index_of(&m, "kernel/drivers/net/virtio_net.ko");
	int rng = index_of(&m, "kernel/drivers/char/hw_random/virtio-rng.ko");
	TU_CHECK(ring >= 0 && virtio > ring && net > virtio);
	TU_CHECK(fo >= 0 && nfo > fo && net > nfo);
	TU_EQ_INT(rng, 6);	/* listed last, needs nothing new */
	img_kmods_free(&m);
}

static void test_builtin_and_unknown(void)
{
	const char *names[] = { "ext4", "virtio" };
	struct img_kmods m;
	struct img_err err = { "" };
	TU_EQ_INT(img_kmod_closure(dep, sizeof(dep) - 1, "kernel/fs/ext4/ext4.ko\n", names, 2,
				   &m, &err), 0);
	TU_EQ_INT(m.n, 2);
	img_kmods_free(&m);
	const char *bad[] = { "virtio", "no_such_module" };
	TU_EQ_INT(img_kmod_closure(dep, sizeof(dep) - 1, NULL, bad, 2, &m, &err), IMG_EARG);
	TU_CHECK(strstr(err.msg, "no_such_module") != NULL);
	TU_EQ_INT(m.n, 0);
}

static void test_malformed(void)
{
	const char *names[] = { "a" };
	struct img_kmods m;
	struct img_err err = { "" };
	const char missing[] = "kernel/a.ko: kernel/b.ko\n";
	TU_EQ_INT(img_kmod_closure(missing, sizeof(missing) - 1, NULL, names, 1, &m, &err),
		  IMG_EARG);
	TU_CHECK(strstr(err.msg, "kernel/b.ko") != NULL);
	const char nocolon[] = "kernel/a.ko\n";
	TU_EQ_INT(img_kmod_closure(nocolon, sizeof(nocolon) - 1, NULL, names, 1, &m, &err),
		  IMG_EARG);
	TU_CHECK(strstr(err.msg, "line 1") != NULL);
	const char cycle[] = "kernel/a.ko: kernel/b.ko\nkernel/b.ko: kernel/a.ko\n";
	TU_EQ_INT(img_kmod_closure(cycle, sizeof(cycle) - 1, NULL, names, 1, &m, &err),
		  IMG_EARG);
	TU_CHECK(strstr(err.msg, "cycle") != NULL);
}

static void test_read_names(void)
{
	char *dir = tu_tmpdir(), *p = tu_join(dir, "mods.txt");
	const char good[] = "# comment\nvirtio_net\n\n  ext4   # trailing\nvirtio-rng\n";
	char **names;
	size_t n, end[IMG_STAGES];
	struct img_err err = { "" };
	TU_EQ_INT(tu_write_file(p, good, sizeof(good) - 1), 0);
	TU_EQ_INT(img_read_names(p, &names, &n, end, &err), 0);
	TU_EQ_INT(n, 3);
	TU_EQ_INT(end[IMG_STAGE_BOOT], 3);	/* no sections: everything loads at boot */
	TU_EQ_INT(end[IMG_STAGE_CDROM], 3);
	TU_EQ_INT(end[IMG_STAGE_LATE], 3);
	TU_EQ_STR(names[1], "ext4");
	TU_EQ_STR(names[2], "virtio-rng");
	TU_CHECK(names[3] == NULL);
	img_names_free(names);
	const char bad[] = "virtio_net\next4.ko\n";
	TU_EQ_INT(tu_write_file(p, bad, sizeof(bad) - 1), 0);
	TU_EQ_INT(img_read_names(p, &names, &n, end, &err), IMG_EARG);
	TU_CHECK(strstr(err.msg, ":2:") != NULL);
	TU_CHECK(img_read_names("/nonexistent/x", &names, &n, end, &err) < 0);

	const char staged[] = "[boot]\nvirtio_net\n[after-ready]\nvxlan\nbridge\n";
	TU_EQ_INT(tu_write_file(p, staged, sizeof(staged) - 1), 0);
	TU_EQ_INT(img_read_names(p, &names, &n, end, &err), 0);
	TU_EQ_INT(n, 3);
	TU_EQ_INT(end[IMG_STAGE_BOOT], 1);
	TU_EQ_INT(end[IMG_STAGE_CDROM], 1);	/* an absent stage is empty */
	TU_EQ_INT(end[IMG_STAGE_LATE], 3);
	TU_EQ_STR(names[1], "vxlan");
	img_names_free(names);
	const char all3[] = "virtio_net\n[cdrom]\nsr_mod\nahci\n[after-ready]\nvxlan\n";
	TU_EQ_INT(tu_write_file(p, all3, sizeof(all3) - 1), 0);
	TU_EQ_INT(img_read_names(p, &names, &n, end, &err), 0);
	TU_EQ_INT(end[IMG_STAGE_BOOT], 1);
	TU_EQ_INT(end[IMG_STAGE_CDROM], 3);
	TU_EQ_INT(end[IMG_STAGE_LATE], 4);
	img_names_free(names);
	const char unknown[] = "virtio_net\n[later]\nvxlan\n";
	TU_EQ_INT(tu_write_file(p, unknown, sizeof(unknown) - 1), 0);
	TU_EQ_INT(img_read_names(p, &names, &n, end, &err), IMG_EARG);
	TU_CHECK(strstr(err.msg, ":2: '[later]'") != NULL);
	const char backwards[] = "[after-ready]\nvxlan\n[boot]\nvirtio_net\n";
	TU_EQ_INT(tu_write_file(p, backwards, sizeof(backwards) - 1), 0);
	TU_EQ_INT(img_read_names(p, &names, &n, end, &err), IMG_EARG);
	tu_rmrf(dir);
	free(p);
	free(dir);
}

int main(void)
{
	TU_RUN(test_closure_order);
	TU_RUN(test_builtin_and_unknown);
	TU_RUN(test_malformed);
	TU_RUN(test_read_names);
	return TU_EXIT();
}
