"""SVE/SME state for the qemu-user harness: the CPU model, the records, and their parsing.

With a vector length the harness runs under `qemu-aarch64 -cpu max` with SVE at VL bytes and
SME at the trials' streaming length SVL (`vtlgen.validate.vector_trial.streaming_length`: a power of
two, as SME requires: Arm ARM "SMCR_ELx.LEN"), and
FEAT_SME_FA64 off, so what streaming mode forbids (rdffr, AdvSIMD data processing) traps as it
would on a core without it (Arm ARM "Streaming SVE mode").

Everything VL-dependent is computed here and handed to the harness (qemu_harness_vector.c)
as constants and record fields in its generated header: the harness loads `state.vector`
before the call, copies Z, P, FFR and ZA out of the signal frame's `sve_context` /
`za_context` records at the trap (Linux arch/arm64/include/uapi/asm/sigcontext.h:
SVE_SIG_*, ZA_SIG_*, EXTRA_MAGIC), writes the model's moves into them (and the low 128
bits into `fpsimd_context.vregs`, which the SVE record overrides on sigreturn when both
are present: measured on qemu 7.2), and dumps the same state after the return. Each area
is a fixed-stride array of VMAX-sized slots (VMAX = max(VL, SVL)), since a stub in
streaming mode has SVL-long registers.

`-cpu max` also has DCZID_EL0.BS = 7: `dc zva` zeroes 512 bytes there, 64 on cortex-a72
(measured; no -cpu property changes it in qemu 7.2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from vtlgen.isa.vector_length import is_architectural, is_streaming_architectural
from vtlgen.validate.backends.base import BackendError
from vtlgen.validate.backends.qemu_records import U8, U32, Field, Record
from vtlgen.validate.trial import InitialState, Switch

Z_COUNT, P_COUNT = 32, 16
FFR_INDEX = 16  # FFR travels as a 17th predicate, after p0-p15, as in sve_context
SVCR_BITS = {"SVCR_SM": 1, "SVCR_ZA": 2}  # Arm ARM "SVCR": PSTATE.SM, PSTATE.ZA
SM, ZA = SVCR_BITS["SVCR_SM"], SVCR_BITS["SVCR_ZA"]
VECTOR_KINDS = {"VKIND_Z": 0, "VKIND_P": 1, "VKIND_FFR": 2, "VKIND_ZA": 3, "VKIND_Z_UPPER": 4}  # vector_entry.kind
_KIND_Z, _KIND_P, _KIND_FFR, _KIND_ZA, _KIND_Z_UPPER = VECTOR_KINDS.values()
VECTOR_FLAGS = {"HAS_VECTOR": 1, "HAS_ZA": 2, "STREAMING": 4}  # bits of `trial_in.vflags`
HAS_VECTOR, HAS_ZA, STREAMING = VECTOR_FLAGS.values()
MAX_VECTOR_MOVES = 2 * (Z_COUNT + P_COUNT + 2)  # each register moved whole, then in part
VECTOR_ENTRY = Record("vector_entry", [Field(name, U32) for name in ("kind", "index", "size", "pool")])
CHUNK = 16  # memory moves travel in 16-byte pieces, however long the slot


@dataclass(frozen=True)
class VectorShape:
    """The sizes of one harness's vector areas, in bytes."""

    vl: int
    svl: int

    def __post_init__(self) -> None:
        if not is_architectural(self.vl):
            raise BackendError(f"vector length {self.vl}: SVE needs a multiple of 16 bytes from 16 to 256")
        if not is_streaming_architectural(self.svl):
            raise BackendError(f"streaming vector length {self.svl}: SME needs a power of two from 16 to 256")

    @property
    def vmax(self) -> int:
        return max(self.vl, self.svl)

    @property
    def cpu(self) -> str:
        return f"max,sve-default-vector-length={self.vl},sme-default-vector-length={self.svl},sme_fa64=off"

    def defines(self) -> dict[str, int]:
        """The harness's vector constants: the sizes of its areas and loops."""
        return {
            "VECTOR_LENGTH": self.vl,
            "STREAMING_LENGTH": self.svl,
            "Z_IN": self.z_in,
            "P_IN": self.p_in,
            "ZA_BYTES": self.za,
            "Z_OUT": self.z_out,
            "P_OUT": self.p_out,
            "Z_STRIDE": self.vmax,
            "P_STRIDE": self.vmax // 8,
            "VPOOL": self.pool,
            "MAX_VECTOR_MOVES": MAX_VECTOR_MOVES,
            "FFR_INDEX": FFR_INDEX,
        }

    @property
    def z_in(self) -> int:
        return Z_COUNT * self.vl

    @property
    def p_in(self) -> int:
        return _padded((P_COUNT + 1) * self.vl // 8)

    @property
    def za(self) -> int:
        return self.svl * self.svl

    @property
    def z_out(self) -> int:
        return Z_COUNT * self.vmax

    @property
    def p_out(self) -> int:
        return _padded((P_COUNT + 1) * self.vmax // 8)

    @property
    def frame(self) -> int:
        """Room for the SVE and ZA records of a signal frame (sigcontext.h: SVE_SIG_CONTEXT_SIZE,
        ZA_SIG_CONTEXT_SIZE, each with a header of at most 32 bytes), rounded up generously."""
        return 2 * (Z_COUNT * self.vmax + (P_COUNT + 1) * self.vmax // 8 + self.svl * self.svl + 4096)

    @property
    def pool(self) -> int:
        return 2 * _padded(Z_COUNT * self.vmax + (P_COUNT + 1) * self.vmax // 8 + self.svl * self.svl)

    def input_fields(self) -> list[Field]:
        """struct trial_in's vector part: flags, moves, their bytes, and the entry state."""
        return [
            Field("vflags", U32),
            Field("n_vector", U32),
            Field("vec", VECTOR_ENTRY, (MAX_VECTOR_MOVES,)),
            Field("vpool", U8, (self.pool,)),
            Field("z", U8, (self.z_in,)),
            Field("p", U8, (self.p_in,)),
            Field("za", U8, (self.za,)),
        ]

    def output_fields(self) -> list[Field]:
        """struct trial_out's vector part: SVCR and VL at the trap, SVCR at the end, the areas."""
        return [
            Field("trap_svcr", U32),
            Field("trap_vl", U32),
            Field("end_svcr", U32),
            *(Field(f"{when}_{area}", U8, (size,)) for when in ("trap", "end")
              for area, size in (("z", self.z_out), ("p", self.p_out), ("za", self.za))),
        ]  # fmt: skip

    def pack(self, state: InitialState, switch: Switch) -> dict[str, object]:
        """The vector fields of one trial's input record, by name."""
        vector, flags = state.vector, 0
        z_in = p_in = za_in = b""
        if vector:
            flags |= HAS_VECTOR
            z_in = b"".join(self._sized(vector, f"z{n}", self.vl) for n in range(Z_COUNT))
            p_in = b"".join(self._sized(vector, f"p{n}", self.vl // 8) for n in range(P_COUNT))
            p_in += self._sized(vector, "ffr", self.vl // 8)
            if "za" in vector:
                flags |= HAS_ZA
                za_in = self._sized(vector, "za", self.svl * self.svl)
        if state.streaming:
            flags |= STREAMING
        if state.streaming_length not in (0, self.svl):
            raise BackendError(f"the trial's SVL is {state.streaming_length} bytes; this harness runs at {self.svl}")
        entries: list[dict[str, int]] = []
        pool = b""
        for name, data in switch.vector:
            kind, index = _kind(name)
            if kind == _KIND_Z and len(data) == self.vl - 16:
                kind = _KIND_Z_UPPER  # only the bits above 127 (backends/base.py)
            entries.append({"kind": kind, "index": index, "size": len(data), "pool": len(pool)})
            pool += data
        if len(pool) > self.pool or len(entries) > MAX_VECTOR_MOVES:
            raise BackendError("the model's vector moves do not fit the harness")
        return {"vflags": flags, "n_vector": len(entries), "vec": entries, "vpool": pool, "z": z_in, "p": p_in,
                "za": za_in}  # fmt: skip

    @staticmethod
    def _sized(vector: Mapping[str, bytes], name: str, size: int) -> bytes:
        data = vector.get(name)
        if data is None or len(data) != size:
            got = "missing" if data is None else f"{len(data)} bytes"
            raise BackendError(f"state.vector[{name!r}] must be {size} bytes at this vector length: {got}")
        return data

    def unpack(self, svcr: int, vl: int, z: bytes, p: bytes, za: bytes, *, stride: int) -> dict[str, bytes]:
        """Z, P, FFR (outside streaming mode: FFR is not accessible in it without
        FEAT_SME_FA64) and ZA (when PSTATE.ZA is 1) at vector length `vl`, from areas
        whose Z slots are `stride` bytes apart (P slots stride / 8)."""
        if not vl:
            return {}
        vector = {f"z{n}": z[n * stride : n * stride + vl] for n in range(Z_COUNT)}
        step, size = stride // 8, vl // 8
        vector |= {f"p{n}": p[n * step : n * step + size] for n in range(P_COUNT)}
        if not svcr & SM:
            vector["ffr"] = p[FFR_INDEX * step : FFR_INDEX * step + size]
        if svcr & ZA:
            vector["za"] = za
        return vector

    def end_length(self, svcr: int) -> int:
        return self.svl if svcr & SM else self.vl


def _padded(size: int) -> int:
    """Areas are whole multiples of 16 bytes: no padding in the C records."""
    return -(-size // 16) * 16


def chunked(memory: tuple[tuple[int, bytes], ...]) -> list[tuple[int, bytes]]:
    """Memory moves of any size as the harness's 16-byte entries."""
    return [(offset + k, data[k : k + CHUNK]) for offset, data in memory for k in range(0, len(data), CHUNK)]


def _kind(name: str) -> tuple[int, int]:
    if name == "ffr":
        return _KIND_FFR, 0
    if name == "za":
        return _KIND_ZA, 0
    if name[:1] in ("z", "p") and name[1:].isdigit():
        index = int(name[1:])
        if index < (Z_COUNT if name[0] == "z" else P_COUNT):
            return (_KIND_Z if name[0] == "z" else _KIND_P), index
    raise BackendError(f"the model moves {name!r}, which is no SVE/SME register")
