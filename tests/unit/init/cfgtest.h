/* Golden-file and failing-allocation drivers for the configuration parsers: each
 * testdata/DIR/NAME.in is parsed and the result (return code, config dump, messages) is
 * compared with NAME.ok. CABIN_UPDATE_GOLDEN=1 rewrites the .ok files instead. */
#ifndef CABIN_CFGTEST_H
#define CABIN_CFGTEST_H

#include <stddef.h>

#include "../../../init/config.h"

typedef int (*cfgtest_fn)(const char *data, size_t len, const char *source,
			  struct node_config *cfg, struct cfg_diag *diag);

/* The text a golden file holds for fn over data: "result: ...", the dump of a fresh
 * config, "--- messages", the messages. malloc'd. */
char *cfgtest_render(cfgtest_fn fn, const char *data, size_t len, const char *source);
/* Checks every DIR/NAME.in against its .ok (or rewrites them). Returns the failures;
 * *cases gets the number of inputs. Each case prints "ok NAME" or "FAIL NAME" and a diff. */
int cfgtest_golden(const char *dir, const char *source, cfgtest_fn fn, int *cases);
/* Fails the 1st, 2nd, ... allocation of fn over data until none fails. Each run must
 * return -ENOMEM leaving a pre-filled config exactly as it was, or (when only a message
 * could not be kept) what an unfailed run returns; leaks show up in ASan. Returns the
 * failures. */
int cfgtest_failalloc(cfgtest_fn fn, const char *data, size_t len, const char *source);

#endif
