"""The bridge from unicorn to `VectorMachine`: SVE and SME words run beside unicorn's CPU.

Unicorn's CPU has neither SVE nor SME, so each SVE or SME word vtlgen encodes
(`vtlgen.isa.sve.decode`) raises UDEF with PC at it, like `hvc`; the harness's trap hook
hands it here, it runs on a `VectorMachine` (backends/vector_machine.py), its accesses are
recorded like any other instruction's, and the CPU resumes after it. Qn is the low 16
bytes of Zn: unicorn holds Q, the machine the rest; Q is read into the machine before an
instruction that reads Z and written back after one that writes Z, and an AdvSIMD or FP
write of Vn (the decoded `writes`) zeroes the bits of Zn above 127, as the Arm ARM has it.
"""

from __future__ import annotations

from collections.abc import Sequence

from unicorn import UC_PROT_WRITE
from unicorn.unicorn_py3.unicorn import Uc

from vtlgen.isa import sve
from vtlgen.isa.disassembler import Decoded
from vtlgen.validate.backends.base import Access, End, Trap
from vtlgen.validate.backends.unicorn_capi import FPSR, Q_BY_NUMBER, SP, X_BY_NUMBER, Direct, RegisterBank
from vtlgen.validate.backends.vector_machine import FPSR_AFTER_SM_CHANGE, VectorMachine, VectorTrap, z_read
from vtlgen.validate.backends.vector_machine import SP as VECTOR_SP
from vtlgen.validate.trial import VECTORS, InitialState


class VectorFault(Exception):
    """An SVE/SME load or store touched memory that is not mapped with its permission."""

    def __init__(self, address: int):
        super().__init__(f"fault at 0x{address:x}")
        self.address = address


def sve_words(code: bytes) -> tuple[sve.SveInstruction | None, ...]:
    """The SVE/SME instruction at each word of `code` that the machine runs, if any."""
    return tuple(sve.decode(int.from_bytes(code[i : i + 4], "little")) for i in range(0, len(code), 4))


def fit(data: bytes, size: int) -> bytes:
    """`data` at `size` bytes: cut, or zero-extended (values drawn at VL, used at SVL)."""
    return data[:size] + bytes(max(0, size - len(data)))


def machine_at_entry(state: InitialState) -> VectorMachine:
    """The machine in the state the trial calls the stub in (`state.vector`, at the effective length)."""
    machine = VectorMachine(state.vector_length, state.streaming_length)
    machine.set_streaming(state.streaming, za="za" in state.vector)
    sizes = {"za": state.streaming_length**2, "ffr": machine.predicate_length}
    machine.load(
        {
            name: fit(data, sizes.get(name, machine.length if name[0] == "z" else machine.predicate_length))
            for name, data in state.vector.items()
        }
    )
    return machine


class VectorBridge:
    """One stub's SVE/SME words on one unicorn instance, trial after trial."""

    def __init__(self, uc: Uc, direct: Direct, code: bytes, decoded: Sequence[Decoded], vector_length: int):
        self.uc, self.direct, self.code = uc, direct, code
        self.vector_length = vector_length
        self.words = sve_words(code)
        # Vn written by each instruction (AdvSIMD/FP): the bits of Zn above 127 become zero.
        self.q_writes: tuple[tuple[int, ...], ...] = tuple(
            () if insn is not None else tuple(int(name[1:]) for name in d.writes if name[0] == "q")
            for d, insn in zip(decoded, self.words, strict=True)
        )
        self.q_bank = RegisterBank(uc, VECTORS)
        # Mapped ranges and their permissions, for the machine's loads and stores.
        self.regions = [(begin, end, perms) for begin, end, perms in uc.mem_regions()]
        self.machine = VectorMachine(vector_length)  # replaced at each trial's start

    def start(self, state: InitialState) -> None:
        self.machine = machine_at_entry(state)

    def q_written(self, offset: int) -> None:
        """The Arm ARM's rule for the AdvSIMD/FP instruction at `offset`: its writes of Vn zero Zn above bit 127."""
        for n in self.q_writes[offset >> 2]:
            self.machine.q_written(n)

    def sync_q(self) -> None:
        """Unicorn's Q registers into the low 16 bytes of the machine's Z registers."""
        for n, value in enumerate(self.q_bank.read()):
            self.machine.set_q(n, value.to_bytes(16, "little"))

    def snapshot(self) -> dict[str, bytes]:
        self.sync_q()
        return self.machine.snapshot()

    def _read_x(self, n: int) -> int:
        return self.direct.read(X_BY_NUMBER[n])

    def _write_x(self, n: int, value: int) -> None:
        self.direct.write(X_BY_NUMBER[n], value)

    def _mapped(self, address: int, size: int, permission: int) -> bool:
        end = address + size - 1
        return any(begin <= address and end <= last and perms & permission for begin, last, perms in self.regions)

    def _load(self, address: int, size: int) -> bytes:
        data = self.direct.load(address, size)  # every mapped page is readable
        if data is None:
            raise VectorFault(address)
        return data

    def _store(self, address: int, data: bytes) -> None:
        if not self._mapped(address, len(data), UC_PROT_WRITE):
            raise VectorFault(address)
        self.uc.mem_write(address, data)

    def run(self, insn: sve.SveInstruction, at: int, offset: int, trace_index: int) -> Trap | End | list[Access]:
        """One SVE/SME instruction on the machine, in place of unicorn's UDEF: its accesses,
        or the exception trap (an SME trap, or undefined) or fault that ends the trial."""
        machine, direct = self.machine, self.direct
        source = z_read(insn)
        if source is not None:
            machine.set_q(source, direct.read(Q_BY_NUMBER[source], 16).to_bytes(16, "little"))
        try:
            effects = machine.execute(insn, self._read_x, self._write_x, self._load, self._store)
        except VectorTrap:
            # What the CPU would take at it: an exception observed there.
            word = int.from_bytes(self.code[offset : offset + 4], "little")
            return Trap(offset, "exception", word, {}, b"", trace_index)
        except VectorFault as fault:
            return End("fault", offset, pc=at, address=fault.address)
        for n in effects.z_written:
            direct.write(Q_BY_NUMBER[n], int.from_bytes(machine.z[n][:16], "little"), 16)
        if effects.sm_changed:
            direct.write(FPSR, FPSR_AFTER_SM_CHANGE)  # ResetSVEState
        accesses = []
        if effects.accesses:
            sp = direct.read(SP)
            accesses = [
                Access(offset, a.address, a.size, a.write, sp, sp, a.base == VECTOR_SP) for a in effects.accesses
            ]
        return accesses

    def move(self, name: str, data: bytes) -> None:
        """The model's move of one piece of SVE/SME state (base.py: a "zN" of VL bytes is all
        of Zn, VL - 16 bytes only its bits above 127; "za" only while PSTATE.ZA is 1)."""
        machine = self.machine
        if name == "za":
            if machine.za_enabled:
                machine.load({name: data})
            return
        if name[0] != "z":
            machine.load({name: fit(data, machine.predicate_length)})
            return
        n = int(name[1:])
        if len(data) == self.vector_length:
            machine.z[n] = fit(data, machine.length)
            self.direct.write(Q_BY_NUMBER[n], int.from_bytes(machine.z[n][:16], "little"), 16)
        else:
            machine.z[n] = machine.z[n][:16] + fit(data, machine.length - 16)
