/*
 * convention: smccc
 * expect: P8
 * A store 4 KiB past the context, in memory that is mapped but not the context.
 */
	stp    x29, x30, [sp, #-16]!
	mov    x29, sp
	add    x9, x0, #4096
	str    xzr, [x9]
	mov    x1, #0x12
	mov    x2, x0
	mov    w0, #0x46000000
	orr    w0, w0, #1
	hvc    #0
	ldp    x29, x30, [sp], #16
	ret
