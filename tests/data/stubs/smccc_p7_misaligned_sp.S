/*
 * convention: smccc
 * expect: P7
 * An 8-byte push leaves SP misaligned at an SP-based store.
 */
	stp    x29, x30, [sp, #-16]!
	mov    x29, sp
	sub    sp, sp, #8
	str    x0, [sp]
	ldr    x2, [sp]
	add    sp, sp, #8
	movz   w0, #0x1
	movk   w0, #0x4600, lsl #16
	mov    x1, #0x12
	hvc    #0
	ldp    x29, x30, [sp], #16
	ret
