/*
 * convention: smccc
 * expect: P8
 * `dc zva` zeroes a 64-byte block past the context's reserved area: a write with
 * no load/store operand.
 */
	stp    x29, x30, [sp, #-16]!
	mov    x29, sp
	add    x9, x0, #1088
	and    x9, x9, #0xffffffffffffffc0
	dc     zva, x9
	mov    x1, #0x12
	mov    x2, x0
	mov    w0, #0x46000000
	orr    w0, w0, #1
	hvc    #0
	ldp    x29, x30, [sp], #16
	ret
