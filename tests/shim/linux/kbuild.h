/*
 * Minimal stand-in for the kernel's <linux/kbuild.h>, for compile tests only: each
 * DEFINE() leaves a "->SYMBOL #value expression" line in the compiler's assembly output,
 * which tests/support/kbuild.py turns into #defines as Kbuild's filechk_offsets does.
 */
#ifndef VTLGEN_TEST_SHIM_LINUX_KBUILD_H
#define VTLGEN_TEST_SHIM_LINUX_KBUILD_H
#define __used __attribute__((__used__))
#define DEFINE(sym, val) \
	asm volatile("\n.ascii \"->" #sym " %0 " #val "\"" : : "i" (val))
#define OFFSET(sym, str, mem) \
	DEFINE(sym, offsetof(struct str, mem))
#endif
