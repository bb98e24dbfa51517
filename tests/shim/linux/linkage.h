/*
 * Minimal stand-in for <linux/linkage.h> on arm64, for assembling the kernel-flavour
 * stubs in tests. As in the kernel (include/linux/linkage.h, arch/arm64/include/asm/linkage.h),
 * SYM_FUNC_START emits a BTI landing pad; `hint #34` is `bti c`.
 */
#ifndef VTLGEN_TEST_SHIM_LINUX_LINKAGE_H
#define VTLGEN_TEST_SHIM_LINUX_LINKAGE_H
#define SYM_FUNC_START(name) \
	.globl name ; \
	.type name, %function ; \
	.balign 4 ; \
	name: ; \
	hint #34
#define SYM_FUNC_END(name) \
	.size name, . - name
#endif
