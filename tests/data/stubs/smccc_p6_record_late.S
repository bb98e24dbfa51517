/*
 * convention: smccc
 * expect: P6
 * x29 is pointed at the new frame before the caller's x29 is stored there: for one
 * instruction the unwinder finds garbage instead of {caller x29, return address}.
 */
	sub    sp, sp, #16
	str    x30, [sp, #8]
	mov    x16, x29
	mov    x29, sp
	str    x16, [sp]
	mov    x2, x0
	movz   w0, #0x1
	movk   w0, #0x4600, lsl #16
	mov    x1, #0x12
	hvc    #0
	ldp    x29, x30, [sp], #16
	ret
