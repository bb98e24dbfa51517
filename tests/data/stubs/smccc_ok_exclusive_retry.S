/*
 * convention: smccc
 * expect: pass
 * An exclusive-store retry loop after the call, on a frame slot: x9 and w10 are
 * written before they are read, and cbnz reads w10, not NZCV.
 */
	stp    x29, x30, [sp, #-32]!
	mov    x29, sp
	mov    x1, #0x12
	mov    x2, x0
	mov    w0, #0x46000000
	orr    w0, w0, #1
	hvc    #0
skip:
	add    x11, sp, #16
	ldxr   x9, [x11]
	add    x9, x9, #1
	stxr   w10, x9, [x11]
	cbnz   w10, skip
	ldp    x29, x30, [sp], #32
	ret
