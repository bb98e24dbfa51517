/*
 * vtlgen's qemu-system test image: the stub at EL1 under a test hypervisor at EL2.
 *
 * Booted by `qemu-system-aarch64 -M virt,virtualization=on -cpu max` at EL2 (QEMU starts a
 * bare ELF at the highest implemented exception level). This file is the hypervisor: it
 * turns on its own MMU, builds EL1's stage 1 tables (Arm ARM D8, VMSAv8-64 translation:
 * 4 KB granule, 39-bit VA, levels 1-3), and runs each trial at EL1 by ERET into a caller
 * that `blr`s the stub. The conduit is a real exception to EL2 (ESR_EL2.EC 0x16, the
 * immediate in ISS: Arm ARM D17 "ESR_EL2"); the handler records what the stub left, plays
 * the model's move vtlgen computed, scribbles below SP_EL1 and ERETs. A fault at EL1 (SP
 * alignment with SCTLR_EL1.SA, a BTI landing pad missing on the guarded stub page, a store
 * outside the pages the trial made writable, an undefined instruction) enters EL1's vector
 * table, which hands it to EL2 with `hvc #FAULT_IMMEDIATE`.
 *
 * Trials come in through QEMU's generic loader at INPUT_ADDRESS (struct trial_in, as for
 * qemu-user), results go out through semihosting SYS_WRITE (Arm "Semihosting for AArch32
 * and AArch64", operations 0x01, 0x05, 0x18), one struct trial_out per trial. Every size
 * and layout comes from the generated headers (qemu_harness.h, qemu_system.h).
 */
#include <stddef.h>
#include <stdint.h>

#include "qemu_system.h"

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
#define READ_SYSREG(name) ({ uint64_t value_; __asm__ volatile("mrs %0, " #name : "=r"(value_)); value_; })
#define WRITE_SYSREG(name, value) __asm__ volatile("msr " #name ", %0" ::"r"((uint64_t)(value)))

extern char vtlgen_caller[], vtlgen_return_point[], vtlgen_el1_vectors[], vtlgen_stub_entry[], vtlgen_stub_end[];
extern char vtlgen_el1_start[], vtlgen_el1_end[], vtlgen_stub_page[];

static uint64_t el2_l1[512] __attribute__((aligned(4096)));
static uint64_t el2_l2_device[512] __attribute__((aligned(4096)));
static uint64_t el2_l2_context[512] __attribute__((aligned(4096)));
static uint64_t el2_l2_stack[512] __attribute__((aligned(4096)));
static uint64_t el1_l1[512] __attribute__((aligned(4096)));
static uint64_t el1_l2_image[512] __attribute__((aligned(4096)));
static uint64_t el1_l3_image[512] __attribute__((aligned(4096)));
static uint64_t el1_l2_context[512] __attribute__((aligned(4096)));
static uint64_t el1_l3_context[512] __attribute__((aligned(4096)));
static uint64_t el1_l2_stack[512] __attribute__((aligned(4096)));
static uint64_t el1_l3_stack[512] __attribute__((aligned(4096)));

static struct trial_out out;
static struct step steps[MAX_STEPS]; /* the frame after each instruction of the stub (software step) */
static uint64_t step_count, last_pc, stub_steps, interrupt_at, stepping;
static uint64_t trial_index, trial_count, output_handle;
static uint64_t writable_low, writable_high; /* context pages the current trial may write */

void *memcpy(void *to, const void *from, size_t size)
{
	unsigned char *t = to;
	const unsigned char *f = from;
	while (size--)
		*t++ = *f++;
	return to;
}

void *memset(void *to, int value, size_t size)
{
	unsigned char *t = to;
	while (size--)
		*t++ = (unsigned char)value;
	return to;
}

/* One semihosting call: the operation in w0, the parameter block in x1; `hlt #0xf000` in AArch64. */
static uint64_t semihost(uint64_t operation, const uint64_t *block)
{
	register uint64_t x0 __asm__("x0") = operation;
	register const uint64_t *x1 __asm__("x1") = block;
	__asm__ volatile("hlt #0xf000" : "+r"(x0) : "r"(x1) : "memory");
	return x0;
}

