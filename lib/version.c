/* The version string, from -DCABIN_VERSION (release plus git commit). */
#include "version.h"

#ifndef CABIN_VERSION
#define CABIN_VERSION "0.0.0-dev"
#endif

const char cabin_version[] = CABIN_VERSION;
