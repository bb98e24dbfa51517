/*
 * convention: smccc
 * expect: pass
 * x30 carries ctx into x2 while the live record at x29 holds the entry x30.
 */
	stp    x29, x30, [sp, #-16]!
	mov    x29, sp
	mov    x30, x0
	mov    x2, x30
	mov    x1, #0x12
	mov    w0, #0x46000000
	orr    w0, w0, #1
	hvc    #0
	ldp    x29, x30, [sp], #16
	ret