static void __attribute__((noreturn)) finish(uint64_t code)
{
	const uint64_t block[2] = { 0x20026 /* ADP_Stopped_ApplicationExit */, code };
	for (;;)
		semihost(0x18, block);
}

void vtlgen_el2_unexpected(void) { finish(4); }

static void write_out(const void *data, uint64_t size)
{
	const uint64_t block[3] = { output_handle, (uint64_t)data, size };
	if (semihost(0x05, block) != 0)
		finish(3);
}

static struct trial_in *input(uint64_t index)
{
	return (struct trial_in *)(INPUT_ADDRESS + 8 + index * sizeof(struct trial_in));
}

/* --- translation tables ---------------------------------------------------------------- */

static uint64_t table(uint64_t *next) { return (uint64_t)next | DESC_TABLE; }

static void map_pages(uint64_t *l3, uint64_t va, uint64_t pa, uint64_t size, uint64_t attributes)
{
	for (uint64_t at = 0; at < size; at += 4096)
		l3[((va + at) >> 12) & 511] = (pa + at) | attributes;
}

static void build_tables(void)
{
	/* EL2: RAM identity-mapped as normal memory, each window at its own physical pages. */
	el2_l1[RAM_BASE >> 30] = RAM_BASE | EL2_BLOCK;
	el2_l1[GIC_DISTRIBUTOR >> 30] = table(el2_l2_device);
	el2_l2_device[(GIC_DISTRIBUTOR >> 21) & 511] = (GIC_DISTRIBUTOR & ~0x1FFFFFUL) | EL2_DEVICE_BLOCK;
	el2_l1[CONTEXT_WINDOW >> 30] = table(el2_l2_context);
	el2_l2_context[(CONTEXT_WINDOW >> 21) & 511] = CONTEXT_PHYSICAL | EL2_BLOCK;
	el2_l1[STACK_WINDOW >> 30] = table(el2_l2_stack);
	el2_l2_stack[(STACK_WINDOW >> 21) & 511] = STACK_PHYSICAL | EL2_BLOCK;

	/* EL1: only its code (read-only, the stub's pages guarded) and the two windows. The
	 * stack window is writable; the context window readable, and writable per trial only
	 * on the pages the context occupies. Nothing at EL1 is writable beyond those. */
	el1_l1[RAM_BASE >> 30] = table(el1_l2_image);
	el1_l2_image[((uint64_t)vtlgen_el1_start >> 21) & 511] = table(el1_l3_image);
	map_pages(el1_l3_image, (uint64_t)vtlgen_el1_start, (uint64_t)vtlgen_el1_start,
		  (uint64_t)vtlgen_stub_page - (uint64_t)vtlgen_el1_start, EL1_CODE);
	map_pages(el1_l3_image, (uint64_t)vtlgen_stub_page, (uint64_t)vtlgen_stub_page,
		  (uint64_t)vtlgen_el1_end - (uint64_t)vtlgen_stub_page, EL1_CODE | DESC_GUARDED);
	el1_l1[CONTEXT_WINDOW >> 30] = table(el1_l2_context);
	el1_l2_context[(CONTEXT_WINDOW >> 21) & 511] = table(el1_l3_context);
	map_pages(el1_l3_context, CONTEXT_WINDOW, CONTEXT_PHYSICAL, WINDOW_SIZE, EL1_READ_ONLY);
	el1_l1[STACK_WINDOW >> 30] = table(el1_l2_stack);
	el1_l2_stack[(STACK_WINDOW >> 21) & 511] = table(el1_l3_stack);
	map_pages(el1_l3_stack, STACK_WINDOW, STACK_PHYSICAL, WINDOW_SIZE, EL1_READ_WRITE);
}

static void flush_el1_tlb(void)
{
	__asm__ volatile("dsb ishst\n\ttlbi vmalle1\n\tdsb ish\n\tisb" ::: "memory");
}

/* Make the pages under [low, high) of the context window writable at EL1, and the last trial's read-only again. */
static void context_pages(uint64_t low, uint64_t high)
{
	uint64_t page_low = low & ~4095UL, page_high = (high + 4095) & ~4095UL;
	if (writable_high)
		map_pages(el1_l3_context, writable_low, CONTEXT_PHYSICAL + (writable_low - CONTEXT_WINDOW),
			  writable_high - writable_low, EL1_READ_ONLY);
	map_pages(el1_l3_context, page_low, CONTEXT_PHYSICAL + (page_low - CONTEXT_WINDOW), page_high - page_low,
		  EL1_READ_WRITE);
	writable_low = page_low;
	writable_high = page_high;
	flush_el1_tlb();
}

