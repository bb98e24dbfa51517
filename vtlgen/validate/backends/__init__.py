"""Backends observe trials; they judge nothing. unicorn runs the stub in-process, qemu-user on
a real CPU model inside the sandbox."""

__all__ = [
    "base",
    "qemu_harness",
    "qemu_records",
    "qemu_user",
    "qemu_vector",
    "unicorn",
    "vector_machine",
]
