"""Everything `generate` writes for a spec, built in memory: {path relative to out: text}."""

from __future__ import annotations

from dataclasses import dataclass

from vtlgen import render
from vtlgen.assembler import assemble
from vtlgen.loader import LoadedSpec
from vtlgen.lowering import lower
from vtlgen.plan import Plan


@dataclass(frozen=True)
class ConventionArtifacts:
    plan: Plan
    files: dict[str, str]  # relative path -> text
    code: bytes  # the standalone stub, assembled

    @property
    def instruction_count(self) -> int:
        return len(self.code) // 4


def build_convention(plan: Plan, spec_name: str) -> ConventionArtifacts:
    names = render.file_names(plan)
    folder = f"{plan.spec_id}/{plan.convention_id}"
    standalone = render.standalone_asm(plan, spec_name)
    code = assemble(standalone, f"{folder}/{names['standalone']}").code
    files = {
        f"{folder}/{names['standalone']}": standalone,
        f"{folder}/{names['linux']}": render.linux_asm(plan, spec_name),
        f"{folder}/{names['header']}": render.header(plan, spec_name),
        f"{folder}/{names['bindings']}": render.bindings(plan, spec_name, code),
        f"{folder}/{names['linux_header']}": render.linux_header(plan, spec_name),
        f"{folder}/{names['asm_offsets']}": render.asm_offsets(plan, spec_name),
        f"{folder}/{names['kbuild']}": render.kbuild(plan, spec_name),
    }
    return ConventionArtifacts(plan, files, code)


def build(loaded: LoadedSpec) -> list[ConventionArtifacts]:
    spec_name = loaded.path.name
    return [build_convention(plan, spec_name) for plan in lower(loaded.spec, loaded.path.as_posix())]


def merged(built: list[ConventionArtifacts]) -> dict[str, str]:
    """Every convention's files, as one {relative path: text}."""
    return {path: text for item in built for path, text in item.files.items()}


def files_of(loaded: LoadedSpec) -> dict[str, str]:
    return merged(build(loaded))
