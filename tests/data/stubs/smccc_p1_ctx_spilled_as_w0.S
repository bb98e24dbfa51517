/*
 * convention: smccc
 * expect: P1
 * ctx is spilled with `str w0` and reloaded as x2: the upper half of the
 * address (above 4 GiB) is lost.
 */
	stp    x29, x30, [sp, #-32]!
	mov    x29, sp
	str    w0, [sp, #16]
	mov    x1, #0x12
	mov    w0, #0x46000000
	orr    w0, w0, #1
	ldr    w2, [sp, #16]
	hvc    #0
	ldp    x29, x30, [sp], #32
	ret
