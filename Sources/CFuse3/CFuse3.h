// libfuse3's low-level (inode-based) API, as AuditFUSE imports it.
//
// FUSE_USE_VERSION must be defined before the headers are included, and must
// be 312 or more: below 312, fuse_lowlevel.h maps fuse_session_loop_mt() to
// the old fuse_session_loop_mt_32 (old struct layout) while
// fuse_loop_cfg_create() returns the new opaque config, and the loop reads
// garbage (clone_fd on, one thread created per request; FUSE-NOTES.md).
#ifndef AUDITFS_CFUSE3_H
#define AUDITFS_CFUSE3_H
#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>
#endif
