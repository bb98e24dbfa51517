/*
 * Minimal stand-in for the kernel's <linux/build_bug.h>, for compile tests only: as in the
 * kernel, the one-argument static_assert() reports its expression.
 */
#ifndef VTLGEN_TEST_SHIM_LINUX_BUILD_BUG_H
#define VTLGEN_TEST_SHIM_LINUX_BUILD_BUG_H
#define static_assert(expr, ...) __static_assert(expr, ##__VA_ARGS__, #expr)
#define __static_assert(expr, msg, ...) _Static_assert(expr, msg)
#endif
