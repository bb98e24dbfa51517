/*
 * convention: smccc
 * expect: P9
 * The right arguments, but the posted conduit `hvc #3` instead of `hvc #0`.
 */
	stp    x29, x30, [sp, #-16]!
	mov    x29, sp
	mov    x2, x0
	movz   w0, #0x1
	movk   w0, #0x4600, lsl #16
	mov    x1, #0x12
	hvc    #3
	ldp    x29, x30, [sp], #16
	ret
