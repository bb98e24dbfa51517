/*
 * vtlgen's qemu-user validation harness.
 *
 * Runs a stub as `void f(ctx)` on a real CPU model under qemu-aarch64. The conduit
 * (`hvc`/`smc`) is undefined at EL0 and raises SIGILL; the handler plays the hypervisor:
 * it records the registers, the frame record at x29 and the context, applies the model's
 * move that vtlgen computed from the spec (new register values through ucontext, FPSIMD
 * record included, new context bytes, and bytes below SP as an interrupt would leave),
 * and resumes after the trap. vtlgen derives every value and judges every result; this
 * program only executes and prints what the Python side hands it. Input and output are
 * binary records, one per trial.
 *
 * Every size, address, count and record layout comes from the header vtlgen generates
 * for the plan (qemu_harness.h, from vtlgen/validate/backends/qemu_harness.py and
 * qemu_records.py): struct trial_in, struct trial_out and struct cpu are declared there,
 * with a static assertion on each field's offset. With HARNESS_VECTOR the SVE/SME part
 * (qemu_harness_vector.c) is compiled in; without it, the hooks below do nothing.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <ucontext.h>
#include <unistd.h>
#include <asm/sigcontext.h>

#include "qemu_harness.h"

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

struct cpu vtlgen_before, vtlgen_after;
uint64_t vtlgen_saved[21];
extern void vtlgen_run(void);
extern char vtlgen_return_point[], vtlgen_stub_entry[], vtlgen_stub_end[];

static struct trial_in in;
static struct trial_out out;
static sigjmp_buf escape;

#if HARNESS_VECTOR
#include "qemu_harness_vector.c"
#else
/* No vector length: the CPU model has no SVE, and no state beyond the Q registers moves. */
#define VECTOR_LOAD ""
#define VECTOR_STORE ""
#define VECTOR_STOP ""
struct vector_records {
	char none;
};
static void find_vector(ucontext_t *uc, struct vector_records *r) { (void)uc; (void)r; }
static void copy_vector_out(struct vector_records *r) { (void)r; }
static void q_moved(struct vector_records *r, const struct fpsimd_context *fp, unsigned n) { (void)r; (void)fp; (void)n; }
static void apply_vector(struct fpsimd_context *fp, struct vector_records *r) { (void)fp; (void)r; }
static void load_vector(void) {}
static void store_vector(void) {}
static void leave_vector_modes(void) {}
#endif

/* Save C's callee-saved state, load the trial's registers, call the stub, store what it
 * left. Offsets into struct cpu are the generated header's (CPU_OFFSET_*). */
