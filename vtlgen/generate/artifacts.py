"""Everything `generate` writes for a spec, built in memory: {path relative to out: text}.

That is, per convention the stubs, header and bindings, and per spec its Documentation/
page (`vtlgen doc` writes the page alone; `check` compares all of it)."""

from __future__ import annotations

from dataclasses import dataclass

from vtlgen.generate import abidoc, render
from vtlgen.isa.assembler import assemble
from vtlgen.lower.convention import lower
from vtlgen.plan import Plan
from vtlgen.spec.loader import LoadedSpec


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


def documentation(loaded: LoadedSpec, built: list[ConventionArtifacts]) -> dict[str, str]:
    """The spec's Documentation/ page, from the same plans as its stubs."""
    plans = [item.plan for item in built]
    return {abidoc.file_name(loaded.spec.id): abidoc.page(loaded.spec, loaded.path.name, plans)}


def merged(loaded: LoadedSpec, built: list[ConventionArtifacts]) -> dict[str, str]:
    """Every file of the spec, as one {relative path: text}: each convention's, and the page."""
    files = {path: text for item in built for path, text in item.files.items()}
    files.update(documentation(loaded, built))
    return files


def files_of(loaded: LoadedSpec) -> dict[str, str]:
    return merged(loaded, build(loaded))
