"""The review rules `vtlgen lint` applies, as data: id, severity, why, and where the rule comes from.

Each rule turns one of the arm64 maintainers' objections to the posted VTL return (linux-hyperv
"arm64: hyperv: Add support for mshv_vtl_return_call", review of v2) or an SMCCC requirement into a check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    title: str
    reason: str
    source: str  # the public source, as a citation


_RULES = (
    Rule(
        "conduit-not-smccc", "error", "Hypercall conduit is not SMCCC",
        "SMCCC requires the HVC/SMC immediate to be 0; the arm64 maintainers refuse non-SMCCC "
        "hypercalls (\"please use the SMCCC. Only that.\").",
        "Arm DEN0028 (SMCCC), \"Conduits\"; arm64 review of mshv_vtl_return_call, point 1",
    ),
    Rule(
        "xen-conduit", "error", "Xen hypercall not made the Xen way",
        "Xen on arm64 takes hypercalls as `hvc #0xEA1` (the Xen hypercall tag) with the hypercall "
        "number in x16 and the arguments in x0-x4; the result comes back in x0.",
        "Linux arch/arm64/xen/hypercall.S; Xen xen/include/public/arch-arm.h",
    ),
    Rule(
        "kvm-hyp-stub-conduit", "error", "KVM hyp-stub call not made the hyp-stub way",
        "The EL2 hyp stub takes `hvc #0` with the stub call number (HVC_SET_VECTORS 0 ... "
        "HVC_FINALISE_EL2 3) in x0 as a constant; it is not an SMCCC call and has no function ID.",
        "Linux arch/arm64/include/asm/virt.h; arch/arm64/kernel/hyp-stub.S",
    ),
    Rule(
        "smccc-function-id-missing", "error", "SMCCC conduit without a function ID",
        "An `hvc #0`/`smc #0` call must carry an SMCCC function ID in w0.",
        "Arm DEN0028 (SMCCC), \"Function Identifiers\"",
    ),
    Rule(
        "function-id-reserved-bits", "error", "SMCCC function ID sets reserved bits",
        "Bits 23:17 of an SMCCC function ID must be zero.",
        "Arm DEN0028 (SMCCC), \"Function Identifiers\"",
    ),
    Rule(
        "function-id-owner", "error", "SMCCC owning entity does not fit the service",
        "Bits 29:24 name the owner: hypervisor services belong to the standard (5) or vendor (6) "
        "hypervisor range, secure-monitor services to 0, 1, 4 or 7, SiP to 2, OEM to 3, trusted "
        "applications to 48-49 and trusted OSes to 50-63.",
        "Arm DEN0028 (SMCCC), \"Function Identifiers\"; Linux include/linux/arm-smccc.h",
    ),
    Rule(
        "kernel-register-not-preserved", "error", "The switch may change a register the kernel needs valid",
        "x29 must be a valid frame pointer at all times outside entry code for reliable stack "
        "traces, x18 holds the shadow call stack, and SP must stay the kernel's; per the TLFS all "
        "three are private per VTL, so the switch need never load or clobber them.",
        "arm64 review of mshv_vtl_return_call, point 2; Linux arch/arm64/kernel/stacktrace.c; TLFS VSM",
    ),
    Rule(
        "platform-register-clobbered", "warning", "x18 may change: no shadow call stack across the call",
        "A kernel built with shadow call stacks (CONFIG_SHADOW_CALL_STACK, -ffixed-x18) keeps the "
        "SCS pointer in x18 at all times; an ABI that clobbers x18 (as the KVM hyp-stub does, "
        "asm/virt.h) may only be called from code that saves and restores x18 or runs without an SCS.",
        "AAPCS64 \"General-purpose Registers\" (x18, the platform register); Linux "
        "arch/arm64/include/asm/scs.h; arch/arm64/include/asm/virt.h",
    ),
    Rule(
        "unspecified-state", "error", "Register state left unspecified",
        "State the ABI says nothing about (SVE Z bits above 127, P0-P15, FFR, SVCR.SM, SVCR.ZA, ZA, "
        "ZT0, FPCR, FPSR...) makes the ABI not future-proof: callers cannot know what survives.",
        "arm64 review of mshv_vtl_return_call, point 3; TLFS VSM (\"may be corrupted\")",
    ),
    Rule(
        "clobbered-without-owner", "error", "Clobbered state without an owner",
        "When a switch may clobber state (such as the Z bits above 127), the convention must say "
        "who keeps the caller's copy (`saved_by`).",
        "arm64 review of mshv_vtl_return_call, point 3",
    ),
    Rule(
        "steering-register-shared", "error", "Shared writable register steers memory writes",
        "A lower VTL that can write a shared buffer pointer or limit (SPE PMBPTR_EL1/PMBLIMITR_EL1, "
        "TRBE TRBPTR_EL1/TRBBASER_EL1/TRBLIMITR_EL1) can aim the hardware's writes at the higher "
        "VTL's memory.",
        "arm64 review of mshv_vtl_return_call, point 4; TLFS VSM (SPE shared except PMBSR_EL1)",
    ),
    Rule(
        "steering-register-unclassified", "warning", "Write-steering register not classified",
        "The spec does not say whether this buffer pointer or limit register is shared between "
        "VTLs; if it is, a lower VTL can aim the hardware's writes at the higher VTL's memory.",
        "arm64 review of mshv_vtl_return_call, point 4",
    ),
    Rule(
        "smccc-sve-hint", "warning", "Uses the SMCCC v1.3 SVE hint",
        "Linux stopped setting the SVE live-state hint because it could clobber other tasks' "
        "SVE/SME state.",
        "Arm DEN0028 v1.3, bit 16; Linux commit 8c462d56",
    ),
    Rule(
        "smccc-results-outside-x0-x17", "error", "SMCCC results outside x0-x17",
        "SMCCC v1.2 returns results in x0-x17 only.",
        "Arm DEN0028 (SMCCC) v1.2, \"Argument passing\"",
    ),
    Rule(
        "smccc-arguments-outside-x0-x17", "error", "SMCCC arguments outside x0-x17",
        "SMCCC v1.2 passes the function ID in w0 and arguments in x1-x17 only.",
        "Arm DEN0028 (SMCCC) v1.2, \"Argument passing\"",
    ),
    Rule(
        "smccc-relies-on-unpreserved", "error", "Relies on a register SMCCC does not preserve",
        "SMCCC preserves only x18-x30, SP_EL0/SP_ELx, the SIMD/FP registers and, from v1.2, the "
        "SVE state (Z bits above 127, P0-P15, FFR) unless the function ID sets the v1.3 SVE hint; "
        "x0-x17 may come back changed.",
        "Arm DEN0028 (SMCCC), \"Register use in AArch64 SMC and HVC calls\"; Linux commit cfa7ff959a78",
    ),
    Rule(
        "smccc-sve-hint-drops-state", "warning", "SMCCC SVE hint set while the spec keeps SVE state",
        "The v1.3 SVE hint tells the callee the caller has no live SVE state, so it may return the "
        "Z bits above 127, P0-P15 and FFR changed; a convention whose spec shares or preserves "
        "that state promises the opposite.",
        "Arm DEN0028 v1.3, function ID bit 16; Linux arch/arm64/kernel/smccc-call.S (__arm_smccc_sve_check)",
    ),
    Rule(
        "sve-state-without-home", "error", "Shared SVE/SME state without a VL-scaled home",
        "Z registers are up to 2048 bits, P0-P15 and FFR VL/8 bytes, ZA SVL x SVL bytes: shared in a "
        "fixed slot, part of VTL0's state is lost at larger vector lengths, which leaves the ABI "
        "with the TLFS's \"may be corrupted\" the maintainers refused. Shared state needs a slot in "
        "a `vl_scaled` field of its type, laid out at the vector length as Linux's sve_context.",
        "arm64 review of mshv_vtl_return_call, point 3; TLFS VSM (\"may be corrupted\"); "
        "Linux arch/arm64/include/uapi/asm/sigcontext.h (struct sve_context)",
    ),
    Rule(
        "context-too-large", "error", "Context over its maximum size",
        "The context must fit the space reserved for it (1024 bytes in struct mshv_vtl_run).",
        "OpenVMM openhcl/hcl/src/protocol.rs; arm64 review of mshv_vtl_return_call, point 5",
    ),
    Rule(
        "context-no-size-limit", "error", "Context without a size limit",
        "Reviewers asked for a compile-time check that the context fits the space reserved for it; "
        "without `max_size` there is nothing to check against.",
        "arm64 review of mshv_vtl_return_call, point 5",
    ),
    Rule(
        "smc32-wide-argument", "error", "SMC32 call with a 64-bit argument",
        "An SMC32 function ID (bit 30 clear) passes 32-bit arguments: the callee reads only "
        "the W registers, so a 64-bit context address or constant is cut to its low half.",
        "Arm DEN0028 (SMCCC), \"SMC32/HVC32 argument passing\"",
    ),
    Rule(
        "prose-trailing-comment", "warning", "Title or note cut short by a YAML comment",
        "In plain YAML ` #` starts a comment, so `(hvc #3)` in an unquoted title leaves `(hvc` "
        "and the rest never reaches the headers and bindings; quote the text if the ` #` is part of it.",
        "YAML 1.2, \"Comments\"",
    ),
    Rule(
        "waiver-unused", "warning", "Waiver matches no finding",
        "A waiver that matches nothing hides nothing; remove it or fix its rule or convention.",
        "vtlgen",
    ),
)  # fmt: skip

RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}

# Registers whose value decides where hardware writes memory (SPE profiling buffer,
# TRBE trace buffer): shared and writable, they let a lower VTL aim those writes.
WRITE_STEERING_REGISTERS = ("PMBPTR_EL1", "PMBLIMITR_EL1", "TRBPTR_EL1", "TRBBASER_EL1", "TRBLIMITR_EL1")

# SMCCC owning entities that fit each service (DEN0028 "Function Identifiers").
OWNERS_FOR_SERVICE: dict[str, frozenset[int]] = {
    "hypervisor": frozenset({5, 6}),
    "secure-monitor": frozenset({0, 1, 4, 7}),
    "sip": frozenset({2}),
    "oem": frozenset({3}),
    "trusted-app": frozenset(range(48, 50)),
    "trusted-os": frozenset(range(50, 64)),
}