__asm__(
	"	.text\n"
	"	.balign 4\n"
	"	.global vtlgen_run\n"
	"	.equ CPU_X, " STRINGIFY(CPU_OFFSET_X) "\n"
	"	.equ CPU_SP, " STRINGIFY(CPU_OFFSET_SP) "\n"
	"	.equ CPU_Q, " STRINGIFY(CPU_OFFSET_Q) "\n"
	"vtlgen_run:\n"
	"	adrp x16, vtlgen_saved\n"
	"	add x16, x16, :lo12:vtlgen_saved\n"
	"	stp x19, x20, [x16, #0]\n"
	"	stp x21, x22, [x16, #16]\n"
	"	stp x23, x24, [x16, #32]\n"
	"	stp x25, x26, [x16, #48]\n"
	"	stp x27, x28, [x16, #64]\n"
	"	stp x29, x30, [x16, #80]\n"
	"	stp d8, d9, [x16, #96]\n"
	"	stp d10, d11, [x16, #112]\n"
	"	stp d12, d13, [x16, #128]\n"
	"	stp d14, d15, [x16, #144]\n"
	"	mov x17, sp\n"
	"	str x17, [x16, #160]\n"
	"	adrp x16, vtlgen_before\n"
	"	add x16, x16, :lo12:vtlgen_before\n"
	"	ldp q0, q1, [x16, #CPU_Q + 16 * 0]\n"
	"	ldp q2, q3, [x16, #CPU_Q + 16 * 2]\n"
	"	ldp q4, q5, [x16, #CPU_Q + 16 * 4]\n"
	"	ldp q6, q7, [x16, #CPU_Q + 16 * 6]\n"
	"	ldp q8, q9, [x16, #CPU_Q + 16 * 8]\n"
	"	ldp q10, q11, [x16, #CPU_Q + 16 * 10]\n"
	"	ldp q12, q13, [x16, #CPU_Q + 16 * 12]\n"
	"	ldp q14, q15, [x16, #CPU_Q + 16 * 14]\n"
	"	ldp q16, q17, [x16, #CPU_Q + 16 * 16]\n"
	"	ldp q18, q19, [x16, #CPU_Q + 16 * 18]\n"
	"	ldp q20, q21, [x16, #CPU_Q + 16 * 20]\n"
	"	ldp q22, q23, [x16, #CPU_Q + 16 * 22]\n"
	"	ldp q24, q25, [x16, #CPU_Q + 16 * 24]\n"
	"	ldp q26, q27, [x16, #CPU_Q + 16 * 26]\n"
	"	ldp q28, q29, [x16, #CPU_Q + 16 * 28]\n"
	"	ldp q30, q31, [x16, #CPU_Q + 16 * 30]\n"
	VECTOR_LOAD
	"	ldr x17, [x16, #CPU_SP]\n"
	"	mov sp, x17\n"
	"	ldp x0, x1, [x16, #CPU_X + 8 * 0]\n"
	"	ldp x2, x3, [x16, #CPU_X + 8 * 2]\n"
	"	ldp x4, x5, [x16, #CPU_X + 8 * 4]\n"
	"	ldp x6, x7, [x16, #CPU_X + 8 * 6]\n"
	"	ldp x8, x9, [x16, #CPU_X + 8 * 8]\n"
	"	ldp x10, x11, [x16, #CPU_X + 8 * 10]\n"
	"	ldp x12, x13, [x16, #CPU_X + 8 * 12]\n"
	"	ldp x14, x15, [x16, #CPU_X + 8 * 14]\n"
	"	ldp x18, x19, [x16, #CPU_X + 8 * 18]\n"
	"	ldp x20, x21, [x16, #CPU_X + 8 * 20]\n"
	"	ldp x22, x23, [x16, #CPU_X + 8 * 22]\n"
	"	ldp x24, x25, [x16, #CPU_X + 8 * 24]\n"
	"	ldp x26, x27, [x16, #CPU_X + 8 * 26]\n"
	"	ldp x28, x29, [x16, #CPU_X + 8 * 28]\n"
	"	ldr x17, [x16, #CPU_X + 8 * 17]\n"
	"	ldr x16, [x16, #CPU_X + 8 * 16]\n"
	"	bl vtlgen_stub_entry\n"
	"	.global vtlgen_return_point\n"
	"vtlgen_return_point:\n"
	"	sub sp, sp, #16\n"
	"	stp x16, x17, [sp]\n"
	"	adrp x16, vtlgen_after\n"
	"	add x16, x16, :lo12:vtlgen_after\n"
	"	stp x0, x1, [x16, #CPU_X + 8 * 0]\n"
	"	stp x2, x3, [x16, #CPU_X + 8 * 2]\n"
	"	stp x4, x5, [x16, #CPU_X + 8 * 4]\n"
	"	stp x6, x7, [x16, #CPU_X + 8 * 6]\n"
	"	stp x8, x9, [x16, #CPU_X + 8 * 8]\n"
	"	stp x10, x11, [x16, #CPU_X + 8 * 10]\n"
	"	stp x12, x13, [x16, #CPU_X + 8 * 12]\n"
	"	stp x14, x15, [x16, #CPU_X + 8 * 14]\n"
	"	stp x18, x19, [x16, #CPU_X + 8 * 18]\n"
	"	stp x20, x21, [x16, #CPU_X + 8 * 20]\n"
	"	stp x22, x23, [x16, #CPU_X + 8 * 22]\n"
	"	stp x24, x25, [x16, #CPU_X + 8 * 24]\n"
	"	stp x26, x27, [x16, #CPU_X + 8 * 26]\n"
	"	stp x28, x29, [x16, #CPU_X + 8 * 28]\n"
	"	str x30, [x16, #CPU_X + 8 * 30]\n"
	"	ldp x0, x1, [sp]\n"
	"	stp x0, x1, [x16, #CPU_X + 8 * 16]\n"
	"	add sp, sp, #16\n"
	"	mov x0, sp\n"
	"	str x0, [x16, #CPU_SP]\n"
	VECTOR_STORE
	"	stp q0, q1, [x16, #CPU_Q + 16 * 0]\n"
	"	stp q2, q3, [x16, #CPU_Q + 16 * 2]\n"
	"	stp q4, q5, [x16, #CPU_Q + 16 * 4]\n"
	"	stp q6, q7, [x16, #CPU_Q + 16 * 6]\n"
	"	stp q8, q9, [x16, #CPU_Q + 16 * 8]\n"
	"	stp q10, q11, [x16, #CPU_Q + 16 * 10]\n"
	"	stp q12, q13, [x16, #CPU_Q + 16 * 12]\n"
	"	stp q14, q15, [x16, #CPU_Q + 16 * 14]\n"
	"	stp q16, q17, [x16, #CPU_Q + 16 * 16]\n"
	"	stp q18, q19, [x16, #CPU_Q + 16 * 18]\n"
	"	stp q20, q21, [x16, #CPU_Q + 16 * 20]\n"
	"	stp q22, q23, [x16, #CPU_Q + 16 * 22]\n"
	"	stp q24, q25, [x16, #CPU_Q + 16 * 24]\n"
	"	stp q26, q27, [x16, #CPU_Q + 16 * 26]\n"
	"	stp q28, q29, [x16, #CPU_Q + 16 * 28]\n"
	"	stp q30, q31, [x16, #CPU_Q + 16 * 30]\n"
	VECTOR_STOP
	"	adrp x16, vtlgen_saved\n"
	"	add x16, x16, :lo12:vtlgen_saved\n"
	"	ldr x17, [x16, #160]\n"
	"	mov sp, x17\n"
	"	ldp x19, x20, [x16, #0]\n"
	"	ldp x21, x22, [x16, #16]\n"
	"	ldp x23, x24, [x16, #32]\n"
	"	ldp x25, x26, [x16, #48]\n"
	"	ldp x27, x28, [x16, #64]\n"
	"	ldp x29, x30, [x16, #80]\n"
	"	ldp d8, d9, [x16, #96]\n"
	"	ldp d10, d11, [x16, #112]\n"
	"	ldp d12, d13, [x16, #128]\n"
	"	ldp d14, d15, [x16, #144]\n"
	"	ret\n");

