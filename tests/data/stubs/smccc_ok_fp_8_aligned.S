/*
 * convention: smccc
 * expect: pass
 * The frame record sits 8-byte aligned (x29 = sp + 104). The Linux unwinder
 * rejects only fp & 7 (arch/arm64/kernel/stacktrace.c), so this is a valid frame.
 */
	sub    sp, sp, #128
	stp    x29, x30, [sp, #104]
	add    x29, sp, #104
	mov    x1, #0x12
	mov    x2, x0
	mov    w0, #0x46000000
	orr    w0, w0, #1
	hvc    #0
	ldp    x29, x30, [sp, #104]
	add    sp, sp, #128
	ret
