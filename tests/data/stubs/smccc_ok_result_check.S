/*
 * convention: smccc
 * expect: pass
 * After the call the stub tests the status in x0 (a declared result) with cbz and
 * cbnz w0: these read x0, not the flags, so nothing the call clobbered is relied on.
 */
	stp    x29, x30, [sp, #-16]!
	mov    x29, sp
	mov    x1, #0x12
	mov    x2, x0
	mov    w0, #0x46000000
	orr    w0, w0, #1
	hvc    #0
	cbz    x0, skip
	cbnz   w0, skip
	nop
skip:
	ldp    x29, x30, [sp], #16
	ret
