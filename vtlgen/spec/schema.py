"""The spec language: pydantic models for an arm64 world-switch calling convention.

Models are frozen and forbid unknown keys. They check shape and local ranges only;
relations between parts of a spec (overlaps, double mappings, unknown sources) are
checked in `checks.py`, so that every problem can be reported at its own location.
No I/O happens here.
"""

from __future__ import annotations

import re
import unicodedata
from enum import Enum
from typing import Annotated, Literal, Union

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, field_validator

from vtlgen.isa.encoding import (
    FUNCTION_NUMBER_MAX,
    IMM16_MAX,
    OWNER_MAX,
    RESERVED_MAX,
    encode_function_id,
    exception_word,
)
from vtlgen.isa.registers import REGISTER_KEY_PATTERN
from vtlgen.isa.vector_length import MAX_VECTOR_LENGTH, MIN_VECTOR_LENGTH, VL_GRANULE
from vtlgen.plan import BYTES_PER_VQ

IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"
SPEC_ID = r"^[a-z][a-z0-9_]*$"
SEMVER = r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$"
SOURCE_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"

# Prose is copied into generated C, assembly, Python and documentation, and printed on
# terminals. Characters that end a line or steer a terminal or a reader's eye (control
# characters, line and paragraph separators, bidirectional overrides as in "Trojan
# Source", CVE-2021-42574) have no place in an ABI's prose, so the schema refuses them;
# the generators escape what remains for each language.
_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}
# Bounds on size, so that a small spec cannot make vtlgen write or emulate without end:
# the emulators map the whole context, and the header names every array element.
# bytes: far above the 1 KiB that struct mshv_vtl_run reserves, and below the 1 MiB window
# the trials place the context in (vtlgen/validate/trial.py), with room for its guard bytes
# and a choice of addresses: every context the schema accepts can be validated and proved.
MAX_CONTEXT = (1 << 20) - (1 << 12)
MAX_FIELDS = 256
MAX_ELEMENTS = 8192  # array elements over all fields (one asm-offsets macro each)
MAX_CONVENTIONS = 16
MAX_ITEMS = 256  # sources, decisions, waivers
MAX_LINE = 200
MAX_PROSE = 4000


def _prose_checker(allow_newlines: bool) -> AfterValidator:
    def check(value: str) -> str:
        for index, char in enumerate(value):
            if allow_newlines and char == "\n":
                continue
            if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
                what = "a line break" if char in "\r\n\x85\u2028\u2029" else f"the character U+{ord(char):04X}"
                where = "" if allow_newlines else "; this field is one line"
                raise ValueError(f"{what} at position {index}: expected printable text{where}")
        return value

    return AfterValidator(check)


# One line of prose: a title, a topic, a source's section.
Line = Annotated[str, StringConstraints(max_length=MAX_LINE), _prose_checker(allow_newlines=False)]
# Paragraphs: notes and reasons.
Prose = Annotated[str, StringConstraints(max_length=MAX_PROSE), _prose_checker(allow_newlines=True)]
SourceId = Annotated[str, StringConstraints(pattern=SOURCE_ID, max_length=64)]


class Model(BaseModel):
    # strict: YAML's `true` is not an int and `"3"` is not a number; enums opt back in.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, strict=True)


class RegisterClass(str, Enum):
    """One meaning everywhere (the README lists the classes)."""

    SHARED = "shared"  # VTL0's value travels through the context; the switch exchanges it
    PRIVATE = "private"  # never written: each VTL has its own copy; the hypervisor keeps the caller's
    # AAPCS64 callee-saved (x19-x28): the trap's callee preserves it, and the stub may save,
    # use and restore it (DEN0028 "Register use": x18-x30 are preserved across SMC/HVC calls).
    CALLEE_SAVED = "callee-saved"
    CLOBBERED = "clobbered"  # UNKNOWN after the switch
    UNSPECIFIED = "unspecified"  # the ABI says nothing; treated as clobbered, reported by lint