static void enable_translation(void)
{
	WRITE_SYSREG(mair_el2, MAIR_VALUE);
	WRITE_SYSREG(tcr_el2, TCR_EL2_VALUE);
	WRITE_SYSREG(ttbr0_el2, (uint64_t)el2_l1);
	__asm__ volatile("dsb sy\n\ttlbi alle2\n\tdsb sy\n\tisb" ::: "memory");
	WRITE_SYSREG(sctlr_el2, SCTLR_EL2_VALUE);
	__asm__ volatile("isb");
	WRITE_SYSREG(mair_el1, MAIR_VALUE);
	WRITE_SYSREG(tcr_el1, TCR_EL1_VALUE);
	WRITE_SYSREG(ttbr0_el1, (uint64_t)el1_l1);
	WRITE_SYSREG(vbar_el1, (uint64_t)vtlgen_el1_vectors);
	WRITE_SYSREG(cpacr_el1, CPACR_EL1_VALUE);
	WRITE_SYSREG(cptr_el2, CPTR_EL2_VALUE);
	WRITE_SYSREG(hcr_el2, HCR_EL2_VALUE);
	/* Software step (Arm ARM D2 "Software Step exceptions"): MDSCR_EL1.SS with debug
	 * exceptions routed to EL2 (MDCR_EL2.TDE) and the OS lock open. */
	WRITE_SYSREG(oslar_el1, 0);
	WRITE_SYSREG(osdlr_el1, 0);
	WRITE_SYSREG(mdscr_el1, MDSCR_SS);
	WRITE_SYSREG(mdcr_el2, READ_SYSREG(mdcr_el2) | MDCR_TDE);
	WRITE_SYSREG(S3_4_C1_C2_0, 0); /* ZCR_EL2: LEN 0, the 128-bit vector length */
	WRITE_SYSREG(S3_4_C1_C2_6, 0); /* SMCR_EL2: LEN 0 */
	__asm__ volatile("isb");
	WRITE_SYSREG(sctlr_el1, SCTLR_EL1_VALUE);
	flush_el1_tlb();
}

/* --- trials ---------------------------------------------------------------------------- */

#define WINDOW_PATTERN 0xA5A5A5A5A5A5A5A5ULL

static void fill(uint64_t low, uint64_t high)
{
	for (uint64_t *word = (uint64_t *)low; word < (uint64_t *)high; word++)
		*word = WINDOW_PATTERN;
}

static int in_stack(uint64_t address)
{
	return address >= STACK_WINDOW && address <= STACK_WINDOW + WINDOW_SIZE - 16;
}

/* The deadline of one trial: EL2's physical timer (CNTHP, Arm ARM D11 "The Generic Timer"),
 * its interrupt routed to EL2 by HCR_EL2.IMO whatever EL1's PSTATE.I says. */
static void arm_deadline(void)
{
	WRITE_SYSREG(cnthp_tval_el2, READ_SYSREG(cntfrq_el0) / 1000000 * TRIAL_MICROSECONDS);
	WRITE_SYSREG(cnthp_ctl_el2, 1);
	__asm__ volatile("isb");
}

static void disarm_deadline(void) { WRITE_SYSREG(cnthp_ctl_el2, 0); }

/* GICv2 (Arm IHI 0048): the distributor forwards the timer's PPI, the CPU interface signals it. */
static void enable_interrupts(void)
{
	volatile uint32_t *distributor = (volatile uint32_t *)GIC_DISTRIBUTOR;
	volatile uint32_t *cpu = (volatile uint32_t *)GIC_CPU;
	volatile uint8_t *priority = (volatile uint8_t *)(GIC_DISTRIBUTOR + 0x400);
	priority[HYP_TIMER_INTID] = 0x80;
	distributor[0x100 / 4] = 1U << HYP_TIMER_INTID; /* GICD_ISENABLER0 */
	distributor[0] = 1;				 /* GICD_CTLR */
	cpu[0x4 / 4] = 0xFF;				 /* GICC_PMR: every priority */
	cpu[0] = 1;					 /* GICC_CTLR */
}

