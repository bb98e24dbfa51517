/*
 * vtlgen's qemu-system test image: the assembly around qemu_system_image.c.
 *
 * EL2: the entry point, the vector table (Arm ARM D1 "Exception vectors": 16 entries of
 * 0x80 bytes, the table 2 KB aligned; synchronous exceptions from a lower EL using
 * AArch64 at +0x400) and the frame save/restore around vtlgen_el2_sync. The frame is a
 * struct cpu (generated header): x0-x30, then the Q registers, which EL2's C code
 * (compiled with -mgeneral-regs-only) never touches.
 * EL1: the caller, which calls the stub through `blr` as production code does, and EL1's
 * vector table, which hands every exception to EL2 with `hvc #FAULT_IMMEDIATE`.
 */
#include "qemu_system.h"

	.section .text.boot, "ax"
	.global _start
_start:
	ldr	x0, =vtlgen_el2_stack_top
	mov	sp, x0
	ldr	x0, =vtlgen_el2_vectors
	msr	vbar_el2, x0
	isb
	bl	vtlgen_main
1:	b	1b

	.macro	save_frame
	sub	sp, sp, #CPU_FRAME
	stp	x0, x1, [sp, #CPU_OFFSET_X + 8 * 0]
	stp	x2, x3, [sp, #CPU_OFFSET_X + 8 * 2]
	stp	x4, x5, [sp, #CPU_OFFSET_X + 8 * 4]
	stp	x6, x7, [sp, #CPU_OFFSET_X + 8 * 6]
	stp	x8, x9, [sp, #CPU_OFFSET_X + 8 * 8]
	stp	x10, x11, [sp, #CPU_OFFSET_X + 8 * 10]
	stp	x12, x13, [sp, #CPU_OFFSET_X + 8 * 12]
	stp	x14, x15, [sp, #CPU_OFFSET_X + 8 * 14]
	stp	x16, x17, [sp, #CPU_OFFSET_X + 8 * 16]
	stp	x18, x19, [sp, #CPU_OFFSET_X + 8 * 18]
	stp	x20, x21, [sp, #CPU_OFFSET_X + 8 * 20]
	stp	x22, x23, [sp, #CPU_OFFSET_X + 8 * 22]
	stp	x24, x25, [sp, #CPU_OFFSET_X + 8 * 24]
	stp	x26, x27, [sp, #CPU_OFFSET_X + 8 * 26]
	stp	x28, x29, [sp, #CPU_OFFSET_X + 8 * 28]
	str	x30, [sp, #CPU_OFFSET_X + 8 * 30]
	add	x0, sp, #CPU_OFFSET_Q
	stp	q0, q1, [x0], #32
	stp	q2, q3, [x0], #32
	stp	q4, q5, [x0], #32
	stp	q6, q7, [x0], #32
	stp	q8, q9, [x0], #32
	stp	q10, q11, [x0], #32
	stp	q12, q13, [x0], #32
	stp	q14, q15, [x0], #32
	stp	q16, q17, [x0], #32
	stp	q18, q19, [x0], #32
	stp	q20, q21, [x0], #32
	stp	q22, q23, [x0], #32
	stp	q24, q25, [x0], #32
	stp	q26, q27, [x0], #32
	stp	q28, q29, [x0], #32
	stp	q30, q31, [x0], #32
	.endm

	.text
	.global	vtlgen_enter
vtlgen_enter:			/* x0: the frame to ERET with, on a fresh EL2 stack */
	ldr	x1, =vtlgen_el2_stack_top
	sub	sp, x1, #CPU_FRAME
	mov	x2, #0
1:	ldr	x3, [x0, x2]
	str	x3, [sp, x2]
	add	x2, x2, #8
	cmp	x2, #CPU_FRAME
	b.lo	1b
	b	restore_and_return

el2_irq_lower:
	save_frame
	mov	x0, sp
	bl	vtlgen_el2_irq
	b	restore_and_return

el2_sync_lower:
	save_frame
	mov	x0, sp
	bl	vtlgen_el2_sync
restore_and_return:
	add	x0, sp, #CPU_OFFSET_Q
	ldp	q0, q1, [x0], #32
	ldp	q2, q3, [x0], #32
	ldp	q4, q5, [x0], #32
	ldp	q6, q7, [x0], #32
	ldp	q8, q9, [x0], #32
	ldp	q10, q11, [x0], #32
	ldp	q12, q13, [x0], #32
	ldp	q14, q15, [x0], #32
	ldp	q16, q17, [x0], #32
	ldp	q18, q19, [x0], #32
	ldp	q20, q21, [x0], #32
	ldp	q22, q23, [x0], #32
	ldp	q24, q25, [x0], #32
	ldp	q26, q27, [x0], #32
	ldp	q28, q29, [x0], #32
	ldp	q30, q31, [x0], #32
	ldp	x0, x1, [sp, #CPU_OFFSET_X + 8 * 0]
	ldp	x2, x3, [sp, #CPU_OFFSET_X + 8 * 2]
	ldp	x4, x5, [sp, #CPU_OFFSET_X + 8 * 4]
	ldp	x6, x7, [sp, #CPU_OFFSET_X + 8 * 6]
	ldp	x8, x9, [sp, #CPU_OFFSET_X + 8 * 8]
	ldp	x10, x11, [sp, #CPU_OFFSET_X + 8 * 10]
	ldp	x12, x13, [sp, #CPU_OFFSET_X + 8 * 12]
	ldp	x14, x15, [sp, #CPU_OFFSET_X + 8 * 14]
	ldp	x16, x17, [sp, #CPU_OFFSET_X + 8 * 16]
	ldp	x18, x19, [sp, #CPU_OFFSET_X + 8 * 18]
	ldp	x20, x21, [sp, #CPU_OFFSET_X + 8 * 20]
	ldp	x22, x23, [sp, #CPU_OFFSET_X + 8 * 22]
	ldp	x24, x25, [sp, #CPU_OFFSET_X + 8 * 24]
	ldp	x26, x27, [sp, #CPU_OFFSET_X + 8 * 26]
	ldp	x28, x29, [sp, #CPU_OFFSET_X + 8 * 28]
	ldr	x30, [sp, #CPU_OFFSET_X + 8 * 30]
	add	sp, sp, #CPU_FRAME
	eret

el2_unexpected:
	ldr	x0, =vtlgen_el2_stack_top
	mov	sp, x0
	bl	vtlgen_el2_unexpected

	.balign	2048
vtlgen_el2_vectors:
	.rept	8		/* from EL2 itself: a bug in this image */
	.balign	0x80
	b	el2_unexpected
	.endr
	.balign	0x80
	b	el2_sync_lower	/* +0x400: synchronous, from EL1 in AArch64 */
	.balign	0x80
	b	el2_irq_lower	/* +0x480: IRQ, from EL1 in AArch64 (the trial's deadline) */
	.rept	6
	.balign	0x80
	b	el2_unexpected
	.endr

	.section .el1, "ax"
	.balign	4096
	.global	vtlgen_el1_start, vtlgen_caller, vtlgen_return_point, vtlgen_el1_vectors
vtlgen_el1_start:
vtlgen_caller:			/* x30 = the stub; every other register as the trial sets it */
	blr	x30
vtlgen_return_point:
	hvc	#RETURN_IMMEDIATE
1:	b	1b

	.balign	2048
vtlgen_el1_vectors:
	.rept	16
	.balign	0x80
	hvc	#FAULT_IMMEDIATE
2:	b	2b
	.endr

	.bss
	.balign	16
	.space	EL2_STACK
	.global	vtlgen_el2_stack_top
vtlgen_el2_stack_top:
