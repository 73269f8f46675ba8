/* `cabin upload`: the image to OpenStack Glance with the credentials the openstack CLI
 * would use. Creates the image with the properties an operator expects, streams the file
 * (PUT /file, or stage + glance-direct import) hashing it on the way, waits until it is
 * active and checks size and hash; whatever fails after the image exists deletes it, so
 * nothing unusable is left in the cloud. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../init/config_int.h"
#include "img.h"
#include "upload.h"

#define PROPS_MAX 64
#define DEFAULT_IMAGE "build/cabin.qcow2"

struct up_opts {
	const char *image, *name, *visibility, *cloud, *image_url;
	const char *props[PROPS_MAX];	/* "K=V" */
	int n_props;
	long min_disk, min_ram;		/* -1: not given */
	bool import, wait, replace;
	unsigned timeout_s;
};

/* What streaming the file learns, and the progress it shows. */
struct stream {
	struct img_sha512 sha512;
	struct img_sha256 sha256;
	uint64_t size, sent;
	bool tty;
	double t0, last;
	int quarter;			/* the last quarter reported without a terminal */
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: cabin upload [IMAGE] [--name NAME] [--property K=V]...\n"
		"                    [--visibility private|shared|community|public]\n"
		"                    [--min-disk GB] [--min-ram MB] [--import] [--wait|--no-wait]\n"
		"                    [--replace] [--os-cloud NAME] [--os-image-url URL]\n"
		"                    [--timeout SECONDS]\n"
		"\n"
		"Sends IMAGE (default %s) to OpenStack Glance as a qcow2 image and waits\n"
		"until it is active, then checks its size and hash against what was sent.\n"
		"Credentials are those of the openstack CLI: OS_CLOUD (or --os-cloud) names an\n"
		"entry of clouds.yaml (OS_CLIENT_CONFIG_FILE, ./, ~/.config/openstack/,\n"
		"/etc/openstack/; secrets may be in secure.yaml beside it), else the OS_*\n"
		"variables of an openrc file (password or application credential), or OS_TOKEN\n"
		"with OS_IMAGE_URL. If anything fails once the image exists, it is deleted.\n"
		"\n"
		"  --name NAME          image name (default cabin-VERSION from the manifest)\n"
		"  --property K=V       an image property; overrides the defaults\n"
		"                       (hw_disk_bus=virtio, hw_vif_model=virtio, os_type=linux,\n"
		"                       img_config_drive=mandatory, cabin_version, cabin_sha256)\n"
		"  --visibility V       private (default), shared, community or public\n"
		"  --min-disk GB        default: the image's virtual size, rounded up\n"
		"  --min-ram MB         default 256\n"
		"  --import             stage the data and import it (glance-direct) instead of\n"
		"                       PUT /file; used anyway when the cloud refuses the latter\n"
		"  --no-wait            return once the data is sent (no size or hash check)\n"
		"  --replace            replace images of the same name (deleted once the new\n"
		"                       one is active); without it, an existing name is an error\n"
		"  --os-cloud NAME      the clouds.yaml entry (default $OS_CLOUD)\n"
		"  --os-image-url URL   the image endpoint, instead of the service catalog's\n"
		"  --timeout SECONDS    how long to wait for the image to become active (600)\n"
		"  -h, --help           this help\n",
		DEFAULT_IMAGE);
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse(int argc, char **argv, struct up_opts *o)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'N' },
		{ "property", required_argument, NULL, 'p' },
		{ "visibility", required_argument, NULL, 'v' },
		{ "min-disk", required_argument, NULL, 'd' },
		{ "min-ram", required_argument, NULL, 'r' },
		{ "import", no_argument, NULL, 'i' },
		{ "wait", no_argument, NULL, 'w' },
		{ "no-wait", no_argument, NULL, 'W' },
		{ "replace", no_argument, NULL, 'R' },
		{ "os-cloud", required_argument, NULL, 'c' },
		{ "os-image-url", required_argument, NULL, 'u' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	long t;
	int ch;

	*o = (struct up_opts){ .image = DEFAULT_IMAGE, .visibility = "private", .min_disk = -1,
			       .min_ram = -1, .wait = true, .timeout_s = 600 };
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'N': o->name = optarg; break;
		case 'v': o->visibility = optarg; break;
		case 'i': o->import = true; break;
		case 'w': o->wait = true; break;
		case 'W': o->wait = false; break;
		case 'R': o->replace = true; break;
		case 'c': o->cloud = optarg; break;
		case 'u': o->image_url = optarg; break;
		case 'p':
			if (!strchr(optarg, '=') || optarg[0] == '=') {
				fprintf(stderr, "cabin upload: --property '%s': expected KEY=VALUE\n", optarg);
				return 2;
			}
			if (o->n_props == PROPS_MAX) {
				fprintf(stderr, "cabin upload: more than %d --property\n", PROPS_MAX);
				return 2;
			}
			o->props[o->n_props++] = optarg;
			break;
		case 'd':
		case 'r':
			if (parse_long(optarg, 0, 1L << 30, ch == 'd' ? &o->min_disk : &o->min_ram)) {
				fprintf(stderr, "cabin upload: --min-%s '%s': expected a whole number of "
					"%s\n", ch == 'd' ? "disk" : "ram", optarg, ch == 'd' ? "GB" : "MB");
				return 2;
			}
			break;
		case 't':
			if (parse_long(optarg, 1, 86400, &t)) {
				fprintf(stderr, "cabin upload: --timeout '%s': expected 1 to 86400 "
					"seconds\n", optarg);
				return 2;
			}
			o->timeout_s = (unsigned)t;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'cabin upload --help'.\n");
			return 2;
		}
	}
	if (optind < argc)
		o->image = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "cabin upload: unexpected argument '%s'\nTry 'cabin upload --help'.\n",
			argv[optind]);
		return 2;
	}
	static const char *const vis[] = { "private", "shared", "community", "public" };
	for (size_t i = 0; i < 4; i++)
		if (strcmp(o->visibility, vis[i]) == 0)
			return -1;
	fprintf(stderr, "cabin upload: --visibility '%s': expected private, shared, community or "
		"public\n", o->visibility);
	return 2;
}

