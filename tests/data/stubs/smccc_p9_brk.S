/*
 * convention: smccc
 * expect: P9
 * A stray `brk` before the call: an exception that is not the conduit.
 */
	stp    x29, x30, [sp, #-16]!
	mov    x29, sp
	brk    #0x3e8
	mov    x1, #0x12
	mov    x2, x0
	mov    w0, #0x46000000
	orr    w0, w0, #1
	hvc    #0
	ldp    x29, x30, [sp], #16
	ret