/* Load trial `index` into the frame the next ERET restores: EL1h, interrupts masked, PAN set. */
static void start_trial(struct cpu *frame, uint64_t index)
{
	struct trial_in *in = input(index);
	memset(&out, 0, sizeof(out));
	uint64_t high = in->context - GUARD + REGION;
	if (in->context + EXTENDED_SIZE > high)
		high = in->context + EXTENDED_SIZE;
	if (high > CONTEXT_WINDOW + WINDOW_SIZE)
		high = CONTEXT_WINDOW + WINDOW_SIZE;
	context_pages(in->context - GUARD, high);
	memcpy((void *)(in->context - GUARD), in->region, REGION);
	memset((void *)(in->entry_sp - STACK_SCRUB), 0, STACK_SCRUB);
	((uint64_t *)in->caller_record)[0] = in->grand_record;
	((uint64_t *)in->caller_record)[1] = CALLER_LR;
	((uint64_t *)in->grand_record)[0] = 0;
	((uint64_t *)in->grand_record)[1] = GRAND_LR;
	memcpy(frame->x, in->x, sizeof(in->x));
	frame->x[30] = (uint64_t)vtlgen_stub_entry; /* the caller's `blr x30` */
	memcpy(frame->q, in->q, sizeof(in->q));
	WRITE_SYSREG(sp_el1, in->entry_sp);
	WRITE_SYSREG(elr_el2, (uint64_t)vtlgen_caller);
	/* Every STEP_EVERY-th trial of a run, the first included (so `--trials 1` reproduces one), is stepped. */
	stepping = index % STEP_EVERY == 0;
	WRITE_SYSREG(mdscr_el1, stepping ? MDSCR_SS : 0);
	WRITE_SYSREG(spsr_el2, SPSR_EL1H | (stepping ? SPSR_SS : 0));
	step_count = 0;
	stub_steps = 0;
	last_pc = (uint64_t)vtlgen_caller;
	/* The instruction after which an interrupt arrives: from the trial's random context address. */
	interrupt_at = (in->context >> 4) % (((uint64_t)vtlgen_stub_end - (uint64_t)vtlgen_stub_entry) / 4 + 1);
	arm_deadline();
}

/* The trial ended: its record out, the context window's pattern back, the next trial in. */
static void end_trial(struct cpu *frame)
{
	struct trial_in *in = input(trial_index);
	uint64_t region_low = in->context - GUARD, region_high = region_low + REGION;
	disarm_deadline();
	memcpy(out.region, (void *)region_low, REGION);
	fill(region_low, region_high);
	if (in->context + EXTENDED_SIZE > region_high)
		fill(region_high, in->context + EXTENDED_SIZE < writable_high ? in->context + EXTENDED_SIZE : writable_high);
	for (uint64_t *word = (uint64_t *)writable_low; word < (uint64_t *)writable_high; word++) {
		/* The extended context's VL-scaled slots: the stub stores them; no trial judges them here. */
		int extended = (uint64_t)word >= in->context && (uint64_t)word < in->context + EXTENDED_SIZE;
		if (*word != WINDOW_PATTERN && !extended) {
			out.window_changed = 1;
			out.window_offset = (int64_t)(uint64_t)word - (int64_t)in->context;
			fill(writable_low, writable_high);
			break;
		}
	}
	write_out(&out, sizeof(out));
	write_out(&step_count, sizeof(step_count));
	write_out(steps, step_count * sizeof(steps[0]));
	if (out.status == TIMEOUT || ++trial_index == trial_count)
		finish(0);
	start_trial(frame, trial_index);
}

static void record_registers(struct cpu *to, const struct cpu *frame)
{
	*to = *frame;
	to->sp = READ_SYSREG(sp_el1);
}

static int in_stub(uint64_t pc) { return pc >= (uint64_t)vtlgen_stub_entry && pc < (uint64_t)vtlgen_stub_end; }

