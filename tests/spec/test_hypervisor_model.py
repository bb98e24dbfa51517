"""The model's facts follow the spec's classes, and every checker reads them alike.

`kept_registers` is the one home of "the stub never writes this GPR" (P3). A register moved
from one class to another must move in the contract, in both trial backends and in the proof
at once: the corpus below moves each sampled register through every class, generates its
stub, writes that register at the entry as an edit, and requires unicorn, qemu-user and the
proof to give the same verdict on both stubs.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from tests.support import FIRST, edited, require_tool
from vtlgen import verify
from vtlgen.generate import render
from vtlgen.isa import registers
from vtlgen.lower.convention import lower
from vtlgen.plan import Plan
from vtlgen.spec.context_layout import register_classes
from vtlgen.spec.hypervisor_model import kept_registers
from vtlgen.spec.loader import SpecError, load, load_text
from vtlgen.spec.schema import RegisterClass, Spec
from vtlgen.validate.backends.qemu_user import LIMITS, TOOLS

CLASSES = ("private", "shared", "clobbered")
# x18 (the platform register), a caller-saved argument register, IP1, and both ends of the
# AAPCS64 callee-saved range: each class change that has a rule of its own.
MOVED = ("x18", "x1", "x17", "x19", "x28")
# What every checker observes: qemu-user sees P7 and P10 not at all.
COMPARED = {f"P{n}" for n in range(1, 11)} - {p for p, why in LIMITS.items() if why.startswith("not observed")}


def _per_register(spec: Spec) -> dict[str, dict[str, Any]]:
    """The spec's `registers`, one entry per register, slots resolved."""
    out: dict[str, dict[str, Any]] = {}
    for key, entry in spec.registers.items():
        data = entry.model_dump(by_alias=True, mode="json", exclude_none=True)
        parts = entry.slot_parts()
        for offset, name in enumerate(registers.expand(key)):
            one = dict(data)
            if parts is not None:
                one["slot"] = f"{parts[0]}[{parts[1] + offset}]"
            out[name] = one
    return out


def moved_spec(register: str, class_: str) -> Spec:
    """ABI 1.0.0 with `register` in `class_` (a shared GPR lives in its x[n] slot)."""
    base = load(FIRST).spec
    data = base.model_dump(by_alias=True, mode="json", exclude_none=True)
    entries = _per_register(base)
    entry: dict[str, Any] = {"class": class_, "sources": ["aapcs64"]}
    if class_ == "shared":
        entry["slot"] = f"x[{registers.number(register)}]"
    if class_ == "clobbered":
        entry["saved_by"] = "caller"
    entries[register] = entry
    data["registers"] = entries
    # JSON is YAML, and writes shared lists out instead of as aliases (which specs refuse).
    return load_text(json.dumps(data, indent=1), f"{register}-{class_}.yaml").spec


@cache
def _plans(register: str, class_: str) -> dict[str, Plan]:
    return {p.convention_id: p for p in lower(moved_spec(register, class_), f"{register}-{class_}.yaml")}


def writes_at_entry(stub: str, register: str) -> str:
    """The stub with `register` overwritten right after the frame record is set up."""
    anchor = "\tmov    x29, sp"
    assert stub.count(anchor) == 1
    return stub.replace(anchor, f"{anchor}\n\tmov    {register}, #0x5a", 1)


@pytest.mark.parametrize("class_", CLASSES)
@pytest.mark.parametrize("register", MOVED)
def test_kept_follows_the_class(register: str, class_: str) -> None:
    spec = moved_spec(register, class_)
    classes = register_classes(spec)
    assert classes[register] is RegisterClass(class_)
    for convention in spec.conventions:
        kept = kept_registers(classes, convention)
        argument = register in {a.reg for a in convention.arguments} or (
            register == "x0" and convention.function_id is not None
        )
        assert (register in kept) == (class_ == "private" and not argument), (convention.id, kept)


def test_the_platform_register_is_not_special_cased() -> None:
    """x18 is kept because the spec makes it private, not because it is x18."""
    spec = load(FIRST).spec
    for convention in spec.conventions:
        assert registers.PLATFORM_REGISTER in kept_registers(register_classes(spec), convention)
    for convention in moved_spec("x18", "clobbered").conventions:
        assert registers.PLATFORM_REGISTER not in kept_registers(
            register_classes(moved_spec("x18", "clobbered")), convention
        )


def _verdicts(plan: Plan, stub: str) -> dict[str, set[str]]:
    """Broken properties per checker, of those every checker observes."""
    out: dict[str, set[str]] = {}
    for backend in ("unicorn", "qemu-user"):
        options = verify.Options(trials=6, seed=3, backend=backend, proof=backend == "unicorn")
        for report in verify.verify(plan, stub, "s.S", options).reports:
            out[report.backend] = report.broken_properties() & COMPARED
    assert set(out) == {"unicorn", "qemu-user", "proof"}
    return out


