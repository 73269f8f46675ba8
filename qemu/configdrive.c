/* The config drive `cabin up` gives each node, as OpenStack Nova builds it: a small FAT
 * filesystem labelled config-2 holding openstack/latest/meta_data.json (the node's name
 * and a fresh uuid) and, with --user-data or for a cluster's node, user_data and
 * network_data.json. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../image/build.h"
#include "qemu.h"

#define DRIVE_SIZE (16u << 20)	/* room for user data up to ~15 MiB */

static int random_uuid(char out[37])
{
	unsigned char b[16];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, b, sizeof(b));
	close(fd);
	if (n != (ssize_t)sizeof(b))
		return -EIO;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
	return 0;
}

static int write_meta(const char *dir, const struct qemu_node *n, struct img_err *err)
{
	char path[4200], uuid[37];
	int rc = random_uuid(uuid);
	if (rc < 0) {
		snprintf(err->msg, sizeof(err->msg), "/dev/urandom: %s", strerror(-rc));
		return rc;
	}
	snprintf(path, sizeof(path), "%s/openstack/latest/meta_data.json", dir);
	FILE *f = fopen(path, "we");
	if (!f) {
		rc = -errno;
		snprintf(err->msg, sizeof(err->msg), "%s: %s", path, strerror(-rc));
		return rc;
	}
	fprintf(f, "{\"uuid\": \"%s\", \"name\": \"%s\", \"hostname\": \"%s\", "
		   "\"launch_index\": 0, \"availability_zone\": \"cabin\"}\n", uuid, n->name,
		n->name);
	return fclose(f) == 0 ? 0 : -errno;
}

int qemu_config_drive(const struct qemu_node *n, const char *user_data,
		      const char *network_data, char *errbuf, size_t errlen)
{
	struct img_err err = { "" };
	char img[4200], tree[4200], dir[4300], mimg[4300], total[16];
	struct stat st;
	if (user_data && stat(user_data, &st) < 0) {
		snprintf(errbuf, errlen, "user data %s: %s", user_data, strerror(errno));
		return -errno;
	}
	if (user_data && (!S_ISREG(st.st_mode) || st.st_size > (off_t)DRIVE_SIZE - (1 << 20))) {
		snprintf(errbuf, errlen, "user data %s: not a regular file under 15 MiB", user_data);
		return -EINVAL;
	}
	qemu_node_path(n, "config-2.img", img, sizeof(img));
	qemu_node_path(n, "config-2", tree, sizeof(tree));
	snprintf(dir, sizeof(dir), "%s/openstack/latest", tree);
	char *rm[] = { "rm", "-rf", tree, img, NULL };
	char *mk[] = { "mkdir", "-p", dir, NULL };
	int rc = img_run(rm, NULL, -1, &err);
	if (rc == 0)
		rc = img_run(mk, NULL, -1, &err);
	if (rc == 0)
		rc = write_meta(tree, n, &err);
	if (rc == 0 && user_data) {
		snprintf(dir, sizeof(dir), "%s/openstack/latest/user_data", tree);
		char *cp[] = { "cp", (char *)user_data, dir, NULL };
		rc = img_run(cp, NULL, -1, &err);
	}
	if (rc == 0 && network_data) {
		snprintf(dir, sizeof(dir), "%s/openstack/latest/network_data.json", tree);
		char *cp[] = { "cp", (char *)network_data, dir, NULL };
		rc = img_run(cp, NULL, -1, &err);
	}
	int fd = rc == 0 ? open(img, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
	if (rc == 0 && (fd < 0 || ftruncate(fd, DRIVE_SIZE) < 0))
		rc = -errno;
	if (fd >= 0)
		close(fd);
	snprintf(total, sizeof(total), "%u", DRIVE_SIZE / 512);
	snprintf(mimg, sizeof(mimg), "%s", img);
	snprintf(dir, sizeof(dir), "%s/openstack", tree);
	char *env[] = { "MTOOLS_SKIP_CHECK=1", "MTOOLSRC=/dev/null", NULL };
	char *fmt[] = { "mformat", "-i", mimg, "-T", total, "-v", "config-2", "::", NULL };
	char *copy[] = { "mcopy", "-s", "-i", mimg, dir, "::/", NULL };
	if (rc == 0)
		rc = img_run(fmt, env, -1, &err);
	if (rc == 0)
		rc = img_run(copy, env, -1, &err);
	if (rc < 0)
		snprintf(errbuf, errlen, "config drive %s: %s", img,
			 err.msg[0] ? err.msg : strerror(-rc));
	return rc;
}
