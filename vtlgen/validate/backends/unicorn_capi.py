"""The fast path to unicorn's C API: register banks, single registers, memory, and hooks.

The Python binding converts register by register and wraps every callback in two Python
frames (a few microseconds each); a trial writes about 130 registers and takes a callback
at each point the harness looks, so these talk to `uc_reg_*_batch`, `uc_reg_read`,
`uc_mem_read` and `uc_hook_add` directly with preallocated buffers. Nothing here knows
about trials: it is the C boundary, kept in one place.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable, Sequence

from unicorn import UC_HOOK_BLOCK, UC_HOOK_CODE, UC_HOOK_INTR
from unicorn import arm64_const as regs
from unicorn.unicorn_py3.arch.types import uc_hook_h as _uc_hook_h
from unicorn.unicorn_py3.unicorn import HOOK_CODE_CFUNC as _HOOK_CODE
from unicorn.unicorn_py3.unicorn import HOOK_INTR_CFUNC as _HOOK_INTR
from unicorn.unicorn_py3.unicorn import Uc, UcError
from unicorn.unicorn_py3.unicorn import uclib as _uclib

GPR_IDS = {f"x{n}": getattr(regs, f"UC_ARM64_REG_X{n}") for n in range(29)}
GPR_IDS |= {"x29": regs.UC_ARM64_REG_X29, "x30": regs.UC_ARM64_REG_X30, "sp": regs.UC_ARM64_REG_SP}
Q_IDS = {f"q{n}": getattr(regs, f"UC_ARM64_REG_Q{n}") for n in range(32)}
REGISTER_IDS = GPR_IDS | Q_IDS | {"nzcv": regs.UC_ARM64_REG_NZCV}
PC = regs.UC_ARM64_REG_PC
SP = regs.UC_ARM64_REG_SP
CPACR = regs.UC_ARM64_REG_CPACR_EL1
FPSR = regs.UC_ARM64_REG_FPSR
X_BY_NUMBER = [GPR_IDS[f"x{n}"] for n in range(31)] + [SP]  # 31 = SP (the SVE forms' Xn|SP)
Q_BY_NUMBER = [Q_IDS[f"q{n}"] for n in range(32)]
_MASK64 = (1 << 64) - 1


class RegisterBank:
    """Batch access to a fixed list of registers through one C call each way, with buffers
    of 16 bytes per register (enough for a Q register)."""

    def __init__(self, uc: Uc, names: Sequence[str]):
        self.handle = uc._uch
        self.names = list(names)
        count = len(self.names)
        self.count = ctypes.c_int(count)
        self.ids = (ctypes.c_int * count)(*(REGISTER_IDS[n] for n in self.names))
        self.buffer = ctypes.create_string_buffer(16 * max(count, 1))
        base = ctypes.addressof(self.buffer)
        self.pointers = (ctypes.c_void_p * count)(*(base + 16 * i for i in range(count)))
        # Each register as two 64-bit halves: a Q register is both, an X register the low one
        # (unicorn writes 8 bytes of it; the high half's mask is 0).
        self.wide = any(n.startswith("q") for n in self.names)
        self.high_masks = [_MASK64 if n.startswith("q") else 0 for n in self.names]
        self.narrow_layout = struct.Struct("<" + "Q8x" * count)
        self.halves_layout = struct.Struct("<" + "QQ" * count)

    def write(self, values: Sequence[int]) -> None:
        if not values:
            return
        ctypes.memmove(self.buffer, b"".join([v.to_bytes(16, "little") for v in values]), 16 * len(values))
        if _uclib.uc_reg_write_batch(self.handle, self.ids, self.pointers, self.count) != 0:
            raise UcError(_uclib.uc_errno(self.handle))

    def read(self) -> list[int]:
        if not self.names:
            return []
        if _uclib.uc_reg_read_batch(self.handle, self.ids, self.pointers, self.count) != 0:
            raise UcError(_uclib.uc_errno(self.handle))
        if not self.wide:
            return list(self.narrow_layout.unpack_from(self.buffer))
        halves = self.halves_layout.unpack_from(self.buffer)
        pairs = zip(halves[::2], halves[1::2], self.high_masks, strict=True)
        return [low | (high & mask) << 64 for low, high, mask in pairs]

    def read_map(self) -> dict[str, int]:
        return dict(zip(self.names, self.read(), strict=True))


class Direct:
    """Single registers and memory with preallocated buffers: the binding's reg_read,
    reg_write and mem_read cost several Python frames each."""

    def __init__(self, uc: Uc):
        self.handle = uc._uch
        self.register = ctypes.create_string_buffer(16)
        self.memory = ctypes.create_string_buffer(512)  # the longest access: a Z register, at most 256 bytes

    def read(self, reg: int, size: int = 8) -> int:
        if _uclib.uc_reg_read(self.handle, reg, self.register) != 0:
            raise UcError(_uclib.uc_errno(self.handle))
        return int.from_bytes(self.register.raw[:size], "little")

    def write(self, reg: int, value: int, size: int = 8) -> None:
        ctypes.memmove(self.register, value.to_bytes(size, "little"), size)
        if _uclib.uc_reg_write(self.handle, reg, self.register) != 0:
            raise UcError(_uclib.uc_errno(self.handle))

    def load(self, address: int, size: int) -> bytes | None:
        """`size` bytes at `address`, or None where nothing is mapped."""
        if size > len(self.memory):
            self.memory = ctypes.create_string_buffer(size)
        if _uclib.uc_mem_read(self.handle, address, self.memory, size) != 0:
            return None
        return self.memory.raw[:size]


class Hooks:
    """Callbacks registered through `uc_hook_add` directly. Like the binding, a callback
    that raises stops the emulation; `reraise` after `emu_start` raises the error there,
    so nothing is swallowed. The C function objects are kept here: unicorn holds only
    their pointers."""

    def __init__(self, uc: Uc):
        self.uc = uc
        self.error: BaseException | None = None
        self._alive: list[object] = []

    def reraise(self) -> None:
        error, self.error = self.error, None
        if error is not None:
            raise error

    def _add(self, kind: int, function: object, begin: int, end: int) -> None:
        self._alive.append(function)
        handle = _uc_hook_h()
        status = _uclib.uc_hook_add(
            self.uc._uch, ctypes.byref(handle), kind, function, None, ctypes.c_uint64(begin), ctypes.c_uint64(end)
        )
        if status != 0:
            raise UcError(status)

    def code(self, callback: Callable[[int], None], begin: int, end: int) -> None:
        """`callback(address)` before each instruction in [begin, end]."""

        def raw(_handle: int, address: int, _size: int, _key: int) -> None:
            try:
                callback(address)
            except BaseException as error:  # re-raised by `reraise`
                self.error = error
                self.uc.emu_stop()

        self._add(UC_HOOK_CODE, _HOOK_CODE(raw), begin, end)

    def block(self, callback: Callable[[int, int], None], begin: int, end: int) -> None:
        """`callback(address, size)` on entering each translated block that starts in [begin, end]."""

        def raw(_handle: int, address: int, size: int, _key: int) -> None:
            try:
                callback(address, size)
            except BaseException as error:
                self.error = error
                self.uc.emu_stop()

        self._add(UC_HOOK_BLOCK, _HOOK_CODE(raw), begin, end)

    def interrupt(self, callback: Callable[[int], None]) -> None:
        """`callback(intno)` at every exception the CPU takes."""

        def raw(_handle: int, intno: int, _key: int) -> None:
            try:
                callback(intno)
            except BaseException as error:
                self.error = error
                self.uc.emu_stop()

        self._add(UC_HOOK_INTR, _HOOK_INTR(raw), 1, 0)