/* ---- the manifest ----------------------------------------------------------------------- */

struct manifest {
	char version[128], sha256[IMG_SHA256_HEX];
	int64_t disk_size;
};

/* The build's manifest beside the image (X.qcow2 -> X.manifest.json), if it describes this
 * very file (its output sha256 is the file's). Returns true when it does. */
static bool manifest_of(const char *image, struct manifest *m)
{
	char path[4096], hex[IMG_SHA256_HEX];
	const char *dot = strrchr(image, '.');
	size_t base = dot && strcmp(dot, ".qcow2") == 0 ? (size_t)(dot - image) : strlen(image);
	struct cfg_arena a = { 0 };
	struct img_err err;
	const struct cfg_node *root, *v;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	bool ok = false;

	memset(m, 0, sizeof(*m));
	snprintf(path, sizeof(path), "%.*s.manifest.json", (int)base, image);
	if (!(f = fopen(path, "re")))
		return false;
	text = malloc(1 << 20);
	if (text)
		len = fread(text, 1, (1 << 20) - 1, f);
	fclose(f);
	if (text && (root = upl_parse(text, len, &a))) {
		snprintf(m->version, sizeof(m->version), "%s", upl_str(root, "cabin_version"));
		snprintf(m->sha256, sizeof(m->sha256), "%s", upl_str(upl_key(root, "output"), "sha256"));
		if ((v = upl_key(root, "disk_size")) && v->type == CFG_T_INT)
			m->disk_size = v->i;
		ok = m->version[0] && m->sha256[0] && img_sha256_file(image, hex, &err) == 0 &&
		     strcmp(hex, m->sha256) == 0;
	}
	cfg_arena_free(&a);
	free(text);
	if (!ok && m->version[0])
		fprintf(stderr, "cabin upload: %s does not describe %s (another build?): no "
			"cabin_version or cabin_sha256 property\n", path, image);
	return ok;
}

/* ---- the image's properties -------------------------------------------------------------- */

/* Value of property k among the user's, or NULL. */
static const char *user_prop(const struct up_opts *o, const char *k)
{
	size_t kl = strlen(k);
	const char *v = NULL;

	for (int i = 0; i < o->n_props; i++)
		if (strncmp(o->props[i], k, kl) == 0 && o->props[i][kl] == '=')
			v = o->props[i] + kl + 1;
	return v;
}

