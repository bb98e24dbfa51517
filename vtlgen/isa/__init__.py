"""Facts about arm64 and the tools that read it: register names and classes, instruction
encodings and limits, the SVE/SME forms vtlgen encodes, the assembler, disassembler and the
vetting of hand-written stub text. The ISA never imports lowering, generation or validation."""

__all__ = [
    "assembler",
    "disassembler",
    "encoding",
    "registers",
    "stubsource",
    "sve",
    "system_instructions",
    "vector_length",
]