class ElementType(str, Enum):
    U64 = "u64"
    U128 = "u128"
    BYTES = "bytes"

    @property
    def size(self) -> int:
        return {"u64": 8, "u128": 16, "bytes": 1}[self.value]


class Source(Model):
    title: Line = Field(min_length=1)
    url: Line | None = None
    section: Line | None = None


SourceRefs = Annotated[list[SourceId], Field(default_factory=list)]


class Decision(Model):
    """Where sources disagree, the spec says which one it follows and why."""

    topic: Line = Field(min_length=1)
    follows: SourceId
    against: list[SourceId] = Field(default_factory=list)
    reason: Prose = Field(min_length=1)


class ContextField(Model):
    name: str = Field(pattern=IDENTIFIER)
    type: ElementType = Field(strict=False)
    count: int = Field(default=1, ge=1, le=4096)
    offset: int = Field(ge=0, le=MAX_CONTEXT)

    @property
    def element_size(self) -> int:
        return self.type.size

    @property
    def size(self) -> int:
        return self.element_size * self.count

    @property
    def end(self) -> int:
        return self.offset + self.size


class VlKind(str, Enum):
    """State whose size scales with the vector length VL (bytes; a multiple of 16, at most
    256: Arm ARM "SVE vector length", ZCR_ELx.LEN). Kernel style: `vq` = VL / 16."""

    ZREG = "zreg"  # one Z register: VL bytes (Linux SVE_SIG_ZREG_SIZE(vq) = vq * 16)
    PREG = "preg"  # one P register or FFR: VL / 8 bytes (SVE_SIG_PREG_SIZE(vq) = vq * 2)
    ZA = "za"  # SME's ZA array: SVL x SVL bytes (ZA_SIG_REGS_SIZE(vq) = (vq * 16)^2)

    @property
    def bytes_per_vq(self) -> int:
        """Element size per quadword of VL (zreg, preg); ZA is quadratic (see context_layout.py)."""
        return BYTES_PER_VQ.get(self.value, 0)


class VlField(Model):
    name: str = Field(pattern=IDENTIFIER)
    type: VlKind = Field(strict=False)
    count: int = Field(default=1, ge=1, le=32)


class VlScaled(Model):
    """The extended context: fields packed one after another from `offset`, in order, each
    sized by the vector length, as Linux lays out `struct sve_context` (Z, then P, then FFR)."""

    offset: int = Field(ge=0, le=MAX_CONTEXT, description="where the VL-scaled part starts (a fixed offset)")
    max_vl: int = Field(
        default=MAX_VECTOR_LENGTH,
        ge=MIN_VECTOR_LENGTH,
        le=MAX_VECTOR_LENGTH,
        multiple_of=VL_GRANULE,
        description="largest VL, bytes",
    )
    fields: list[VlField] = Field(min_length=1, max_length=8)
    sources: SourceRefs
    note: Prose | None = None


