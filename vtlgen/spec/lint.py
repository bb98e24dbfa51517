"""`vtlgen lint`: the arm64 maintainers' review rules, applied to a spec.

Each finding names its rule (see `rules.py` for the reason and source), the field path it is
about (the CLI turns it into file:line:col) and, for convention rules, the convention. A
spec may waive a finding with a written reason; waived findings stay in the report.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from vtlgen.isa import registers
from vtlgen.spec.checks import vl_home
from vtlgen.spec.context_layout import register_classes
from vtlgen.spec.hypervisor_model import is_smccc, preserved_registers
from vtlgen.spec.rules import OWNERS_FOR_SERVICE, RULES, WRITE_STEERING_REGISTERS, Severity
from vtlgen.spec.schema import Convention, FunctionId, RegisterClass, Spec

FieldPath = tuple[str | int, ...]

# Registers the kernel needs valid at all times (arm64 review of mshv_vtl_return_call,
# point 2; AAPCS64; the shadow call stack).
KERNEL_REGISTERS = {
    registers.FRAME_POINTER: "the frame pointer must be valid at all times for reliable stack traces",
    registers.PLATFORM_REGISTER: "x18 holds the shadow call stack pointer",
    registers.STACK_POINTER: "SP is the kernel's stack",
}
SMCCC_REGISTERS = set(registers.SMCCC_RESULT_GPRS)  # x0-x17


@dataclass(frozen=True)
class LintFinding:
    rule: str
    message: str
    path: FieldPath
    convention: str | None = None
    waived: str | None = None  # the waiver's reason

    @property
    def severity(self) -> Severity:
        return RULES[self.rule].severity


def lint(spec: Spec, tree: Any = None) -> list[LintFinding]:
    """The findings for `spec`; with the loader's ruamel `tree`, also those only the source shows."""
    findings = [*_spec_findings(spec)]
    if tree is not None:
        findings += list(_comment_findings(tree, ()))
    for index, convention in enumerate(spec.conventions):
        findings += list(_convention_findings(spec, convention, ("conventions", index)))
    return _apply_waivers(spec, findings)


def counts(findings: list[LintFinding], fail_on: Severity) -> tuple[int, int]:
    """(findings at or above `fail_on` that are not waived, waived findings)."""
    ranks = {"warning": 0, "error": 1}
    failing = sum(1 for f in findings if not f.waived and ranks[f.severity] >= ranks[fail_on])
    return failing, sum(1 for f in findings if f.waived)


def _spec_findings(spec: Spec) -> Iterator[LintFinding]:
    yield from _homeless_vector_state(spec)
    for key, entry in spec.registers.items():
        path: FieldPath = ("registers", key)
        if entry.class_ is RegisterClass.UNSPECIFIED:
            yield LintFinding(
                "unspecified-state", f"{key} is unspecified: say whether it is shared, private or clobbered", path
            )
        elif entry.class_ is RegisterClass.CLOBBERED and entry.saved_by is None:
            yield LintFinding(
                "clobbered-without-owner", f"{key} may be clobbered, but nobody keeps the caller's copy", path
            )
    if register_classes(spec)[registers.PLATFORM_REGISTER] is RegisterClass.CLOBBERED:
        message = (
            "x18 is clobbered: a kernel with shadow call stacks (CONFIG_SHADOW_CALL_STACK) keeps its "
            "SCS pointer there, so callers must save and restore it"
        )
        path = _register_path(spec, registers.PLATFORM_REGISTER, ("registers",))
        yield LintFinding("platform-register-clobbered", message, path)
    for name, sysreg in spec.system_registers.items():
        path = ("system_registers", name)
        if sysreg.class_ is RegisterClass.UNSPECIFIED:
            yield LintFinding("unspecified-state", f"{name} is unspecified", path)
        steers = sysreg.steers_memory_writes or name in WRITE_STEERING_REGISTERS
        if steers and sysreg.writable and sysreg.class_ is RegisterClass.SHARED:
            yield LintFinding(
                "steering-register-shared", f"{name} is shared and writable: a lower VTL can aim its writes", path
            )
    for name in WRITE_STEERING_REGISTERS:
        if name not in spec.system_registers:
            message = f"{name} is not classified: is it shared between VTLs?"
            yield LintFinding("steering-register-unclassified", message, ("system_registers",))
    context = spec.context
    if context.max_size is None:
        yield LintFinding(
            "context-no-size-limit", f"struct {context.c_name} has no max_size to check against", ("context",)
        )
    elif context.size > context.max_size:
        message = f"struct {context.c_name} is {context.size} bytes, over its maximum of {context.max_size}"
        yield LintFinding("context-too-large", message, ("context", "max_size"))