static void create_body(const struct up_opts *o, const char *name, const struct manifest *m,
			bool have_m, uint64_t size, struct upl_buf *b)
{
	static const char *const defaults[][2] = {
		{ "hw_disk_bus", "virtio" },
		{ "hw_vif_model", "virtio" },
		{ "os_type", "linux" },
		/* the cluster's configuration comes from the config drive first (the metadata
		 * service works too: --property img_config_drive=optional) */
		{ "img_config_drive", "mandatory" },
	};
	long min_disk = o->min_disk >= 0 ? o->min_disk
			: have_m && m->disk_size > 0 ? (long)((m->disk_size + (1 << 30) - 1) >> 30)
			: (long)((size + (1 << 30) - 1) >> 30);

	upl_buf_add(b, "{\"name\":", 8);
	upl_buf_json(b, name);
	upl_buf_addf(b, ",\"disk_format\":\"qcow2\",\"container_format\":\"bare\",\"visibility\":");
	upl_buf_json(b, o->visibility);
	upl_buf_addf(b, ",\"min_disk\":%ld,\"min_ram\":%ld", min_disk,
		     o->min_ram >= 0 ? o->min_ram : 256L);
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		if (!user_prop(o, defaults[i][0])) {
			upl_buf_addf(b, ",\"%s\":", defaults[i][0]);
			upl_buf_json(b, defaults[i][1]);
		}
	if (have_m && !user_prop(o, "cabin_version")) {
		upl_buf_addf(b, ",\"cabin_version\":");
		upl_buf_json(b, m->version);
	}
	if (have_m && !user_prop(o, "cabin_sha256")) {
		upl_buf_addf(b, ",\"cabin_sha256\":");
		upl_buf_json(b, m->sha256);
	}
	for (int i = 0; i < o->n_props; i++) {
		const char *eq = strchr(o->props[i], '=');
		bool later = false;	/* the last of the same key wins */
		for (int j = i + 1; j < o->n_props; j++)
			later = later || (strncmp(o->props[j], o->props[i], (size_t)(eq - o->props[i]) + 1) == 0);
		if (later)
			continue;
		char key[256];
		snprintf(key, sizeof(key), "%.*s", (int)(eq - o->props[i]), o->props[i]);
		upl_buf_add(b, ",", 1);
		upl_buf_json(b, key);
		upl_buf_add(b, ":", 1);
		upl_buf_json(b, eq + 1);
	}
	upl_buf_add(b, "}", 1);
}

/* ---- streaming and progress ---------------------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void show(struct stream *st, bool end)
{
	double t = now_s(), dt = t - st->t0;
	double mib = (double)st->sent / 1048576, total = (double)st->size / 1048576;
	double rate = dt > 0 ? mib / dt : 0;
	int pct = st->size ? (int)(st->sent * 100 / st->size) : 100;

	if (st->tty) {
		if (!end && t - st->last < 0.1)
			return;
		st->last = t;
		char bar[31];
		int fill = pct * 30 / 100;
		for (int i = 0; i < 30; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[30] = 0;
		double eta = rate > 0 ? (total - mib) / rate : 0;
		fprintf(stderr, "\r[%s] %3d%%  %.1f of %.1f MiB  %.1f MiB/s  ETA %d:%02d ", bar, pct,
			mib, total, rate, (int)eta / 60, (int)eta % 60);
		if (end)
			fputc('\n', stderr);
		return;
	}
	int q = pct / 25;
	if (q > st->quarter || (end && st->quarter < 4)) {
		st->quarter = q;
		fprintf(stderr, "cabin upload: %d%% sent (%.1f of %.1f MiB, %.1f MiB/s)\n", pct, mib,
			total, rate);
	}
}

static int on_sent(void *ctx, const uint8_t *data, size_t n)
{
	struct stream *st = ctx;

	if (interrupted)
		return 1;
	img_sha512_update(&st->sha512, data, n);
	img_sha256_update(&st->sha256, data, n);
	st->sent += n;
	show(st, false);
	return 0;
}

static void stream_start(struct stream *st, uint64_t size)
{
	img_sha512_init(&st->sha512);
	img_sha256_init(&st->sha256);
	st->size = size;
	st->sent = 0;
	st->t0 = st->last = now_s();
	st->quarter = 0;
	st->tty = isatty(2);
}

/* Sends the data by the way asked, or by import when the cloud refuses PUT /file. */
static int send_data(struct upl_session *s, const struct up_opts *o, const char *id,
		     const char *methods, int fd, uint64_t size, struct stream *st)
{
	bool import = o->import;
	uint64_t done;
	int rc;

	if (import && !strstr(methods, "glance-direct")) {
		snprintf(s->err, sizeof(s->err), "--import: the cloud offers no glance-direct import "
			 "(its import methods: %s)", methods[0] ? methods : "none");
		return -ENOTSUP;
	}
	stream_start(st, size);
	rc = upl_send(s, id, import, fd, size, on_sent, st, &done);
	if (rc == -EPROTO && !import && (s->status == 403 || s->status == 405 || s->status == 409) &&
	    strstr(methods, "glance-direct")) {
		fprintf(stderr, "%scabin upload: the cloud refuses PUT /file (HTTP %ld); using the "
			"interoperable import (glance-direct)\n", st->tty ? "\n" : "", s->status);
		import = true;
		stream_start(st, size);
		rc = upl_send(s, id, true, fd, size, on_sent, st, &done);
	}
	if (rc == 0)
		show(st, true);
	else if (st->tty)
		fputc('\n', stderr);
	if (rc == -ECANCELED)
		snprintf(s->err, sizeof(s->err), "interrupted after %llu of %llu bytes",
			 (unsigned long long)done, (unsigned long long)size);
	if (rc == 0 && import)
		rc = upl_import(s, id);
	return rc;
}

