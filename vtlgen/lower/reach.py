"""Which loads and stores reach the context's slots, and from which base addresses.

Shared registers move in LDP/STP pairs along each run of adjacent slots; an odd run leaves
one LDR/STR. A pair reaches only 64 elements either side of its base (signed 7-bit scaled
immediate), so a context larger than that is covered by *windows*: the base register holds
`ctx + bias`, and one ADD/SUB moves it between windows (Arm ARM C6.2 "LDP", "LDR
(immediate)", "ADD (immediate)"). The windows are a minimum cover, so the count that the
generator emits is also the count the budget charges. No ABI decisions are made here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vtlgen.isa import encoding
from vtlgen.lower import a64
from vtlgen.plan import Slot

# Biases are multiples of 16, so a biased base keeps every 8- and 16-byte slot's
# offset a multiple of its size (the scaled immediates need it).
BIAS_ALIGN = 16


@dataclass(frozen=True)
class Window:
    """Transfers that one base value (`ctx + bias`) reaches."""

    bias: int
    transfers: tuple[a64.Transfer, ...]


def runs(slots: Sequence[Slot]) -> list[list[Slot]]:
    """Maximal runs of adjacent, equal-sized slots, in context order."""
    out: list[list[Slot]] = []
    for slot in sorted(slots, key=lambda s: s.offset):
        last = out[-1][-1] if out else None
        if last is not None and slot.offset == last.offset + last.size and slot.size == last.size:
            out[-1].append(slot)
        else:
            out.append([slot])
    return out


def transfers(slots: Sequence[Slot]) -> list[a64.Transfer]:
    """Pairs along each run, left to right; an odd run ends in one single transfer.

    No stub moves a run of n registers in fewer than ceil(n/2) loads: LDP/STP move two
    registers of adjacent slots at most, and runs are maximal.
    """
    out: list[a64.Transfer] = []
    for run in runs(slots):
        out += [a64.Transfer(tuple(run[i : i + 2])) for i in range(0, len(run), 2)]
    return out


def _ceil(value: int) -> int:
    return -(-value // BIAS_ALIGN) * BIAS_ALIGN


def _floor(value: int) -> int:
    return value // BIAS_ALIGN * BIAS_ALIGN


def bias_range(transfer: a64.Transfer) -> tuple[int, int]:
    """The biases (lowest, highest) from which one instruction moves `transfer`; empty if lowest > highest."""
    first = transfer.slots[0]
    size, offset = first.size, first.offset
    if offset % size:
        return 1, 0  # no scaled form encodes a misaligned slot
    if len(transfer.slots) == 2:
        low, high = offset - encoding.PAIR_MAX * size, offset - encoding.PAIR_MIN * size
    else:
        low, high = offset - encoding.SINGLE_LIMIT * size, offset
    return max(0, _ceil(low)), _floor(high)


def windows(moves: Sequence[a64.Transfer], zero_is_free: bool = False) -> list[Window]:
    """The fewest windows that reach every transfer, in ascending bias order.

    With `zero_is_free`, a window at bias 0 costs nothing (before the trap, x0 still holds
    ctx itself), so a cover with such a window is preferred when it needs no more windows.
    """
    fewest = _cover(moves)
    if not zero_is_free or len(fewest) < 2 or fewest[0].bias == 0:
        return fewest
    at_zero = [m for m in moves if bias_range(m)[0] == 0]
    others = _cover([m for m in moves if bias_range(m)[0] != 0])
    if at_zero and len(others) == len(fewest) - 1:
        return [Window(0, tuple(sorted(at_zero, key=lambda m: m.slots[0].offset))), *others]
    return fewest


def _cover(moves: Sequence[a64.Transfer]) -> list[Window]:
    """Greedy stabbing of the bias intervals (sorted by their upper end): a minimum cover.

    Each window's bias is then lowered to the smallest value that still reaches all of its
    transfers, so a context within one pair window keeps bias 0 (a plain `mov`).
    """
    ranged = []
    for move in moves:
        low, high = bias_range(move)
        if low > high:
            slot = move.slots[0]
            raise a64.OutOfRange(f"{slot.register}'s slot at {slot.offset} is out of reach of every load/store form")
        ranged.append((high, low, move))
    ranged.sort(key=lambda item: (item[0], item[2].slots[0].offset))
    groups: list[tuple[int, list[tuple[int, a64.Transfer]]]] = []
    for high, low, move in ranged:
        if groups and low <= groups[-1][0]:
            groups[-1][1].append((low, move))
        else:
            groups.append((high, [(low, move)]))
    out = []
    for _, members in groups:
        bias = max(low for low, _ in members)
        ordered = sorted((move for _, move in members), key=lambda m: m.slots[0].offset)
        out.append(Window(bias, tuple(ordered)))
    for window in out:
        if a64.adjust_cost(window.bias) is None:
            raise a64.OutOfRange(f"a base of ctx + {window.bias} is out of reach of ADD (immediate)")
    return sorted(out, key=lambda w: w.bias)


def visiting_order(found: list[Window], last_register: str | None) -> list[Window]:
    """Windows in ascending order, except that the one moving `last_register` (the base
    register itself, when it is also a shared register) comes last, with that transfer last."""
    if last_register is None:
        return found
    index = next((i for i, w in enumerate(found) if any(last_register in t.registers for t in w.transfers)), None)
    if index is None:
        return found
    window = found[index]
    tail = [t for t in window.transfers if last_register not in t.registers]
    tail += [t for t in window.transfers if last_register in t.registers]
    return [*found[:index], *found[index + 1 :], Window(window.bias, tuple(tail))]


# One step of a walk over the windows: the base register, and the window it moves.
Step = tuple[str, Window]


def walk_cost(steps: Sequence[Step], start: dict[str, int]) -> int:
    """ADD/SUB instructions that move each base to its windows' biases, from `start`."""
    position = dict(start)
    total = 0
    for base, window in steps:
        if position[base] != window.bias:
            cost = a64.adjust_cost(window.bias - position[base])
            assert cost is not None  # every bias is in range, so is every difference of two
            total += cost
            position[base] = window.bias
    return total