@pytest.mark.qemu
@pytest.mark.parametrize("class_", CLASSES)
@pytest.mark.parametrize("register", MOVED)
def test_the_three_checkers_agree_on_each_class(register: str, class_: str) -> None:
    for tool, package in TOOLS.items():
        require_tool(tool, package)
    for plan in _plans(register, class_).values():
        stub = render.standalone_asm(plan, plan.spec_file)
        generated = _verdicts(plan, stub)
        assert generated == {"unicorn": set(), "qemu-user": set(), "proof": set()}, (plan.convention_id, generated)
        edited = _verdicts(plan, writes_at_entry(stub, register))
        assert len({frozenset(v) for v in edited.values()}) == 1, (plan.convention_id, edited)
        if register in plan.model.kept:  # never written: the edit is a P3 everywhere
            assert "P3" in edited["proof"], (plan.convention_id, edited)
        if register == registers.PLATFORM_REGISTER and class_ == "clobbered":
            assert edited["proof"] == set(), (plan.convention_id, edited)  # the spec lets x18 change


def passing_through(register: str) -> Spec:
    """ABI 1.0.0 whose SMCCC call also passes the stub's C argument in `register` to the trap."""
    anchor = "{register: x2, value: context, sources: [smccc]}"
    passed = f"\n      - {{register: {register}, value: pass-through, name: ARG}}"
    text = edited(FIRST.read_text(), anchor, anchor + passed)
    return load_text(text, f"pass-{register}.yaml").spec


# x1 and x2 carry the call's own arguments in this convention; the other C argument registers.
PASSED = ("x3", "x4", "x5", "x6", "x7")


def destroyed(stub: str, register: str, where: str) -> str:
    """`register` overwritten at the entry or just before the trap: the argument is gone."""
    if where == "entry":
        return writes_at_entry(stub, register)
    assert stub.count("\thvc") == 1
    return stub.replace("\thvc", f"\tmov    {register}, #0\n\thvc", 1)


@pytest.mark.qemu
@pytest.mark.parametrize("register", PASSED)
def test_a_passed_through_argument_reaches_the_trap_in_every_checker(register: str) -> None:
    for tool, package in TOOLS.items():
        require_tool(tool, package)
    (plan,) = [p for p in lower(passing_through(register), "p.yaml") if p.convention_id == "smccc"]
    stub = render.standalone_asm(plan, plan.spec_file)
    assert "u64 arg);" in stub and register not in plan.model.kept
    assert _verdicts(plan, stub) == {"unicorn": set(), "qemu-user": set(), "proof": set()}
    for where in ("entry", "trap"):
        verdicts = _verdicts(plan, destroyed(stub, register, where))
        assert verdicts == {"unicorn": {"P1"}, "qemu-user": {"P1"}, "proof": {"P1"}}, (where, verdicts)


def uses_with_save(stub: str, register: str) -> str:
    """The stub saving `register`, using it and restoring it, as callee-saved code may."""
    anchor = "\tmov    x29, sp"
    body = f"\tstr    {register}, [sp, #-16]!\n\tmov    {register}, x0\n\tldr    {register}, [sp], #16"
    return stub.replace(anchor, f"{anchor}\n{body}", 1)


def uses_without_save(stub: str, register: str) -> str:
    return writes_at_entry(stub, register)


@pytest.mark.parametrize("register", ["x19", "x23", "x28"])
def test_callee_saved_may_be_used_if_restored_and_never_written_may_not(register: str) -> None:
    """`callee-saved` (AAPCS64): save, use, restore passes; use without a save breaks P5.
    `never-written` (today's `private`): any write breaks P3, restored or not."""
    for class_, restored, unsaved in (("callee-saved", set(), {"P5"}), ("never-written", {"P3"}, {"P3", "P5"})):
        spec = moved_spec(register, class_)
        assert register_classes(spec)[register] is (
            RegisterClass.CALLEE_SAVED if class_ == "callee-saved" else RegisterClass.PRIVATE
        )
        for plan in lower(spec, "c.yaml"):
            stub = render.standalone_asm(plan, plan.spec_file)
            for edit, want in ((uses_with_save, restored), (uses_without_save, unsaved)):
                reports = verify.verify(plan, edit(stub, register), "s.S", verify.Options(trials=6, seed=5)).reports
                got = {r.backend: r.broken_properties() & {"P3", "P5"} for r in reports}
                assert got == {"unicorn": want, "proof": want}, (class_, plan.convention_id, edit.__name__, got)


def test_callee_saved_is_for_aapcs64_callee_saved_registers_only() -> None:
    with pytest.raises(SpecError) as caught:
        moved_spec("x9", "callee-saved")
    assert any("x9 is not AAPCS64 callee-saved" in p.message for p in caught.value.problems)
