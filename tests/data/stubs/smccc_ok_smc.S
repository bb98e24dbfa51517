/*
 * convention: smccc
 * spec: hyperv_vtl_smc.yaml
 * expect: pass
 * The SMCCC call through `smc #0`, for a convention whose conduit is smc.
 */
	stp    x29, x30, [sp, #-16]!
	mov    x29, sp
	mov    x1, #0x12
	mov    x2, x0
	mov    w0, #0x46000000
	orr    w0, w0, #1
	smc    #0
	ldp    x29, x30, [sp], #16
	ret
