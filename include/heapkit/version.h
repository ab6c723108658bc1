/* SPDX-License-Identifier: MIT */
/*
 * heapkit/version.h - the version of heapkit these headers belong to.
 *
 * Semantic versioning: a MAJOR change breaks source compatibility, a MINOR
 * one adds API, a PATCH one only fixes. HK_VERSION is one comparable number:
 *     #if HK_VERSION >= HK_VERSION_OF(0, 9, 0)
 * The top-level CMakeLists.txt reads its project version from this file, so
 * this is the one place a release changes it (and CHANGELOG.md).
 */
#ifndef HEAPKIT_VERSION_H
#define HEAPKIT_VERSION_H

#define HK_VERSION_MAJOR 0
#define HK_VERSION_MINOR 9
#define HK_VERSION_PATCH 0

#define HK_VERSION_OF(major, minor, patch) ((major) * 10000L + (minor) * 100L + (patch))
#define HK_VERSION HK_VERSION_OF(HK_VERSION_MAJOR, HK_VERSION_MINOR, HK_VERSION_PATCH)

#define HK_VERSION_STR__(x) #x
#define HK_VERSION_STR_(a, b, c) HK_VERSION_STR__(a) "." HK_VERSION_STR__(b) "." HK_VERSION_STR__(c)
/* "0.9.0" */
#define HK_VERSION_STRING HK_VERSION_STR_(HK_VERSION_MAJOR, HK_VERSION_MINOR, HK_VERSION_PATCH)

#endif /* HEAPKIT_VERSION_H */
