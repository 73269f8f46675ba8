/* Choosing QEMU's accelerator. /dev/kvm can exist and still hang every real guest (here a
 * nested KVM runs a real-mode boot sector fine but never gets a kernel to print), so KVM
 * is proven by booting the node itself: if cabind has said nothing within the probe time,
 * the node is restarted under TCG. The verdict is kept in the state dir for this host
 * boot (keyed by the kernel's boot_id). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "qemu.h"

static void boot_id(char *out, size_t len)
{
	snprintf(out, len, "unknown");
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
	if (!f)
		return;
	if (fgets(out, (int)len, f))
		out[strcspn(out, "\n")] = '\0';
	fclose(f);
}

const char *qemu_pick_accel(const char *want, const char *state)
{
	if (strcmp(want, "kvm") == 0 || strcmp(want, "tcg") == 0)
		return want;
	if (access("/dev/kvm", R_OK | W_OK) < 0)
		return "tcg";
	char path[4200], id[64], line[160], cached_id[64] = "", verdict[16] = "";
	snprintf(path, sizeof(path), "%s/accel-verdict", state);
	boot_id(id, sizeof(id));
	FILE *f = fopen(path, "re");
	if (f) {
		if (fgets(line, sizeof(line), f) &&
		    sscanf(line, "%63s %15s", cached_id, verdict) == 2 &&
		    strcmp(cached_id, id) == 0 &&
		    (strcmp(verdict, "kvm") == 0 || strcmp(verdict, "tcg") == 0)) {
			fclose(f);
			return strcmp(verdict, "kvm") == 0 ? "kvm" : "tcg";
		}
		fclose(f);
	}
	return "probe";
}

void qemu_remember_accel(const char *state, const char *accel)
{
	char path[4200], id[64];
	snprintf(path, sizeof(path), "%s/accel-verdict", state);
	boot_id(id, sizeof(id));
	FILE *f = fopen(path, "we");
	if (!f)
		return;
	fprintf(f, "%s %s\n", id, accel);
	fclose(f);
}
