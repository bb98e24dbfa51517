/* Minimal stand-in for the kernel's <linux/types.h>, for compile tests only. */
#ifndef VTLGEN_TEST_SHIM_LINUX_TYPES_H
#define VTLGEN_TEST_SHIM_LINUX_TYPES_H
typedef unsigned char __u8;
typedef unsigned int __u32;
typedef unsigned long long __u64;
#endif
