/* Minimal stand-in for the kernel's <linux/types.h>, for compile tests only. */
#ifndef VTLGEN_TEST_SHIM_LINUX_TYPES_H
#define VTLGEN_TEST_SHIM_LINUX_TYPES_H
typedef unsigned char __u8;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef unsigned __int128 __u128 __attribute__((aligned(16)));
typedef __u8 u8;
typedef __u32 u32;
typedef __u64 u64;
typedef __u128 u128;
#endif
