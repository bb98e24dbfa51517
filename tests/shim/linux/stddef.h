/* Minimal stand-in for the kernel's <linux/stddef.h>, for compile tests only. */
#ifndef VTLGEN_TEST_SHIM_LINUX_STDDEF_H
#define VTLGEN_TEST_SHIM_LINUX_STDDEF_H
#undef offsetof
#define offsetof(TYPE, MEMBER) __builtin_offsetof(TYPE, MEMBER)
#define sizeof_field(TYPE, MEMBER) sizeof((((TYPE *)0)->MEMBER))
#endif
