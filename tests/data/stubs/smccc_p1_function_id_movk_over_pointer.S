/*
 * convention: smccc
 * expect: P1
 * The function ID is built with movk into x0, which still holds ctx: x0[63:32]
 * keeps the pointer's upper half instead of the zero-extended 32-bit ID.
 */
	stp    x29, x30, [sp, #-16]!
	mov    x29, sp
	mov    x2, x0
	mov    x1, #0x12
	movk   x0, #0x4600, lsl #16
	movk   x0, #0x0001
	hvc    #0
	ldp    x29, x30, [sp], #16
	ret
