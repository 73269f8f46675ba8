/* A runner for transcript tests in the manner of etcd-io/raft's datadriven testdata: a
 * file of commands, each followed by "----" and its expected output up to a blank line.
 * The test supplies the command interpreter; CABIN_UPDATE_GOLDEN=1 rewrites the files. */
#ifndef CABIN_TRANSCRIPT_H
#define CABIN_TRANSCRIPT_H

#include <stddef.h>

/* Growing output text, always NUL-terminated once written to; s is heap-owned. */
struct tr_out {
	char *s;
	size_t n, cap;
};

void tr_printf(struct tr_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A command line split in place into words; "key=value" words have v set, bare words "". */
#define TR_MAX_ARGS 32
struct tr_args {
	int n;
	char *k[TR_MAX_ARGS], *v[TR_MAX_ARGS];
};

/* Splits line (modified; the args point into it). */
void tr_split(char *line, struct tr_args *a);
/* Returns the value of key (borrowed from a), or NULL if absent. */
const char *tr_arg(const struct tr_args *a, const char *key);

/* Runs one command (args borrowed), printing its output to out. Returns 0, or -1 when the
 * command cannot run (then "error: cannot run this command" is appended). */
typedef int tr_cmd_fn(void *ctx, const struct tr_args *args, struct tr_out *out);
/* Puts ctx back into its initial state; called at the start of every file. */
typedef void tr_reset_fn(void *ctx);

/* Runs every case of the file at path, printing "ok path" or the differences. Returns the
 * number of failed cases (an unreadable file counts as one). */
int tr_run_file(const char *path, tr_cmd_fn *cmd, tr_reset_fn *reset, void *ctx);
/* Runs every *.txt of dir in name order, as tr_run_file. Returns the failures in all; no
 * files at all is one failure. */
int tr_run_dir(const char *dir, tr_cmd_fn *cmd, tr_reset_fn *reset, void *ctx);

#endif