class Context(Model):
    c_name: str = Field(pattern=IDENTIFIER)
    align: Literal[8, 16] = 16
    max_size: int | None = Field(
        default=None,
        ge=1,
        le=MAX_CONTEXT,
        description="Bytes reserved for the context; lint requires it (review point 5).",
    )
    fields: list[ContextField] = Field(min_length=1, max_length=MAX_FIELDS)
    vl_scaled: VlScaled | None = Field(
        default=None, description="SVE/SME state whose size scales with the vector length, after the fixed part"
    )
    sources: SourceRefs
    note: Prose | None = None

    @property
    def size(self) -> int:
        """The C size: the end of the last field, rounded up to the alignment."""
        end = max(f.end for f in self.fields)
        return -(-end // self.align) * self.align


# Words that fit every ABI, accepted beside the classes they name (README "The spec format").
CLASS_ALIASES = {"never-written": RegisterClass.PRIVATE.value}


def _class_alias(value: object) -> object:
    return CLASS_ALIASES.get(value, value) if isinstance(value, str) else value


ClassName = Annotated[RegisterClass, BeforeValidator(_class_alias)]

_SLOT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\[(\d+)\]$|^([A-Za-z_][A-Za-z0-9_]*)$")


class RegisterEntry(Model):
    """The class of one register group, keyed by `x0-x17`, `q0-q31`, `sp`, ..."""

    class_: ClassName = Field(alias="class", strict=False)
    slot: str | None = Field(
        default=None,
        description="For shared registers: the context slot of the group's first register, "
        "as `field[index]`; the group maps onto consecutive elements.",
    )
    saved_by: Literal["caller"] | None = Field(
        default=None,
        description="For clobbered state: who keeps the caller's copy across the switch.",
    )
    sources: SourceRefs
    note: Prose | None = None

    @field_validator("slot")
    @classmethod
    def _slot_form(cls, value: str | None) -> str | None:
        if value is not None and not _SLOT.fullmatch(value):
            raise ValueError("expected a context slot such as `x[0]` or `rsvd`")
        return value

    def slot_parts(self) -> tuple[str, int] | None:
        if self.slot is None:
            return None
        match = _SLOT.fullmatch(self.slot)
        assert match is not None  # checked by the validator
        if match.group(3):
            return match.group(3), 0
        return match.group(1), int(match.group(2))


class SystemRegister(Model):
    class_: ClassName = Field(alias="class", strict=False)
    writable: bool
    steers_memory_writes: bool = Field(
        default=False,
        description="Its value decides where hardware writes memory (SPE/TRBE buffer "
        "pointers and limits): shared and writable, it lets a lower VTL aim those writes.",
    )
    sources: SourceRefs
    note: Prose | None = None


class Conduit(Model):
    instruction: Literal["hvc", "smc"]
    imm16: int = Field(ge=0, le=IMM16_MAX)

    @property
    def encoding(self) -> int:
        """The instruction word (Arm ARM C6.2 HVC/SMC; OpenVMM hvdef)."""
        return exception_word(self.instruction, self.imm16)

    @property
    def text(self) -> str:
        return f"{self.instruction} #{self.imm16}"


# SMCCC owning entities, bits 29:24 (Arm DEN0028 "Function Identifier"; TF-A include/lib/smccc.h).
OWNERS: dict[str, int] = {
    "arch": 0,
    "cpu": 1,
    "sip": 2,
    "oem": 3,
    "std-secure": 4,
    "std-hyp": 5,
    "vendor-hyp": 6,
    "vendor-el3": 7,
}
TRUSTED_APP_OWNERS = range(48, 50)
TRUSTED_OS_OWNERS = range(50, 64)


class FunctionId(Model):
    """An SMCCC function ID, built from its fields so that every bit is accounted for."""

    call: Literal["fast", "yielding"]
    convention: Literal["smc32", "smc64"]
    owner: Union[Literal[tuple(OWNERS)], Annotated[int, Field(ge=0, le=OWNER_MAX)]]  # type: ignore[valid-type]
    number: int = Field(ge=0, le=FUNCTION_NUMBER_MAX)
    sve_hint: bool = Field(default=False, description="SMCCC v1.3 bit 16")
    reserved: int = Field(
        default=0, ge=0, le=RESERVED_MAX, description="bits 23:17, must be zero; lint reports otherwise"
    )
    service: Literal["hypervisor", "secure-monitor", "trusted-os", "trusted-app", "sip", "oem"]
    value: int | None = Field(default=None, description="Optional cross-check: the ID as published, e.g. 0x46000001")

    @property
    def owner_number(self) -> int:
        return OWNERS[self.owner] if isinstance(self.owner, str) else self.owner

    @property
    def encoded(self) -> int:
        return encode_function_id(
            fast=self.call == "fast",
            smc64=self.convention == "smc64",
            owner=self.owner_number,
            number=self.number,
            sve_hint=self.sve_hint,
            reserved=self.reserved,
        )


# `pass-through`: a C argument of the stub (AAPCS64 passes the first eight in x0-x7) that
# reaches the trap unchanged, such as a Xen hypercall's or an SMCCC call's caller-chosen inputs.
ArgumentValue = Union[Literal["function-id", "context", "pass-through"], Annotated[int, Field(ge=0, lt=1 << 64)]]


class Argument(Model):
    reg: str = Field(alias="register")
    value: ArgumentValue
    name: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9_]*$")
    sources: SourceRefs


