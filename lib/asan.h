/* AddressSanitizer's manual poisoning, for memory a program keeps and reuses itself (a
 * free list): POISON marks bytes that must not be touched until UNPOISON hands them out
 * again, so a stale pointer into them is still reported. No-ops in other builds. */
#ifndef CABIN_LIB_ASAN_H
#define CABIN_LIB_ASAN_H

#if defined(__SANITIZE_ADDRESS__)
#define CABIN_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CABIN_ASAN 1
#endif
#endif

#ifdef CABIN_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#endif