def _homeless_vector_state(spec: Spec) -> Iterator[LintFinding]:
    """Shared SVE/SME state with a fixed slot: no fixed size holds it at every vector length,
    so part of it would be lost, the "may be corrupted" of arm64 review point 3."""
    scaled = {field.name: field for field in spec.context.vl_scaled.fields} if spec.context.vl_scaled else {}
    for key, entry in spec.registers.items():
        slot = entry.slot_parts()
        names = [name for name in registers.expand(key) if name in registers.VL_SCALED_STATE]
        if entry.class_ is not RegisterClass.SHARED or slot is None or not names:
            continue
        home = vl_home(names[0])
        field = scaled.get(slot[0])
        if home is not None and (field is None or field.type is not home[0]):
            message = (
                f"{key} is shared in {entry.slot}, a fixed slot, but its size scales with the vector length; "
                f"expected a slot in a `vl_scaled` {home[0].value} field"
            )
            yield LintFinding("sve-state-without-home", message, ("registers", key))


def _sve_hint_findings(spec: Spec, convention: Convention, fid: FunctionId, path: FieldPath) -> Iterator[LintFinding]:
    """The SMCCC v1.3 SVE hint says the caller has no live SVE state: the callee may then
    drop the Z bits above 127, P0-P15 and FFR (DEN0028 v1.3, function ID bit 16)."""
    yield LintFinding("smccc-sve-hint", "the SVE live-state hint (bit 16) is set", path, convention.id)
    classes = register_classes(spec)
    shared = [name for name in registers.SVE_STATE if classes.get(name) is RegisterClass.SHARED]
    preserved = preserved_registers(classes, convention)
    kept = [name for name in registers.SVE_STATE if name in preserved]
    if shared or kept:
        what = " and ".join(
            f"{verb} {registers.compress(names)}" for verb, names in (("shares", shared), ("keeps", kept)) if names
        )
        message = f"the SVE hint lets the callee drop SVE state, but this spec {what}"
        yield LintFinding("smccc-sve-hint-drops-state", message, path, convention.id)


# Xen's hypercall tag (Linux arch/arm64/xen/hypercall.S: XEN_IMM; Xen public/arch-arm.h).
XEN_HYPERCALL_TAG = 0xEA1
XEN_NUMBER_REGISTER = "x16"
# The hyp stub's call numbers: HVC_SET_VECTORS 0 ... HVC_FINALISE_EL2 3 (asm/virt.h).
KVM_HYP_STUB_CALLS = range(4)


def _family_conduit_findings(convention: Convention, path: FieldPath) -> Iterator[LintFinding]:
    """The conduit rules of a family other than SMCCC: each is right for its own ABI."""
    cid, conduit = convention.id, convention.conduit
    constants = {a.reg: a.value for a in convention.arguments if isinstance(a.value, int)}
    if convention.family == "xen":
        if conduit.text != f"hvc #{XEN_HYPERCALL_TAG}":
            message = f"`{conduit.text}` is not a Xen hypercall: Xen takes `hvc #0xEA1` ({XEN_HYPERCALL_TAG})"
            yield LintFinding("xen-conduit", message, (*path, "conduit"), cid)
        if XEN_NUMBER_REGISTER not in constants:
            message = "no hypercall number: Xen reads it from x16 (a constant argument)"
            yield LintFinding("xen-conduit", message, (*path, "arguments"), cid)
    elif convention.family == "kvm-hyp-stub":
        if conduit.text != "hvc #0":
            message = f"`{conduit.text}` is not a hyp-stub call: the stub takes `hvc #0`"
            yield LintFinding("kvm-hyp-stub-conduit", message, (*path, "conduit"), cid)
        if constants.get("x0") not in KVM_HYP_STUB_CALLS:
            message = "no stub call number in x0: expected a constant 0-3 (HVC_SET_VECTORS ... HVC_FINALISE_EL2)"
            yield LintFinding("kvm-hyp-stub-conduit", message, (*path, "arguments"), cid)
    if convention.function_id is not None:
        message = f"a {convention.family} call carries no SMCCC function ID"
        yield LintFinding(f"{convention.family}-conduit", message, (*path, "function_id"), cid)


