/* Small filesystem helpers shared by cabind and cabin. */
#ifndef CABIN_FSUTIL_H
#define CABIN_FSUTIL_H

/* Creates the directories of path (mode 0755) that do not exist: every parent, and path
 * itself when last is non-zero. Returns 0 or -errno. */
int fs_mkdirs(const char *path, int last);

#endif
