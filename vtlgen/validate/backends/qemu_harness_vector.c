/*
 * The SVE/SME part of vtlgen's qemu-user harness: included by qemu_harness.c when the
 * generated header sets HARNESS_VECTOR (VL and SVL bytes: VECTOR_LENGTH, STREAMING_LENGTH),
 * never compiled alone.
 *
 * Each trial may load Z, P, FFR and ZA before the call and enter streaming mode last; the
 * handler copies them out of the signal frame's sve_context / za_context records and
 * writes the model's moves into them (Linux arch/arm64/include/uapi/asm/sigcontext.h);
 * the return dumps them again.
 */

/* What the trampoline loads before the call and dumps after it (strides: the current VL). */
uint32_t vtlgen_vflags;
uint64_t vtlgen_vout_svcr;
uint8_t vtlgen_vin_z[Z_IN] __attribute__((aligned(16))), vtlgen_vin_p[P_IN] __attribute__((aligned(16)));
uint8_t vtlgen_vin_za[ZA_BYTES] __attribute__((aligned(16)));
uint8_t vtlgen_vout_z[Z_OUT] __attribute__((aligned(16))), vtlgen_vout_p[P_OUT] __attribute__((aligned(16)));
uint8_t vtlgen_vout_za[ZA_BYTES] __attribute__((aligned(16)));

/* Z, P and FFR at full length (FFR through p0, which is reloaded after), then ZA row by
 * row after SMSTART ZA zeroed it; SMSTART SM last, which zeroes Z, P and FFR again
 * (Arm ARM "SMSTART"): a streaming trial's stub sees what the architecture leaves.
 * Runs in the trampoline after the Q registers are loaded, before the X registers. */
#define VECTOR_LOAD \
	"	.arch_extension sve\n" \
	"	.arch_extension sme\n" \
	"	adrp x15, vtlgen_vflags\n" \
	"	ldr w15, [x15, :lo12:vtlgen_vflags]\n" \
	"	tbz w15, #0, 1f\n" \
	"	adrp x17, vtlgen_vin_z\n" \
	"	add x17, x17, :lo12:vtlgen_vin_z\n" \
	"	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n" \
	"	ldr z\\n, [x17, #\\n, mul vl]\n" \
	"	.endr\n" \
	"	adrp x17, vtlgen_vin_p\n" \
	"	add x17, x17, :lo12:vtlgen_vin_p\n" \
	"	ldr p0, [x17, #" STRINGIFY(FFR_INDEX) ", mul vl]\n" \
	"	wrffr p0.b\n" \
	"	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n" \
	"	ldr p\\n, [x17, #\\n, mul vl]\n" \
	"	.endr\n" \
	"1:	tbz w15, #1, 2f\n" \
	"	smstart za\n" \
	"	adrp x17, vtlgen_vin_za\n" \
	"	add x17, x17, :lo12:vtlgen_vin_za\n" \
	"	mov w12, #0\n" \
	"3:	ldr za[w12, 0], [x17]\n" \
	"	add x17, x17, #" STRINGIFY(STREAMING_LENGTH) "\n" \
	"	add w12, w12, #1\n" \
	"	cmp w12, #" STRINGIFY(STREAMING_LENGTH) "\n" \
	"	b.ne 3b\n" \
	"2:	tbz w15, #2, 4f\n" \
	"	smstart sm\n" \
	"4:\n"

/* SVCR first, then Z, P, FFR (not accessible in streaming mode without FEAT_SME_FA64)
 * and ZA, before anything changes them; in the trampoline after the X registers and SP
 * are stored, before the Q registers. */
#define VECTOR_STORE \
	"	adrp x1, vtlgen_vout_svcr\n" \
	"	mrs x0, svcr\n" \
	"	str x0, [x1, :lo12:vtlgen_vout_svcr]\n" \
	"	adrp x1, vtlgen_vout_z\n" \
	"	add x1, x1, :lo12:vtlgen_vout_z\n" \
	"	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n" \
	"	str z\\n, [x1, #\\n, mul vl]\n" \
	"	.endr\n" \
	"	adrp x1, vtlgen_vout_p\n" \
	"	add x1, x1, :lo12:vtlgen_vout_p\n" \
	"	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n" \
	"	str p\\n, [x1, #\\n, mul vl]\n" \
	"	.endr\n" \
	"	tbnz x0, #0, 5f\n" \
	"	rdffr p0.b\n" \
	"	str p0, [x1, #" STRINGIFY(FFR_INDEX) ", mul vl]\n" \
	"5:	tbz x0, #1, 6f\n" \
	"	adrp x1, vtlgen_vout_za\n" \
	"	add x1, x1, :lo12:vtlgen_vout_za\n" \
	"	mov w12, #0\n" \
	"7:	str za[w12, 0], [x1]\n" \
	"	add x1, x1, #" STRINGIFY(STREAMING_LENGTH) "\n" \
	"	add w12, w12, #1\n" \
	"	cmp w12, #" STRINGIFY(STREAMING_LENGTH) "\n" \
	"	b.ne 7b\n" \
	"6:\n"

/* SMSTOP once the Q registers are stored too. */
#define VECTOR_STOP "	smstop\n"

/* The SVE and ZA records with their register data, in __reserved or in the extra space an
 * EXTRA_MAGIC record points at (Linux uapi asm/sigcontext.h: "extra_context"; the frame
 * outgrows __reserved from VL 128 bytes up). A record too short for its VL holds no data. */
struct vector_records {
	struct sve_context *sve;
	struct za_context *za;
	unsigned vq, za_vq;
};

