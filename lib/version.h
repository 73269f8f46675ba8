/* The version stamped into cabind and cabin. Only lib/version.c sees the string from the
 * Makefile, so a new commit rebuilds one object, not all of them. */
#ifndef CABIN_VERSION_H
#define CABIN_VERSION_H

extern const char cabin_version[];

#endif
