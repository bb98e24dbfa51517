/*
 * convention: smccc
 * expect: P3
 * The record is pushed but x29 never points at it, and x30 is used as scratch:
 * for that span no live frame record holds the return address.
 */
	stp    x29, x30, [sp, #-16]!
	mov    x30, x0
	mov    x2, x30
	mov    x1, #0x12
	mov    w0, #0x46000000
	orr    w0, w0, #1
	hvc    #0
	ldp    x29, x30, [sp], #16
	ret
