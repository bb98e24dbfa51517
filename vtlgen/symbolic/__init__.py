"""A proof backend: the stub's machine code, lifted to p-code by Ghidra's SLEIGH AArch64
specification (`pypcode`), executed over z3 bit-vectors for every input at once.

`lifter` turns bytes into p-code, `machine` runs p-code on a symbolic state, `world`
builds the symbolic inputs and the hypervisor's move from the Plan, `obligations` states
P1-P10 as formulas, `explorer` walks every path, and `counterexample` turns a z3 model
into concrete inputs that a unicorn trial can replay.
"""
