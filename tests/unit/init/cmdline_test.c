/* The kernel command line parser and the small word parsers of cabind. */
#include "../../../init/cabind.h"
#include "../testutil.h"

static void test_get_basic(void)
{
	char v[64];
	const char *cl = "BOOT_IMAGE=/vmlinuz console=tty0 console=ttyS0,115200n8 quiet "
			 "cabin.panic=reboot cabin.hostname=node-1";
	TU_EQ_INT(cmdline_get(cl, "cabin.panic", v, sizeof(v)), 1);
	TU_EQ_STR(v, "reboot");
	TU_EQ_INT(cmdline_get(cl, "cabin.hostname", v, sizeof(v)), 1);
	TU_EQ_STR(v, "node-1");
	/* the last of repeated keys wins, as in the kernel */
	TU_EQ_INT(cmdline_get(cl, "console", v, sizeof(v)), 1);
	TU_EQ_STR(v, "ttyS0,115200n8");
	/* a bare word is found, with an empty value */
	TU_EQ_INT(cmdline_get(cl, "quiet", v, sizeof(v)), 1);
	TU_EQ_STR(v, "");
}

static void test_get_absent_and_prefix(void)
{
	char v[16] = "x";
	TU_EQ_INT(cmdline_get("cabin.panicky=1 xcabin.panic=2", "cabin.panic", v, sizeof(v)), 0);
	TU_EQ_INT(cmdline_get("", "cabin.panic", v, sizeof(v)), 0);
	TU_EQ_INT(cmdline_get("   \n", "cabin.panic", v, sizeof(v)), 0);
}

static void test_get_quotes_and_truncation(void)
{
	char v[8];
	TU_EQ_INT(cmdline_get("a=1 cabin.x=\"hello world\" b=2", "cabin.x", v, sizeof(v)), 1);
	TU_EQ_STR(v, "hello w");	/* truncated to the buffer, still terminated */
	char w[64];
	TU_EQ_INT(cmdline_get("a=1 cabin.x=\"hello world\" b=2", "b", w, sizeof(w)), 1);
	TU_EQ_STR(w, "2");
	/* an unterminated quote runs to the end without reading past it */
	TU_EQ_INT(cmdline_get("cabin.x=\"abc def", "cabin.x", w, sizeof(w)), 1);
	TU_EQ_STR(w, "abc def");
}

static void test_power_words(void)
{
	TU_EQ_INT(power_parse("poweroff"), POWER_OFF);
	TU_EQ_INT(power_parse("reboot"), POWER_REBOOT);
	TU_EQ_INT(power_parse("halt"), POWER_HALT);
	TU_EQ_INT(power_parse("Reboot"), POWER_NONE);
	TU_EQ_INT(power_parse(""), POWER_NONE);
	TU_EQ_STR(power_name(POWER_OFF), "poweroff");
	TU_EQ_STR(power_name(POWER_NONE), "none");
}

static void test_hostname(void)
{
	TU_EQ_INT(hostname_valid("cabin"), 1);
	TU_EQ_INT(hostname_valid("node-1.example.org"), 1);
	TU_EQ_INT(hostname_valid(""), 0);
	TU_EQ_INT(hostname_valid("-x"), 0);
	TU_EQ_INT(hostname_valid("a..b"), 0);
	TU_EQ_INT(hostname_valid("a b"), 0);
	TU_EQ_INT(hostname_valid("a_b"), 0);
	TU_EQ_INT(hostname_valid("x."), 0);
	char longname[70];
	memset(longname, 'a', 65);
	longname[65] = '\0';
	TU_EQ_INT(hostname_valid(longname), 0);
	longname[64] = '\0';
	TU_EQ_INT(hostname_valid(longname), 1);
}

static void test_ds_nocloud(void)
{
	char url[64], val[128];
	TU_EQ_INT(ds_nocloud_url("nocloud;s=http://10.0.2.2:8000/", url, sizeof(url)), 1);
	TU_EQ_STR(url, "http://10.0.2.2:8000/");
	TU_EQ_INT(ds_nocloud_url("nocloud-net;h=web;seedfrom=http://a/b/;i=x", url, sizeof(url)), 1);
	TU_EQ_STR(url, "http://a/b/");
	TU_EQ_INT(ds_nocloud_url("nocloud;i=iid-1", url, sizeof(url)), 1);
	TU_EQ_STR(url, "");
	TU_EQ_INT(ds_nocloud_url("nocloud", url, sizeof(url)), 1);
	TU_EQ_STR(url, "");
	TU_EQ_INT(ds_nocloud_url("nocloudy;s=http://a/", url, sizeof(url)), 0);
	TU_EQ_INT(ds_nocloud_url("ConfigDrive", url, sizeof(url)), 0);
	TU_EQ_INT(ds_nocloud_url("nocloud;s=http://a/;s=http://b/", url, sizeof(url)), 1);
	TU_EQ_STR(url, "http://b/");	/* the last one, as on a command line */
	TU_EQ_INT(ds_nocloud_url("nocloud;s=http://a-very-long-host/seed/", url, 10), 1);
	TU_EQ_STR(url, "http://a-");
	/* as it comes from the kernel command line */
	TU_CHECK(cmdline_get("console=ttyS0 ds=nocloud;s=http://h:1/ quiet", "ds", val, sizeof(val)));
	TU_EQ_INT(ds_nocloud_url(val, url, sizeof(url)), 1);
	TU_EQ_STR(url, "http://h:1/");
}

int main(void)
{
	TU_RUN(test_get_basic);
	TU_RUN(test_get_absent_and_prefix);
	TU_RUN(test_get_quotes_and_truncation);
	TU_RUN(test_power_words);
	TU_RUN(test_hostname);
	TU_RUN(test_ds_nocloud);
	return TU_EXIT();
}
