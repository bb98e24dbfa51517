/*
 * convention: smccc
 * expect: pass
 * A hand-written SMCCC VTL return: the frame is allocated with SUB and the record
 * written before x29 moves; the arguments are set in another order.
 */
	sub    sp, sp, #32
	stp    x29, x30, [sp, #16]
	add    x29, sp, #16
	mov    x1, #0x12
	mov    x2, x0
	mov    w0, #0x46000000
	orr    w0, w0, #1
	hvc    #0
	ldp    x29, x30, [sp, #16]
	add    sp, sp, #32
	ret
