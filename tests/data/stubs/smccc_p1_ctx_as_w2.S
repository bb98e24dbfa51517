/*
 * convention: smccc
 * expect: P1
 * `mov w2, w0` passes a truncated context address.
 */
	stp    x29, x30, [sp, #-16]!
	mov    x29, sp
	mov    x1, #0x12
	mov    w2, w0
	mov    w0, #0x46000000
	orr    w0, w0, #1
	hvc    #0
	ldp    x29, x30, [sp], #16
	ret