def _convention_findings(spec: Spec, convention: Convention, path: FieldPath) -> Iterator[LintFinding]:
    cid = convention.id
    conduit = convention.conduit
    if convention.family != "smccc":
        yield from _family_conduit_findings(convention, path)
    elif conduit.imm16 != 0:
        message = f"`{conduit.text}` is not an SMCCC call; use `{conduit.instruction} #0` with a function ID in w0"
        yield LintFinding("conduit-not-smccc", message, (*path, "conduit", "imm16"), cid)
    elif convention.function_id is None:
        yield LintFinding(
            "smccc-function-id-missing", f"`{conduit.text}` needs an SMCCC function ID", (*path, "conduit"), cid
        )
    classes = register_classes(spec)
    preserved = preserved_registers(classes, convention)
    for name, why in KERNEL_REGISTERS.items():
        # A clobbered x18 is the spec's stated choice, a warning of its own (_spec_findings).
        clobbered_x18 = name == registers.PLATFORM_REGISTER and classes[name] is RegisterClass.CLOBBERED
        if name not in preserved and not clobbered_x18:
            message = f"the switch may load or clobber {name}: {why}"
            yield LintFinding("kernel-register-not-preserved", message, _register_path(spec, name, path), cid)
    if convention.family != "smccc" or not is_smccc(convention):
        return
    fid = convention.function_id
    if fid is not None:
        fid_path = (*path, "function_id")
        if fid.reserved:
            message = f"function ID 0x{fid.encoded:08x} sets reserved bits 23:17 (0x{fid.reserved:x})"
            yield LintFinding("function-id-reserved-bits", message, (*fid_path, "reserved"), cid)
        if fid.owner_number not in OWNERS_FOR_SERVICE[fid.service]:
            message = f"owner {fid.owner} ({fid.owner_number}) does not own {fid.service} services"
            yield LintFinding("function-id-owner", message, (*fid_path, "owner"), cid)
        if fid.sve_hint:
            yield from _sve_hint_findings(spec, convention, fid, (*fid_path, "sve_hint"))
        if fid.convention == "smc32":
            yield from _wide_arguments(convention, path)
    for index, group in enumerate(convention.results):
        outside = [r for r in registers.expand(group) if r not in SMCCC_REGISTERS]
        if outside:
            message = f"results in {', '.join(outside)}: SMCCC returns results in x0-x17 only"
            yield LintFinding("smccc-results-outside-x0-x17", message, (*path, "results", index), cid)
    for index, argument in enumerate(convention.arguments):
        if argument.reg not in SMCCC_REGISTERS:
            message = f"an argument in {argument.reg}: SMCCC passes arguments in x0-x17 only"
            yield LintFinding("smccc-arguments-outside-x0-x17", message, (*path, "arguments", index, "register"), cid)
    smccc_preserved = registers.smccc_preserved(fid is not None and fid.sve_hint)
    for index, group in enumerate(convention.preserved):
        unpreserved = [r for r in registers.expand(group) if r not in smccc_preserved]
        if unpreserved:
            message = f"relies on {', '.join(unpreserved)} surviving the call; SMCCC does not preserve them"
            yield LintFinding("smccc-relies-on-unpreserved", message, (*path, "preserved", index), cid)


# Prose fields that reach the generated headers, bindings and docs.
PROSE_FIELDS = ("title", "note")


def _comment_findings(node: Any, path: FieldPath) -> Iterator[LintFinding]:
    """Prose whose source line carries a trailing comment: maybe text that ` #` cut off."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _comment_findings(item, (*path, index))
        return
    if not isinstance(node, dict):
        return
    comments = getattr(getattr(node, "ca", None), "items", {})
    for key, value in node.items():
        token = (comments.get(key) or [None, None, None])[2]
        text = getattr(token, "value", "") or ""
        if key in PROSE_FIELDS and isinstance(value, str) and text.lstrip(" ").startswith("#"):
            comment = text.strip().splitlines()[0]
            message = (
                f"{key} {value!r} is followed by the comment `{comment}` on its line; quote it if that is its text"
            )
            yield LintFinding("prose-trailing-comment", message, (*path, key))
        yield from _comment_findings(value, (*path, key))


def _wide_arguments(convention: Convention, path: FieldPath) -> Iterator[LintFinding]:
    """SMC32 passes 32-bit arguments (DEN0028): an address or a constant over 32 bits does not fit."""
    for index, argument in enumerate(convention.arguments):
        if argument.value == "context":
            what = "the context's 64-bit address"
        elif isinstance(argument.value, int) and argument.value >> 32:
            what = f"0x{argument.value:x}, wider than 32 bits,"
        else:
            continue
        message = f"{what} is passed in {argument.reg}, but an SMC32 call carries 32-bit arguments; use smc64"
        yield LintFinding("smc32-wide-argument", message, (*path, "arguments", index, "value"), convention.id)


def _register_path(spec: Spec, name: str, fallback: FieldPath) -> FieldPath:
    """The `registers` entry that classifies `name`, to point the finding at it."""
    for key in spec.registers:
        if name in registers.expand(key):
            return ("registers", key)
    return fallback


def _apply_waivers(spec: Spec, findings: list[LintFinding]) -> list[LintFinding]:
    out = list(findings)
    for index, waiver in enumerate(spec.waivers):
        used = False
        for position, finding in enumerate(out):
            if finding.rule == waiver.rule and waiver.convention in (None, finding.convention):
                out[position] = replace(finding, waived=" ".join(waiver.reason.split()))
                used = True
        if not used:
            scope = f" for {waiver.convention}" if waiver.convention else ""
            out.append(LintFinding("waiver-unused", f"no {waiver.rule} finding{scope} to waive", ("waivers", index)))
    return out
