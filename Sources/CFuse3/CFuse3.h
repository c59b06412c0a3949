// libfuse3's low-level (inode-based) API, as AuditFUSE imports it.
//
// FUSE_USE_VERSION must be defined before the headers are included; 314 is
// the API auditfs is written against (libfuse 3.14, Debian 12), and this is
// the one header both Swift and the C shims include, so both see the same
// structure layouts.
#ifndef AUDITFS_CFUSE3_H
#define AUDITFS_CFUSE3_H
#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>
#endif
