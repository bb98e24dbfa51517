"""Validation backends: each runs trials of a stub and reports what it observed.

`base.py` is the interface; `unicorn.py` and `qemu_user.py` implement it. The verdicts
live in `vtlgen.contract`; a backend decides nothing.
"""
