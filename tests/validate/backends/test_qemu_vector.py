"""The qemu-user backend's SVE/SME mode: vector state reaches the stub, the model's moves
reach the stub after the trap, and streaming-mode illegality is a verdict, at several VLs.

The stubs here are hand-written GNU-as text run with no keystone bytes to compare
(`gnu_only`: keystone assembles no SVE), and the trials' vector state is drawn here
whenever the factory leaves `state.vector` empty."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from tests.support import SPEC, require_tool
from vtlgen.isa.assembler import Assembly
from vtlgen.lower.convention import lower
from vtlgen.spec.loader import load
from vtlgen.validate.backends.base import BackendError, Observable, StubCode, TrialObservation
from vtlgen.validate.backends.qemu_user import TOOLS, QemuUserBackend
from vtlgen.validate.backends.qemu_vector import VectorShape, chunked
from vtlgen.validate.trial import GUARD, InitialState, Switch, TrialFactory
from vtlgen.validate.vector_trial import streaming_length

pytestmark = [pytest.mark.qemu]

PLANS = {p.convention_id: p for p in lower(load(SPEC).spec, "spec/hyperv_vtl.yaml")}
LENGTHS = (16, 48, 64, 256)  # 256: the SVE record lives behind EXTRA_MAGIC
SEEDS = (3, 4)
RDFFR_P0 = 0x2519F000  # rdffr p0.b (Arm ARM "RDFFR (unpredicated)")
ADD_V0_4S = 0x4EA08400  # add v0.4s, v0.4s, v0.4s: AdvSIMD data processing


@pytest.fixture(autouse=True)
def _tools() -> None:
    for tool, package in TOOLS.items():
        require_tool(tool, package)


class VectorTrials(TrialFactory):
    """The plan's trials with their SVE state (drawn here if the factory leaves it empty),
    ZA only when asked, and the model's moves followed by moves of z5, p3, FFR and ZA at
    the trap, plus a `memory` move at context offset 0."""

    def __init__(
        self, conv: str, vl: int, *, streaming: bool = False, za: bool = False, memory: bytes = b"", q7: int = -1
    ):
        super().__init__(PLANS[conv], vl, streaming)
        self.svl = streaming_length(vl)
        self.za, self.memory, self.q7 = za, memory, q7

    def initial(self, seed: int, return_address: int) -> InitialState:
        state = super().initial(seed, return_address)
        vl, rng = self.vector_length, random.Random(seed)
        vector = dict(state.vector)
        if not vector:
            vector = {f"z{n}": state.entry[f"q{n}"].to_bytes(16, "little") + rng.randbytes(vl - 16) for n in range(32)}
            vector |= {f"p{n}": rng.randbytes(vl // 8) for n in range(16)}
            vector["ffr"] = b"\xff" * (vl // 16) + b"\x00" * (vl // 16)  # WRFFR wants a monotonic value
        vector.pop("za", None)
        if self.za:
            vector["za"] = rng.randbytes(self.svl * self.svl)
        return replace(state, vector=vector, vector_length=vl, streaming_length=self.svl, streaming=self.streaming)

    def switch(self, state: InitialState) -> Switch:
        switch = super().switch(state)
        vl, rng = self.vector_length, random.Random(~state.seed)
        moves = [("z5", rng.randbytes(vl)), ("p3", rng.randbytes(vl // 8)), ("ffr", b"\xff" * (vl // 8))]
        if self.za:
            moves.append(("za", rng.randbytes(self.svl * self.svl)))
        memory = switch.memory + (((0, self.memory),) if self.memory else ())
        registers = switch.registers + ((("q7", self.q7),) if self.q7 >= 0 else ())
        return replace(switch, vector=(*switch.vector, *moves), memory=memory, registers=registers)


def gnu_only(text: str) -> StubCode:
    """`text` as the stub, read by GNU as alone: no keystone bytes to hold it to."""
    return StubCode(text, "hand-written.S", Assembly(b"", (), (), (), text))


def run(trials: VectorTrials, text: str) -> list[TrialObservation]:
    backend = QemuUserBackend(trials.vector_length, trials.streaming, factory=trials)
    observations = list(backend.observe(trials.plan, gnu_only(text), SEEDS))
    assert len(observations) == len(SEEDS)
    return observations


def moved(observation: TrialObservation) -> dict[str, bytes]:
    """The vector state after the trap: the q moves set Z's low 128 bits, then the vector
    moves in order (a Z move of VL - 16 bytes sets the bits above 127; ZA only while on)."""
    vector = dict(observation.state.vector)
    for name, value in observation.switch.registers:
        if name.startswith("q"):
            z = f"z{name[1:]}"
            vector[z] = value.to_bytes(16, "little") + vector[z][16:]
    for name, data in observation.switch.vector:
        if name.startswith("z") and len(data) == observation.state.vector_length - 16:
            vector[name] = vector[name][:16] + data
        elif name != "za" or "za" in vector:
            vector[name] = data
    return vector


@pytest.mark.parametrize("vl", LENGTHS)
@pytest.mark.parametrize("conv", ["hvc3", "smccc"])
def test_entry_state_reaches_the_stub_and_the_moves_come_back(conv: str, vl: int) -> None:
    """A stub that only traps and returns: Trap.vector is the entry state, End.vector the
    moved one (hvc3 also randomizes q0-q31: Z's low bits follow those moves; the model's
    clobbers of Z's upper bits come as moves of VL - 16 bytes)."""
    conduit = PLANS[conv].model.conduit_text
    for observation in run(VectorTrials(conv, vl), f"\t{conduit}\n\tret\n"):
        (trap,) = observation.traps
        assert observation.end.kind == "returned"
        assert trap.vector == observation.state.vector
        assert {q: trap.registers[q] for q in (f"q{n}" for n in range(32))} == {
            f"q{n}": int.from_bytes(observation.state.vector[f"z{n}"][:16], "little") for n in range(32)
        }
        assert observation.end.vector == moved(observation)
        assert trap.registers["svcr"] == observation.end.registers["svcr"] == 0
        assert observation.end.registers["q5"] == int.from_bytes(observation.end.vector["z5"][:16], "little")


@pytest.mark.parametrize("vl", LENGTHS)
def test_a_q_move_sets_the_low_bits_of_z(vl: int) -> None:
    """A register move of q7 lands although sigreturn takes Z from sve_context: the handler
    writes it into both records, so Z7 keeps its bits above 127 and gets the new low 128."""
    value = 0x0123456789ABCDEF_FEDCBA9876543210
    for observation in run(VectorTrials("smccc", vl, q7=value), "\thvc #0\n\tret\n"):
        assert observation.end.registers["q7"] == value
        assert observation.end.vector["z7"] == moved(observation)["z7"]
        assert observation.end.vector["z7"][16:] == observation.state.vector["z7"][16:]


@pytest.mark.parametrize("vl", LENGTHS)
def test_za_round_trip(vl: int) -> None:
    """ZA is loaded at entry (PSTATE.ZA = 1), seen whole at the trap, and the model's ZA
    comes back; at SVL 256 both the SVE and the ZA record sit behind EXTRA_MAGIC."""
    for observation in run(VectorTrials("smccc", vl, za=True), "\thvc #0\n\tret\n"):
        trap = observation.traps[0]
        assert trap.registers["svcr"] == 2 and observation.end.registers["svcr"] == 2
        assert trap.vector["za"] == observation.state.vector["za"]
        assert observation.end.vector == moved(observation)


@pytest.mark.parametrize("vl", LENGTHS)
def test_a_stub_that_changes_z5_upper_bits_is_seen_at_the_trap(vl: int) -> None:
    text = "\tmov z5.b, #0x3c\n\tmov z6.d, #-1\n\tmov v6.16b, v7.16b\n\thvc #0\n\tret\n"
    for observation in run(VectorTrials("smccc", vl), text):
        trap = observation.traps[0]
        assert trap.vector["z5"] == b"\x3c" * vl
        # A write to V6 zeroes Z6's bits above 127 (Arm ARM "SVE register file").
        assert trap.vector["z6"] == observation.state.vector["z7"][:16] + bytes(vl - 16)
        assert trap.registers["q5"] == int.from_bytes(b"\x3c" * 16, "little")


@pytest.mark.parametrize("vl", LENGTHS)
def test_memory_moves_of_any_size(vl: int) -> None:
    data = bytes(range(256))[: 2 * vl]
    for observation in run(VectorTrials("smccc", vl, memory=data), "\thvc #0\n\tret\n"):
        assert observation.end.region[GUARD : GUARD + len(data)] == data


@pytest.mark.parametrize("vl", LENGTHS)
def test_a_streaming_trial_starts_in_streaming_mode(vl: int) -> None:
    """SMSTART SM is the last thing before the call and zeroes Z and P; the stub's vectors
    have the streaming length, FFR is not accessible, and the model's moves still land."""
    svl = streaming_length(vl)
    for observation in run(VectorTrials("smccc", vl, streaming=True, za=True), "\thvc #0\n\tret\n"):
        trap = observation.traps[0]
        assert trap.registers["svcr"] == 3
        assert trap.vector["z0"] == bytes(svl) and "ffr" not in trap.vector
        assert trap.vector["za"] == observation.state.vector["za"]
        end = observation.end
        assert end.kind == "returned" and end.registers["svcr"] == 3
        assert end.vector["za"] == observation.switch.vector[-1][1]
        z5 = observation.switch.vector[-4][1]
        assert end.vector["z5"] == (z5 + bytes(svl))[:svl]


@pytest.mark.parametrize("vl", LENGTHS)
@pytest.mark.parametrize(("text", "word"), [("\trdffr p0.b\n", RDFFR_P0), ("\tadd v0.4s, v0.4s, v0.4s\n", ADD_V0_4S)])
def test_streaming_illegal_instruction_is_an_exception(vl: int, text: str, word: int) -> None:
    """Without FEAT_SME_FA64, rdffr and AdvSIMD data processing trap in streaming mode: an
    End("exception") at the instruction, never a crash or a hang; the next trial runs."""
    for observation in run(VectorTrials("smccc", vl, streaming=True), f"\tnop\n{text}\thvc #0\n\tret\n"):
        assert observation.end.kind == "exception" and observation.end.offset == 4
        assert observation.traps[-1].kind == "exception" and observation.traps[-1].word == word


def test_the_same_stub_runs_outside_streaming_mode() -> None:
    (observation, _) = run(VectorTrials("smccc", 64), "\trdffr p0.b\n\thvc #0\n\tret\n")
    assert observation.end.kind == "returned"
    assert observation.traps[0].vector["p0"] == observation.state.vector["ffr"]


def test_without_a_vector_length_nothing_changes() -> None:
    backend = QemuUserBackend()
    assert backend.vector is None and Observable.VECTOR in backend.observes  # the validator asks this one
    assert Observable.VECTOR in QemuUserBackend(48).observes
    assert QemuUserBackend(48).name == "qemu-user"


@pytest.mark.parametrize(("vl", "svl", "message"), [(40, 64, "multiple of 16"), (512, 256, "16 to 256"),
                                                    (48, 48, "power of two")])  # fmt: skip
def test_vector_lengths_qemu_cannot_run_are_refused(vl: int, svl: int, message: str) -> None:
    with pytest.raises(BackendError, match=message):
        VectorShape(vl, svl)


def test_defaults_and_chunks() -> None:
    assert chunked(((8, bytes(40)),)) == [(8, bytes(16)), (24, bytes(16)), (40, bytes(8))]
    with pytest.raises(BackendError, match="vector length"):
        QemuUserBackend(0, streaming=True)


@pytest.mark.parametrize("vl", [48, 256])
def test_a_stub_that_stays_in_streaming_mode_is_seen_and_the_next_trial_is_clean(vl: int) -> None:
    """A stub that enters streaming mode itself and returns in it: SM at the trap and at the
    end, vectors at SVL, no FFR; the next trial still starts outside it (x9: SVCR at entry)."""
    svl = streaming_length(vl)
    for observation in run(VectorTrials("smccc", vl), "\tmrs x9, svcr\n\tsmstart sm\n\thvc #0\n\tret\n"):
        trap, end = observation.traps[0], observation.end
        assert trap.registers["x9"] == 0 and trap.registers["svcr"] == 1 and end.registers["svcr"] == 1
        assert len(end.vector["z0"]) == svl and "ffr" not in end.vector


def test_a_streaming_stub_that_never_ends_is_a_limit() -> None:
    trials = VectorTrials("smccc", 64, streaming=True)
    backend = QemuUserBackend(64, streaming=True, factory=trials)
    (observation,) = backend.observe(trials.plan, gnu_only("\tb .\n"), SEEDS)
    assert observation.end.kind == "limit" and observation.end.offset == 0


def sve_corpus_run(vl: int, old: str = "", new: str = "") -> list[TrialObservation]:
    """The corpus's correct 2.0.0 hvc3 SVE stub (edited: `old` -> `new`) on the factory's trials."""
    from tests.support.stubs import STUBS

    text = (STUBS / "hvc3_sve_ok_variant.S").read_text()  # GNU as reads it: keystone has no SVE
    if old:
        assert text.count(old) == 1
        text = text.replace(old, new)
    return list(QemuUserBackend(vl).observe(PLANS["hvc3"], gnu_only(text), range(6)))


@pytest.mark.parametrize("vl", LENGTHS)
def test_the_hand_written_sve_stub_meets_the_vector_contract_on_qemu(vl: int) -> None:
    """The corpus's correct stub: VTL0's Z, P and FFR at the trap (P1, P2), ZA kept (P5),
    and the shared slots after the return (P4), at every vector length."""
    from vtlgen.validate import vector_contract

    plan = PLANS["hvc3"]
    observations = sve_corpus_run(vl)
    assert plan.model.vector is not None and len(observations) == 6
    for observation in observations:
        state, end = observation.state, observation.end
        assert end.kind == "returned"
        assert vector_contract.entry(plan, state, observation.traps[0]) == []
        assert vector_contract.caller(plan, state, end.vector, end.registers["svcr"]) == []
        for slot in plan.model.vector.slots:
            if slot.register in observation.switch.expected_vector:
                got = vector_contract.slot_bytes(slot, state, end.region)
                assert got == observation.switch.expected_vector[slot.register], slot.register


@pytest.mark.parametrize("vl", LENGTHS)
def test_a_fixed_stride_z_load_is_caught_on_qemu_beyond_vl_16(vl: int) -> None:
    """z5 loaded from a 16-byte stride: right at VL 16 only; on qemu the vector contract
    sees VTL2's or a wrong value in z5 at the trap at every longer VL."""
    from vtlgen.validate import vector_contract

    observations = sve_corpus_run(vl, "ldr    z5, [x2, #5, mul vl]", "add x9, x2, #80\n\tldr z5, [x9]")
    findings = {
        (f.property, f.location)
        for o in observations
        for f in vector_contract.entry(PLANS["hvc3"], o.state, o.traps[0])
    }
    assert bool(findings) == (vl > 16) and {location for _, location in findings} <= {"z5"}