class StubOptions(Model):
    bti: bool = Field(default=True, description="emit `bti c` (hint #34) at the entry")
    frame_record: bool = Field(
        default=True,
        description="push a frame record {x29, x30}; false asks for a leaf stub (AAPCS64 lets a leaf "
        "omit it), which lowering allows only when the stub keeps nothing in a frame and the trap "
        "preserves x30",
    )
    linux_section: str = Field(default=".noinstr.text", pattern=r"^\.[A-Za-z0-9_.]+$")


class Convention(Model):
    id: str = Field(pattern=SPEC_ID, max_length=64)
    title: Line = ""
    symbol: str = Field(pattern=IDENTIFIER, max_length=64)
    conduit: Conduit
    family: Literal["smccc", "xen", "kvm-hyp-stub"] = Field(
        default="smccc",
        description="The ABI family whose conduit rules lint applies: smccc (Arm DEN0028; the arm64 "
        "maintainers' default), xen (`hvc #0xEA1`, the number in x16: Linux arch/arm64/xen/hypercall.S) "
        "or kvm-hyp-stub (`hvc #0`, the stub call number in x0: Linux arch/arm64/include/asm/virt.h).",
    )
    function_id: FunctionId | None = None
    transport: Literal["registers", "memory"] = Field(
        description="registers: the stub loads shared registers before the trap and stores "
        "them after (register bank); memory: the hypervisor reads and writes the context."
    )
    arguments: list[Argument] = Field(default_factory=list)
    results: list[str] = Field(default_factory=list)
    preserved: list[str] = Field(
        default_factory=list,
        description="Registers the hypervisor preserves across the call, beyond private ones.",
    )
    stub: StubOptions = Field(default_factory=StubOptions)
    sources: SourceRefs
    note: Prose | None = None


class EntryRequirement(Model):
    """State the caller must be in when it calls the stub; validation shows what breaks otherwise."""

    state: Literal["svcr.sm", "svcr.za"]
    value: Literal[0, 1]
    reason: Prose = Field(min_length=10)
    sources: SourceRefs


class Waiver(Model):
    rule: Line
    convention: Line | None = None
    reason: Prose = Field(min_length=10)


class Spec(Model):
    id: str = Field(pattern=SPEC_ID, max_length=64)
    title: Line = Field(min_length=1)
    abi_version: str = Field(pattern=SEMVER)
    sources: dict[SourceId, Source] = Field(min_length=1, max_length=MAX_ITEMS)
    decisions: list[Decision] = Field(default_factory=list, max_length=MAX_ITEMS)
    context: Context
    # The names in the JSON Schema too (patternProperties, and nothing else allowed), so an editor marks `fspr`.
    registers: dict[Annotated[str, StringConstraints(pattern=REGISTER_KEY_PATTERN)], RegisterEntry] = Field(
        json_schema_extra={"additionalProperties": False}
    )
    system_registers: dict[str, SystemRegister] = Field(default_factory=dict)
    conventions: list[Convention] = Field(min_length=1, max_length=MAX_CONVENTIONS)
    entry_requirements: list[EntryRequirement] = Field(default_factory=list, max_length=4)
    waivers: list[Waiver] = Field(default_factory=list, max_length=MAX_ITEMS)

    def convention(self, convention_id: str) -> Convention:
        for convention in self.conventions:
            if convention.id == convention_id:
                return convention
        raise KeyError(convention_id)
