import pytest

from vtlgen.isa import registers


def test_ranges_expand_in_order() -> None:
    assert registers.expand("x0-x3") == ["x0", "x1", "x2", "x3"]
    assert registers.expand("q30-q31") == ["q30", "q31"]
    assert registers.expand("p0-p15")[-1] == "p15"
    assert registers.expand("svcr.sm") == ["svcr.sm"]


@pytest.mark.parametrize("bad", ["w0", "x31", "x3-x1", "q0-q32", "SP", "x0-y3", ""])
def test_unknown_names_are_rejected(bad: str) -> None:
    with pytest.raises(registers.RegisterNameError):
        registers.expand(bad)


def test_register_file_is_complete_and_unique() -> None:
    names = [r.name for r in registers.ARCHITECTURAL]
    assert len(names) == len(set(names))
    assert {f"x{n}" for n in range(31)} <= set(names)
    assert {f"q{n}" for n in range(32)} <= set(names)
    assert {"sp", "z_upper", "ffr", "svcr.sm", "svcr.za", "za", "zt0", "fpcr", "fpsr", "nzcv"} <= set(names)


def test_aapcs64_roles() -> None:
    assert tuple(f"x{n}" for n in range(19, 29)) == registers.CALLEE_SAVED_GPRS
    assert tuple(f"d{n}" for n in range(8, 16)) == registers.CALLEE_SAVED_D
    assert "x18" in registers.SMCCC_PRESERVED and "x17" not in registers.SMCCC_PRESERVED


def test_sysreg_names() -> None:
    assert registers.is_sysreg_name("PMBPTR_EL1")
    assert not registers.is_sysreg_name("pmbptr_el1")
    assert not registers.is_sysreg_name("PMBPTR")


def test_frame_and_modelled_sets() -> None:
    assert registers.FRAME_REGISTERS == ("x29", "x30", "sp")
    assert len(registers.MODELLED) == len(set(registers.MODELLED)) == 31 + 1 + 32 + 1
    assert set(registers.MODELLED) <= set(registers.BY_NAME)
    # What the caller sees kept is callee-saved state only: none of it is caller-saved.
    assert not set(registers.CALLER_SAVED_VIEW) & set(registers.CALLER_SAVED_GPRS)
    assert set(registers.CALLER_SAVED_VIEW) <= set(registers.MODELLED)
    assert set(registers.VL_SCALED_STATE) <= set(registers.BY_NAME)
    assert not set(registers.VL_SCALED_STATE) & set(registers.MODELLED)