static void record_step(const struct cpu *frame, uint64_t pc, uint32_t after_switch)
{
	struct step *s;
	if (step_count == MAX_STEPS)
		return;
	s = &steps[step_count++];
	s->pc = pc;
	memcpy(s->x, frame->x, sizeof(s->x));
	s->sp = READ_SYSREG(sp_el1);
	s->after_switch = after_switch;
	s->record_valid = in_stack(frame->x[29]);
	if (s->record_valid)
		memcpy(s->record, (void *)frame->x[29], 16);
}

/* A software step: the instruction at last_pc completed. Once per trial, at a chosen
 * instruction, act as an interrupt taken there would: use the stack below SP. */
static void stepped(const struct cpu *frame)
{
	struct trial_in *in = input(trial_index);
	uint64_t sp = READ_SYSREG(sp_el1);
	if (in_stub(last_pc)) {
		record_step(frame, last_pc, 0);
		if (stub_steps++ == interrupt_at && sp >= STACK_WINDOW + SCRIBBLE && sp <= STACK_WINDOW + WINDOW_SIZE)
			memcpy((void *)(sp - SCRIBBLE), in->scribble, SCRIBBLE);
	}
	last_pc = READ_SYSREG(elr_el2);
	/* A step exception clears the exclusive monitor, so a stepped ldxr/stxr loop never ends
	 * (Arm ARM D2 "Stepping T32/A64 exclusives"): stepping pauses at a load-exclusive until
	 * the next exception to EL2 (the trap, the return). */
	if (in_stub(last_pc) && !(last_pc & 3) && (*(uint32_t *)last_pc & LOAD_EXCLUSIVE_MASK) == LOAD_EXCLUSIVE) {
		WRITE_SYSREG(mdscr_el1, 0);
		WRITE_SYSREG(spsr_el2, READ_SYSREG(spsr_el2) & ~SPSR_SS);
		return;
	}
	WRITE_SYSREG(spsr_el2, READ_SYSREG(spsr_el2) | SPSR_SS);
}

static void conduit(struct cpu *frame, uint32_t word)
{
	struct trial_in *in = input(trial_index);
	uint64_t pc = READ_SYSREG(elr_el2) - 4, sp = READ_SYSREG(sp_el1);
	if (out.traps == 0) {
		out.trap_pc = pc;
		out.trap_word = word;
		record_registers(&out.trap_cpu, frame);
		out.trap_record_valid = in_stack(frame->x[29]);
		if (out.trap_record_valid)
			memcpy(out.trap_record, (void *)frame->x[29], 16);
		memcpy(out.trap_region, (void *)(in->context - GUARD), REGION);
	} else if (out.traps == 1) {
		out.second_pc = pc;
		out.second_word = word;
	}
	out.traps++;
	for (uint32_t i = 0; i < in->n_switch && i < MAX_SWITCH; i++) {
		struct switch_entry *e = &in->sw[i];
		if (e->kind == KIND_X && e->index < 31)
			frame->x[e->index] = e->lo;
		else if (e->kind == KIND_Q && e->index < 32) {
			frame->q[e->index][0] = e->lo;
			frame->q[e->index][1] = e->hi;
		} else if (e->kind == KIND_NZCV)
			WRITE_SYSREG(spsr_el2, (READ_SYSREG(spsr_el2) & ~0xF0000000ULL) | (e->lo & 0xF0000000ULL));
	}
	for (uint32_t i = 0; i < in->n_memory && i < MAX_MEMORY; i++)
		memcpy((void *)(in->context + in->mem[i].offset), in->mem[i].bytes, in->mem[i].size);
	/* An interrupt taken at the trap may use the stack below SP (arm64 has no red zone). */
	if (sp >= STACK_WINDOW + SCRIBBLE && sp <= STACK_WINDOW + WINDOW_SIZE)
		memcpy((void *)(sp - SCRIBBLE), in->scribble, SCRIBBLE);
	if (!stepping)
		return;
	record_step(frame, pc, 1);
	last_pc = READ_SYSREG(elr_el2);
	WRITE_SYSREG(mdscr_el1, MDSCR_SS);
	WRITE_SYSREG(spsr_el2, READ_SYSREG(spsr_el2) | SPSR_SS);
}