static struct fpsimd_context *fpsimd_of(ucontext_t *uc)
{
	struct _aarch64_ctx *head = (struct _aarch64_ctx *)uc->uc_mcontext.__reserved;
	while (head->magic) {
		if (head->magic == FPSIMD_MAGIC)
			return (struct fpsimd_context *)head;
		head = (struct _aarch64_ctx *)((char *)head + head->size);
	}
	return NULL;
}

static int is_conduit(uint32_t word)
{
	uint32_t masked = word & CONDUIT_MASK;
	return masked == CONDUIT_HVC || masked == CONDUIT_SMC;
}

static int in_stack(uint64_t address)
{
	return address >= STACK_WINDOW && address <= STACK_WINDOW + WINDOW_SIZE - 16;
}

static void on_exception(ucontext_t *uc)
{
	out.status = EXCEPTION;
	out.fault_pc = uc->uc_mcontext.pc;
	out.fault_word = *(uint32_t *)(uintptr_t)uc->uc_mcontext.pc;
	siglongjmp(escape, 1);
}

static void on_sigill(int sig, siginfo_t *info, void *context)
{
	ucontext_t *uc = context;
	mcontext_t *mc = &uc->uc_mcontext;
	struct fpsimd_context *fp = fpsimd_of(uc);
	uint32_t word = *(uint32_t *)(uintptr_t)mc->pc;
	struct vector_records vr;
	(void)sig;
	(void)info;
	if (!is_conduit(word) || !fp)
		on_exception(uc);
	find_vector(uc, &vr);
	if (out.traps == 0) {
		out.trap_pc = mc->pc;
		out.trap_word = word;
		memcpy(out.trap_cpu.x, mc->regs, sizeof(out.trap_cpu.x));
		out.trap_cpu.sp = mc->sp;
		memcpy(out.trap_cpu.q, fp->vregs, sizeof(out.trap_cpu.q));
		out.trap_record_valid = in_stack(mc->regs[29]);
		if (out.trap_record_valid)
			memcpy(out.trap_record, (void *)(uintptr_t)mc->regs[29], 16);
		memcpy(out.trap_region, (void *)(in.context - GUARD), REGION);
		copy_vector_out(&vr);
	} else if (out.traps == 1) {
		out.second_pc = mc->pc;
		out.second_word = word;
	}
	out.traps++;
	for (uint32_t i = 0; i < in.n_switch && i < MAX_SWITCH; i++) {
		struct switch_entry *e = &in.sw[i];
		if (e->kind == KIND_X && e->index < 31)
			mc->regs[e->index] = e->lo;
		else if (e->kind == KIND_Q && e->index < 32) {
			fp->vregs[e->index] = ((__uint128_t)e->hi << 64) | e->lo;
			q_moved(&vr, fp, e->index);
		} else if (e->kind == KIND_NZCV)
			mc->pstate = (mc->pstate & ~0xF0000000ULL) | (e->lo & 0xF0000000ULL);
	}
	apply_vector(fp, &vr);
	for (uint32_t i = 0; i < in.n_memory && i < MAX_MEMORY; i++)
		memcpy((void *)(in.context + in.mem[i].offset), in.mem[i].bytes, in.mem[i].size);
	/* An interrupt taken at the trap may use the stack below SP (arm64 has no red zone). */
	if (mc->sp >= STACK_WINDOW + SCRIBBLE && mc->sp <= STACK_WINDOW + WINDOW_SIZE)
		memcpy((void *)(mc->sp - SCRIBBLE), in.scribble, SCRIBBLE);
	mc->pc += 4;
}

