/*
 * convention: smccc
 * expect: P3
 * As in the posted patch, x29 is loaded from the context (ctx->x[29]) before the call
 * and only restored afterwards: between the two it is VTL0's frame pointer.
 */
	stp    x29, x30, [sp, #-16]!
	mov    x29, sp
	mov    x2, x0
	ldr    x29, [x2, #232]
	movz   w0, #0x1
	movk   w0, #0x4600, lsl #16
	mov    x1, #0x12
	hvc    #0
	ldp    x29, x30, [sp], #16
	ret
