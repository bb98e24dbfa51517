/*
 * convention: smccc
 * expect: P6
 * As smccc_ok_fp_8_aligned, but the record is only 4-byte aligned: fp & 7 != 0.
 */
	sub    sp, sp, #128
	stur   x29, [sp, #100]
	stur   x30, [sp, #108]
	add    x29, sp, #100
	mov    x1, #0x12
	mov    x2, x0
	mov    w0, #0x46000000
	orr    w0, w0, #1
	hvc    #0
	ldur   x29, [sp, #100]
	ldur   x30, [sp, #108]
	add    sp, sp, #128
	ret
