/*
 * convention: smccc
 * expect: P5,P7
 * x19 is saved below SP across the call. An interrupt at the trap may use that
 * stack (arm64 has no red zone), so x19 comes back changed: P7 where each access is
 * seen, and P5 through its effect everywhere.
 */
	stp    x29, x30, [sp, #-16]!
	mov    x29, sp
	str    x19, [sp, #-16]
	mov    x19, x0
	mov    x1, #0x12
	mov    x2, x19
	mov    w0, #0x46000000
	orr    w0, w0, #1
	hvc    #0
	ldr    x19, [sp, #-16]
	ldp    x29, x30, [sp], #16
	ret