static void find_vector(ucontext_t *uc, struct vector_records *r)
{
	struct _aarch64_ctx *head = (struct _aarch64_ctx *)uc->uc_mcontext.__reserved;
	memset(r, 0, sizeof(*r));
	while (head->magic) {
		if (head->magic == EXTRA_MAGIC) {
			head = (struct _aarch64_ctx *)(uintptr_t)((struct extra_context *)head)->datap;
			continue;
		}
		if (head->magic == SVE_MAGIC) {
			unsigned vq = sve_vq_from_vl(((struct sve_context *)head)->vl);
			if (head->size >= SVE_SIG_CONTEXT_SIZE(vq) && vq * 16 <= Z_STRIDE) {
				r->sve = (struct sve_context *)head;
				r->vq = vq;
			}
		} else if (head->magic == ZA_MAGIC) {
			unsigned vq = sve_vq_from_vl(((struct za_context *)head)->vl);
			if (head->size >= ZA_SIG_CONTEXT_SIZE(vq) && ZA_SIG_REGS_SIZE(vq) == ZA_BYTES) {
				r->za = (struct za_context *)head;
				r->za_vq = vq;
			}
		}
		head = (struct _aarch64_ctx *)((char *)head + head->size);
	}
}

static uint8_t *z_at(struct vector_records *r, unsigned n)
{
	return (uint8_t *)r->sve + SVE_SIG_ZREG_OFFSET(r->vq, n);
}

static uint8_t *p_at(struct vector_records *r, unsigned n)
{
	return (uint8_t *)r->sve + (n == FFR_INDEX ? SVE_SIG_FFR_OFFSET(r->vq) : SVE_SIG_PREG_OFFSET(r->vq, n));
}

static void copy_vector_out(struct vector_records *r)
{
	if (r->sve) {
		out.trap_vl = r->vq * 16;
		out.trap_svcr |= r->sve->flags & SVE_SIG_FLAG_SM ? SVCR_SM : 0;
		for (unsigned n = 0; n < 32; n++)
			memcpy(out.trap_z + n * Z_STRIDE, z_at(r, n), r->vq * 16);
		for (unsigned n = 0; n <= FFR_INDEX; n++)
			memcpy(out.trap_p + n * P_STRIDE, p_at(r, n), r->vq * 2);
	}
	if (r->za) {
		out.trap_svcr |= SVCR_ZA;
		memcpy(out.trap_za, (uint8_t *)r->za + ZA_SIG_REGS_OFFSET, ZA_BYTES);
	}
}

/* A move of Qn also sets the low 128 bits of Zn in the SVE record, which sigreturn takes
 * over the FPSIMD record when both are present (measured on qemu 7.2). */
static void q_moved(struct vector_records *r, const struct fpsimd_context *fp, unsigned n)
{
	if (r->sve)
		memcpy(z_at(r, n), &fp->vregs[n], 16);
}

/* The model's vector moves. sigreturn takes Z from sve_context when it holds data (measured
 * on qemu 7.2), so a Z move also sets the low 128 bits in fpsimd_context: both agree. A
 * move into state the stub turned off (ZA after SMSTOP ZA) has no record to go to. */
static void apply_vector(struct fpsimd_context *fp, struct vector_records *r)
{
	for (uint32_t i = 0; i < in.n_vector && i < MAX_VECTOR_MOVES; i++) {
		struct vector_entry *e = &in.vec[i];
		const uint8_t *bytes = in.vpool + e->pool;
		uint32_t size = e->size;
		if (e->pool > VPOOL || size > VPOOL - e->pool)
			continue;
		if (e->kind == VKIND_ZA) {
			if (r->za && size == ZA_BYTES)
				memcpy((uint8_t *)r->za + ZA_SIG_REGS_OFFSET, bytes, ZA_BYTES);
		} else if (e->kind == VKIND_Z && e->index < 32) {
			if (r->sve)
				memcpy(z_at(r, e->index), bytes, size < r->vq * 16 ? size : r->vq * 16);
			if (size >= 16)
				memcpy(&fp->vregs[e->index], bytes, 16);
		} else if (e->kind == VKIND_Z_UPPER && e->index < 32) {
			/* Only the bits above 127: Q and the FPSIMD record keep theirs. */
			if (r->sve && r->vq > 1)
				memcpy(z_at(r, e->index) + 16, bytes, size < r->vq * 16 - 16 ? size : r->vq * 16 - 16);
		} else if (r->sve && (e->kind == VKIND_FFR || (e->kind == VKIND_P && e->index < 16))) {
			unsigned n = e->kind == VKIND_FFR ? FFR_INDEX : e->index;
			memcpy(p_at(r, n), bytes, size < r->vq * 2 ? size : r->vq * 2);
		}
	}
}

static void load_vector(void)
{
	vtlgen_vflags = in.vflags;
	if (in.vflags & HAS_VECTOR) {
		memcpy(vtlgen_vin_z, in.z, Z_IN);
		memcpy(vtlgen_vin_p, in.p, P_IN);
	}
	if (in.vflags & HAS_ZA)
		memcpy(vtlgen_vin_za, in.za, ZA_BYTES);
}

static void store_vector(void)
{
	out.end_svcr = (uint32_t)vtlgen_vout_svcr;
	memcpy(out.end_z, vtlgen_vout_z, Z_OUT);
	memcpy(out.end_p, vtlgen_vout_p, P_OUT);
	if (out.end_svcr & SVCR_ZA)
		memcpy(out.end_za, vtlgen_vout_za, ZA_BYTES);
}

/* Handlers run with PSTATE.SM and ZA 0 (Linux Documentation/arch/arm64/sme.rst); leave
 * both off whatever the stub left, before C runs again. */
static void leave_vector_modes(void)
{
	__asm__ volatile(".arch_extension sme\n\tsmstop" ::: "memory");
}
