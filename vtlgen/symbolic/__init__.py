"""A proof backend: the stub's machine code, lifted to p-code by Ghidra's SLEIGH AArch64
specification (`pypcode`), executed over z3 bit-vectors for every input at once.

`lifter` turns bytes into p-code, `semantics` gives the allowed p-code operations their
meaning over z3, `state` holds one path's registers and memory, `world` builds the symbolic
inputs, `hypervisor` makes the Plan's move at the trap, `obligations` states P1-P10 as
formulas, `explorer` walks every path, `counterexample` turns a z3 model into concrete
inputs, and `replay` runs them as a unicorn trial.
"""
