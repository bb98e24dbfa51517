import pytest
from pydantic import ValidationError

from vtlgen.spec.schema import Conduit, ContextField, FunctionId


def test_hvc_encoding_matches_abi() -> None:
    # Arm ARM C6.2 HVC: 0xd4000002 | imm16 << 5, so hvc #3 = 0xd4000062
    assert Conduit(instruction="hvc", imm16=3).encoding == 0xD4000062
    assert Conduit(instruction="hvc", imm16=0).encoding == 0xD4000002
    assert Conduit(instruction="smc", imm16=0).encoding == 0xD4000003


def test_linux_hv_func_id() -> None:
    # ARM_SMCCC_CALL_VAL(STD_CALL, SMC_64, OWNER_VENDOR_HYP, 1) = 0x46000001
    fid = FunctionId(call="yielding", convention="smc64", owner="vendor-hyp", number=1, service="hypervisor")
    assert fid.encoded == 0x46000001


def test_function_id_bits() -> None:
    fid = FunctionId(call="fast", convention="smc32", owner=50, number=0xFFFF, sve_hint=True, service="trusted-os")
    assert fid.encoded == (1 << 31) | (50 << 24) | (1 << 16) | 0xFFFF


@pytest.mark.parametrize(
    "fields",
    [
        {"number": 0x10000},
        {"owner": 64},
        {"owner": "hyp"},
        {"reserved": 0x80},
        {"number": "1"},
        {"sve_hint": 1},
    ],
)
def test_malformed_function_ids_are_rejected(fields: dict[str, object]) -> None:
    base: dict[str, object] = {
        "call": "fast",
        "convention": "smc64",
        "owner": "vendor-hyp",
        "number": 1,
        "service": "hypervisor",
    }
    with pytest.raises(ValidationError):
        FunctionId.model_validate({**base, **fields})


def test_unknown_keys_and_loose_types_are_rejected() -> None:
    with pytest.raises(ValidationError):
        Conduit.model_validate({"instruction": "hvc", "imm16": 0, "colour": "red"})
    with pytest.raises(ValidationError):
        Conduit.model_validate({"instruction": "hvc", "imm16": True})
    with pytest.raises(ValidationError):
        ContextField.model_validate({"name": "x", "type": "u32", "offset": 0})


def test_field_geometry() -> None:
    field = ContextField.model_validate({"name": "q", "type": "u128", "count": 32, "offset": 256})
    assert (field.size, field.end) == (512, 768)