/* Waits for active, then checks size and hash. */
static int wait_active(struct upl_session *s, const struct up_opts *o, const char *id,
		       const struct stream *st, const char *sha512, const char *sha256)
{
	struct upl_image img;
	double deadline = now_s() + o->timeout_s;
	char last[32] = "";
	int rc;

	for (;;) {
		if ((rc = upl_show(s, id, &img)) < 0)
			return rc;
		if (strcmp(img.status, last) != 0 && strcmp(img.status, "active") != 0)
			fprintf(stderr, "cabin upload: image %s is %s\n", id, img.status);
		snprintf(last, sizeof(last), "%s", img.status);
		if (strcmp(img.status, "active") == 0)
			break;
		if (strcmp(img.status, "killed") == 0 || strcmp(img.status, "deleted") == 0 ||
		    strcmp(img.status, "pending_delete") == 0 || img.failed[0]) {
			snprintf(s->err, sizeof(s->err), "Glance gave up on the image: status %s%s%s",
				 img.status, img.failed[0] ? ", failed import to " : "", img.failed);
			return -EIO;
		}
		if (interrupted || now_s() > deadline) {
			snprintf(s->err, sizeof(s->err), interrupted ? "interrupted while the image "
				 "was %s" : "the image was still %s after %u s (--timeout)", img.status,
				 o->timeout_s);
			return interrupted ? -ECANCELED : -ETIMEDOUT;
		}
		usleep(500 * 1000);
	}
	if (img.size >= 0 && (uint64_t)img.size != st->size) {
		snprintf(s->err, sizeof(s->err), "Glance holds %lld bytes, %llu were sent",
			 (long long)img.size, (unsigned long long)st->size);
		return -EIO;
	}
	const char *want = strcmp(img.hash_algo, "sha512") == 0 ? sha512
			   : strcmp(img.hash_algo, "sha256") == 0 ? sha256 : NULL;
	if (!want) {
		fprintf(stderr, "cabin upload: Glance hashes with '%s', which cabin cannot check: "
			"size checked only\n", img.hash_algo[0] ? img.hash_algo : "nothing");
	} else if (strcmp(want, img.hash_value) != 0) {
		snprintf(s->err, sizeof(s->err), "hash mismatch: Glance's %s is %.16s..., what was "
			 "sent has %.16s...", img.hash_algo, img.hash_value, want);
		return -EIO;
	}
	return 0;
}

/* ---- the command ------------------------------------------------------------------------- */

