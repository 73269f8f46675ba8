/* The version stamped into cabind and cabin; the Makefile passes -DCABIN_VERSION. */
#ifndef CABIN_VERSION_H
#define CABIN_VERSION_H

#ifndef CABIN_VERSION
#define CABIN_VERSION "0.0.0-dev"
#endif

#endif
