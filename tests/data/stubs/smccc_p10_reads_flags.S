/*
 * convention: smccc
 * expect: P10
 * `mrs x9, nzcv` after the call reads flags the call may change.
 */
	stp    x29, x30, [sp, #-16]!
	mov    x29, sp
	mov    x1, #0x12
	mov    x2, x0
	mov    w0, #0x46000000
	orr    w0, w0, #1
	hvc    #0
	mrs    x9, nzcv
	ldp    x29, x30, [sp], #16
	ret