static int open_image(const char *path, uint64_t *size)
{
	struct stat st;
	uint8_t magic[4];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "cabin upload: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || pread(fd, magic, 4, 0) != 4 || memcmp(magic, "QFI\xfb", 4)) {
		fprintf(stderr, "cabin upload: %s: not a qcow2 image\n", path);
		close(fd);
		return -1;
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

static void default_name(const char *image, const struct manifest *m, bool have_m, char *out,
			 size_t len)
{
	const char *base = strrchr(image, '/') ? strrchr(image, '/') + 1 : image;
	const char *dot = strrchr(base, '.');

	if (have_m)
		snprintf(out, len, "cabin-%s", m->version);
	else
		snprintf(out, len, "%.*s", dot && dot != base ? (int)(dot - base) : (int)strlen(base),
			 base);
}

/* After the image exists: the data, the wait, the checks. */
static int fill(struct upl_session *s, const struct up_opts *o, const char *id,
		const char *methods, int fd, uint64_t size)
{
	struct stream st;
	uint8_t d512[IMG_SHA512_LEN], d256[IMG_SHA256_LEN];
	char h512[IMG_SHA512_HEX], h256[IMG_SHA256_HEX];
	int rc = send_data(s, o, id, methods, fd, size, &st);

	if (rc)
		return rc;
	img_sha512_final(&st.sha512, d512);
	img_sha256_final(&st.sha256, d256);
	img_sha512_hex(d512, h512);
	img_sha256_hex(d256, h256);
	if (!o->wait) {
		printf("%s\n", id);
		fprintf(stderr, "cabin upload: sent; not waiting for the image to become active "
			"(no size or hash check)\n");
		return 0;
	}
	return wait_active(s, o, id, &st, h512, h256);
}

int img_upload_main(int argc, char **argv)
{
	struct up_opts o;
	struct upl_cred cred;
	struct upl_session s = { .cred = &cred };
	struct manifest m;
	char name[300], id[64] = "", methods[256] = "", old[16][64];
	struct upl_buf body = { 0 };
	uint64_t size;
	int rc = parse(argc, argv, &o), fd, n_old = 0;

	if (rc >= 0)
		return rc;
	if ((fd = open_image(o.image, &size)) < 0)
		return 1;
	bool have_m = manifest_of(o.image, &m);
	if (o.name)
		snprintf(name, sizeof(name), "%s", o.name);
	else
		default_name(o.image, &m, have_m, name, sizeof(name));
	if ((rc = upl_cred_load(&cred, o.cloud, o.image_url, s.err, sizeof(s.err))) < 0 ||
	    (rc = upl_login(&s)) < 0 ||
	    (rc = n_old = upl_find_by_name(&s, name, old, 16)) < 0)
		goto out;
	rc = 0;
	if (n_old && !o.replace) {
		snprintf(s.err, sizeof(s.err), "an image named '%s' exists already (%s); use "
			 "--replace to replace it or --name to choose another name", name, old[0]);
		rc = -EEXIST;
		goto out;
	}
	create_body(&o, name, &m, have_m, size, &body);
	if (body.oom) {
		snprintf(s.err, sizeof(s.err), "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if ((rc = upl_create(&s, body.p, id, sizeof(id), methods, sizeof(methods))) < 0)
		goto out;
	fprintf(stderr, "cabin upload: image %s (%s) created at %s; sending %s (%.1f MiB)\n", id,
		name, s.base, o.image, (double)size / 1048576);
	if ((rc = fill(&s, &o, id, methods, fd, size)) < 0) {
		char why[sizeof(s.err)];
		snprintf(why, sizeof(why), "%s", s.err);
		if (upl_delete(&s, id) == 0)
			snprintf(s.err, sizeof(s.err), "%s; the image %s was deleted", why, id);
		else {
			char del[sizeof(s.err)];
			snprintf(del, sizeof(del), "%s", s.err);
			snprintf(s.err, sizeof(s.err), "%s; the image %s could not be deleted (%s): "
				 "delete it with `openstack image delete %s`", why, id, del, id);
		}
		goto out;
	}
	if (!o.wait)
		goto out;
	for (int i = 0; i < n_old && i < 16; i++)
		if (upl_delete(&s, old[i]) == 0)
			fprintf(stderr, "cabin upload: replaced image %s deleted\n", old[i]);
		else
			fprintf(stderr, "cabin upload: %s\n", s.err);
	printf("%s\n", id);
	fprintf(stderr, "cabin upload: image %s is active: %llu bytes, hash checked\n"
		"Boot it with its cluster configuration on a config drive:\n"
		"  openstack server create --image %s --flavor FLAVOR --network NETWORK \\\n"
		"      --config-drive true --user-data user-data.yaml %s-1\n", id,
		(unsigned long long)size, id, "cabin");
out:
	upl_buf_free(&body);
	close(fd);
	if (rc < 0)
		fprintf(stderr, "cabin upload: %s\n", s.err);
	return rc == -ECANCELED || interrupted ? 130 : rc < 0 ? 1 : 0;
}
