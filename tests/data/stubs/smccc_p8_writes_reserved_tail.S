/*
 * convention: smccc
 * expect: P8
 * A store at ctx+800, inside the reserved 1024 bytes but past the struct's slots.
 */
	stp    x29, x30, [sp, #-16]!
	mov    x29, sp
	str    xzr, [x0, #800]
	mov    x1, #0x12
	mov    x2, x0
	mov    w0, #0x46000000
	orr    w0, w0, #1
	hvc    #0
	ldp    x29, x30, [sp], #16
	ret
