/* cabin: the host command line. Builds the appliance image and runs local QEMU nodes;
 * each subcommand lives with its module and has its own --help. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "../lib/version.h"
#include "../qemu/qemu.h"
#include "build.h"

struct cabin_cmd {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *help;
};

static const struct cabin_cmd cabin_cmds[] = {
	{ "build", img_build_main, "write the bootable qcow2 image and its manifest" },
	{ "up", qemu_up_main, "boot N nodes (a cluster) under QEMU and wait until ready" },
	{ "start", qemu_start_main, "boot stopped nodes again, keeping their data" },
	{ "status", qemu_status_main, "list local nodes and their state" },
	{ "console", qemu_console_main, "print (or follow) a node's serial console" },
	{ "down", qemu_down_main, "power nodes off cleanly through ACPI" },
	{ "kill", qemu_kill_main, "stop nodes at once" },
	{ "upload", img_upload_main, "send the image to OpenStack Glance" },
};

static void cabin_usage(FILE *out)
{
	fprintf(out, "Usage: cabin COMMAND [OPTIONS]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(cabin_cmds) / sizeof(cabin_cmds[0]); i++)
		fprintf(out, "  %-9s %s\n", cabin_cmds[i].name, cabin_cmds[i].help);
	fprintf(out, "\n'cabin COMMAND --help' tells more; 'cabin --version' prints the "
		     "version.\n");
}

int main(int argc, char **argv)
{
	/* QEMU may close a QMP socket under us: that is an error to report, not a signal */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		cabin_usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		cabin_usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("cabin %s\n", cabin_version);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cabin_cmds) / sizeof(cabin_cmds[0]); i++) {
		if (strcmp(argv[1], cabin_cmds[i].name) != 0)
			continue;
		/* getopt names argv[0] in its messages: make that "cabin build" */
		static char name[32];
		snprintf(name, sizeof(name), "cabin %s", cabin_cmds[i].name);
		argv[1] = name;
		return cabin_cmds[i].main(argc - 1, argv + 1);
	}
	fprintf(stderr, "cabin: unknown command '%s'\n", argv[1]);
	cabin_usage(stderr);
	return 2;
}
