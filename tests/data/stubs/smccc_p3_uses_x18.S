/*
 * convention: smccc
 * expect: P3
 * x18 (the platform register, hypervisor-managed) is used as scratch and not restored.
 */
	stp    x29, x30, [sp, #-16]!
	mov    x29, sp
	mov    x18, x0
	mov    x2, x18
	movz   w0, #0x1
	movk   w0, #0x4600, lsl #16
	mov    x1, #0x12
	hvc    #0
	ldp    x29, x30, [sp], #16
	ret