static void on_sigtrap(int sig, siginfo_t *info, void *context)
{
	(void)sig;
	(void)info;
	on_exception(context);
}

static void on_fault(int sig, siginfo_t *info, void *context)
{
	ucontext_t *uc = context;
	out.status = sig == SIGALRM ? TIMEOUT : FAULT;
	out.fault_pc = uc->uc_mcontext.pc;
	out.fault_address = sig == SIGALRM ? 0 : (uint64_t)info->si_addr;
	siglongjmp(escape, 1);
}

static void handle(int sig, void (*fn)(int, siginfo_t *, void *))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL))
		exit(3);
}

static void *map(uint64_t address, uint64_t size)
{
	void *p = mmap((void *)address, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != (void *)address) {
		perror("mmap");
		exit(3);
	}
	return p;
}

/* Between trials the context window holds a known pattern; report the first word a trial
 * changed outside the observed region, at any distance from the context, and restore it. */
#define WINDOW_PATTERN 0xA5A5A5A5A5A5A5A5ULL

static void fill_window(uint64_t low, uint64_t size)
{
	for (uint64_t *word = (uint64_t *)low; word < (uint64_t *)(low + size); word++)
		*word = WINDOW_PATTERN;
}

static void check_window(void)
{
	uint64_t *words = (uint64_t *)CONTEXT_WINDOW;
	fill_window(in.context - GUARD, REGION);
	for (uint64_t i = 0; i < WINDOW_SIZE / 8; i++) {
		if (words[i] != WINDOW_PATTERN) {
			out.window_changed = 1;
			out.window_offset = (int64_t)(CONTEXT_WINDOW + 8 * i) - (int64_t)in.context;
			fill_window(CONTEXT_WINDOW, WINDOW_SIZE);
			return;
		}
	}
}

int main(int argc, char **argv)
{
	static uint8_t altstack[ALTSTACK] __attribute__((aligned(16)));
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack), .ss_flags = 0 };
	struct itimerval limit = { .it_value = { .tv_sec = TRIAL_MICROSECONDS / 1000000, .tv_usec = TRIAL_MICROSECONDS % 1000000 } }, off = { 0 };

	if (argc > 1 && !strcmp(argv[1], "--addresses")) {
		printf("%lu %lu %lu %zu %zu\n", (unsigned long)vtlgen_return_point, (unsigned long)vtlgen_stub_entry,
		       (unsigned long)vtlgen_stub_end, sizeof(struct trial_in), sizeof(struct trial_out));
		return 0;
	}
	map(CONTEXT_WINDOW, WINDOW_SIZE);
	fill_window(CONTEXT_WINDOW, WINDOW_SIZE);
	map(STACK_WINDOW, WINDOW_SIZE);
	if (sigaltstack(&ss, NULL))
		return 3;
	handle(SIGILL, on_sigill);
	handle(SIGTRAP, on_sigtrap);
	handle(SIGSEGV, on_fault);
	handle(SIGBUS, on_fault);
	handle(SIGALRM, on_fault);
	while (fread(&in, sizeof(in), 1, stdin) == 1) {
		memset(&out, 0, sizeof(out));
		memcpy((void *)(in.context - GUARD), in.region, REGION);
		memset((void *)(in.entry_sp - STACK_SCRUB), 0, STACK_SCRUB);
		((uint64_t *)in.caller_record)[0] = in.grand_record;
		((uint64_t *)in.caller_record)[1] = CALLER_LR;
		((uint64_t *)in.grand_record)[0] = 0;
		((uint64_t *)in.grand_record)[1] = GRAND_LR;
		memcpy(vtlgen_before.x, in.x, sizeof(in.x));
		vtlgen_before.sp = in.entry_sp;
		memcpy(vtlgen_before.q, in.q, sizeof(in.q));
		load_vector();
		if (sigsetjmp(escape, 1) == 0) {
			setitimer(ITIMER_REAL, &limit, NULL);
			vtlgen_run();
			setitimer(ITIMER_REAL, &off, NULL);
			out.status = DONE;
			out.after = vtlgen_after;
			out.after_record_valid = in_stack(vtlgen_after.x[29]);
			if (out.after_record_valid)
				memcpy(out.after_record, (void *)(uintptr_t)vtlgen_after.x[29], 16);
			store_vector();
		} else {
			setitimer(ITIMER_REAL, &off, NULL);
			leave_vector_modes();
		}
		memcpy(out.region, (void *)(in.context - GUARD), REGION);
		check_window();
		if (fwrite(&out, sizeof(out), 1, stdout) != 1)
			return 3;
		fflush(stdout);
		if (out.status == TIMEOUT)
			return 0; /* a stub that does not end: one trial shows it, stop here */
	}
	return 0;
}