/* An exception EL1 took (its vector handed it here): what it was, where, and the registers then. */
static void el1_exception(struct cpu *frame)
{
	uint64_t syndrome = READ_SYSREG(esr_el1), pc = READ_SYSREG(elr_el1);
	uint32_t class = (uint32_t)(syndrome >> 26) & 0x3F;
	record_registers(&out.after, frame);
	out.fault_pc = pc;
	switch (class) {
	case EC_SP_ALIGNMENT:
		out.status = ALIGNMENT;
		out.fault_address = READ_SYSREG(far_el1);
		break;
	case EC_BRANCH_TARGET:
		out.status = LANDING;
		break;
	case EC_DATA_ABORT_SAME:
	case EC_INSTRUCTION_ABORT_SAME:
	case EC_PC_ALIGNMENT:
		out.status = FAULT;
		out.fault_address = class == EC_DATA_ABORT_SAME ? READ_SYSREG(far_el1) : pc;
		break;
	default: /* undefined instructions, brk, svc, a conduit that does not exist here */
		out.status = EXCEPTION;
		break;
	}
	if (pc >= (uint64_t)vtlgen_el1_start && pc + 4 <= (uint64_t)vtlgen_el1_end && !(pc & 3))
		out.fault_word = *(uint32_t *)pc;
	end_trial(frame);
}

/* Every synchronous exception from EL1 (the vector's assembly saved the frame). */
void vtlgen_el2_sync(struct cpu *frame)
{
	uint64_t syndrome = READ_SYSREG(esr_el2), return_to = READ_SYSREG(elr_el2);
	uint32_t class = (uint32_t)(syndrome >> 26) & 0x3F, immediate = (uint32_t)syndrome & 0xFFFF;
	if (class == EC_HVC && return_to == (uint64_t)vtlgen_return_point + 4 && immediate == RETURN_IMMEDIATE) {
		out.status = DONE;
		record_registers(&out.after, frame);
		out.after_record_valid = in_stack(frame->x[29]);
		if (out.after_record_valid)
			memcpy(out.after_record, (void *)frame->x[29], 16);
		end_trial(frame);
	} else if (class == EC_HVC && return_to >= (uint64_t)vtlgen_el1_vectors &&
		   return_to < (uint64_t)vtlgen_el1_vectors + 2048 && immediate == FAULT_IMMEDIATE) {
		el1_exception(frame);
	} else if (class == EC_SOFTWARE_STEP) {
		stepped(frame);
	} else if (class == EC_HVC) {
		/* The word the syndrome says trapped: `hvc #ISS` (Arm ARM C6 "HVC"). */
		conduit(frame, CONDUIT_HVC | (immediate << 5));
	} else {
		out.status = EXCEPTION;
		out.fault_pc = return_to;
		record_registers(&out.after, frame);
		end_trial(frame);
	}
}

/* An interrupt while EL1 ran: the trial's deadline passed (P9, a stub that does not end). */
void vtlgen_el2_irq(struct cpu *frame)
{
	volatile uint32_t *cpu = (volatile uint32_t *)GIC_CPU;
	uint32_t acknowledged = cpu[0xC / 4]; /* GICC_IAR */
	if ((acknowledged & 0x3FF) == 1023)
		return; /* spurious */
	cpu[0x10 / 4] = acknowledged; /* GICC_EOIR */
	if ((acknowledged & 0x3FF) != HYP_TIMER_INTID)
		return;
	out.status = TIMEOUT;
	out.fault_pc = READ_SYSREG(elr_el2);
	end_trial(frame);
}

extern void vtlgen_enter(struct cpu *frame) __attribute__((noreturn));

void vtlgen_main(void)
{
	static const char name[] = OUTPUT_NAME;
	static struct cpu first;
	const uint64_t open_block[3] = { (uint64_t)name, 4 /* "wb" */, sizeof(name) - 1 };
	build_tables();
	enable_translation();
	enable_interrupts();
	output_handle = semihost(0x01, open_block);
	if (output_handle == (uint64_t)-1)
		finish(3);
	trial_count = *(uint64_t *)INPUT_ADDRESS;
	if (trial_count == 0)
		finish(0);
	fill(CONTEXT_WINDOW, CONTEXT_WINDOW + WINDOW_SIZE);
	start_trial(&first, 0);
	vtlgen_enter(&first);
}
