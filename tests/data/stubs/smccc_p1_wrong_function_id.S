/*
 * convention: smccc
 * expect: P1
 * w0 carries 0x46000002, not HV_FUNC_ID (0x46000001).
 */
	stp    x29, x30, [sp, #-16]!
	mov    x29, sp
	mov    x2, x0
	movz   w0, #0x2
	movk   w0, #0x4600, lsl #16
	mov    x1, #0x12
	hvc    #0
	ldp    x29, x30, [sp], #16
	ret
