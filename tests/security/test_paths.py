"""Classes 5 and 6: links and special files in what vtlgen reads or writes are never followed.

`check` printed the target of a link in the output folder (/etc/passwd, and with
/proc/self/environ every CI secret); `generate` wrote through a linked output folder
and deleted outside the checkout. Inputs (specs, stubs) get the same rules.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.support import invoke
from tests.support.host_secret import SECRET, assert_no_secret

GENERATED = Path("generated/hyperv_vtl")


def _link_to_passwd(root: Path) -> Path:
    link = root / GENERATED / "hvc3" / "notes.txt"
    link.symlink_to("/etc/passwd")
    return link


def _link_to_environ(root: Path) -> Path:
    link = root / GENERATED / "smccc" / "env.txt"
    link.symlink_to("/proc/self/environ")
    return link


def _generated_file_replaced_by_link(root: Path) -> Path:
    link = root / GENERATED / "hvc3" / "hyperv_vtl_hvc3.h"
    link.unlink()
    link.symlink_to(root / ".git" / "config")
    return link


def _linked_convention_folder(root: Path) -> Path:
    folder = root / GENERATED / "smccc"
    outside = root.parent / "outside-smccc"
    folder.rename(outside)
    folder.symlink_to(outside)
    return folder


def _fifo(root: Path) -> Path:
    fifo = root / GENERATED / "hvc3" / "pipe"
    os.mkfifo(fifo)
    return fifo


PLANTED = [_link_to_passwd, _link_to_environ, _generated_file_replaced_by_link, _linked_convention_folder, _fifo]


def _snapshot(folder: Path) -> dict[str, str]:
    found = {}
    for top, dirs, names in os.walk(folder, followlinks=False):
        for name in dirs + names:
            path = Path(top) / name
            kind = "link" if path.is_symlink() else "dir" if path.is_dir() else "file"
            found[path.relative_to(folder).as_posix()] = kind if kind != "file" or name == "pipe" else path.read_text()
    return found


@pytest.mark.parametrize("plant", PLANTED, ids=lambda f: f.__name__.lstrip("_"))
@pytest.mark.parametrize("command", ["check", "generate"])
def test_a_link_or_special_file_in_the_output_is_named_never_read(plant, command: str, checkout: Path) -> None:  # type: ignore[no-untyped-def]
    planted = plant(checkout)
    before = _snapshot(checkout.parent)
    result = invoke(command)
    assert result.exit_code == 2, result.output
    named = planted.relative_to(checkout).as_posix()
    assert any(line.startswith(f"error: {named}:") for line in result.output.splitlines()), result.output
    assert_no_secret(result.output)
    assert "extraheader" not in result.output
    assert _snapshot(checkout.parent) == before


def test_a_linked_output_folder_leading_out_of_the_tree_is_refused(checkout: Path) -> None:
    elsewhere = checkout.parent / "elsewhere"
    (elsewhere / "hyperv_vtl").mkdir(parents=True)
    (elsewhere / "hyperv_vtl" / "keep.txt").write_text("not vtlgen's\n")
    os.rename(checkout / "generated", checkout.parent / "old-generated")
    (checkout / "generated").symlink_to(elsewhere)
    for command in ("generate", "check"):
        result = invoke(command)
        assert result.exit_code == 2
        assert "leads out of the working tree" in result.output
    assert sorted(p.name for p in elsewhere.iterdir()) == ["hyperv_vtl"]
    assert (elsewhere / "hyperv_vtl" / "keep.txt").read_text() == "not vtlgen's\n"


def test_a_linked_output_folder_inside_the_tree_is_fine(checkout: Path) -> None:
    os.rename(checkout / "generated", checkout / "real-generated")
    (checkout / "generated").symlink_to("real-generated")
    result = invoke("check")
    assert result.exit_code == 0, result.output


def test_an_output_folder_under_a_link_out_of_the_tree_is_refused(checkout: Path) -> None:
    elsewhere = checkout.parent / "elsewhere"
    elsewhere.mkdir()
    (checkout / "build").symlink_to(elsewhere)
    result = invoke("generate", "--out", "build/out")
    assert result.exit_code == 2 and "leads out of the working tree" in result.output
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("target", ["/etc/passwd", "/proc/self/environ", ".git/config"])
def test_a_linked_spec_is_not_read(target: str, checkout: Path) -> None:
    (checkout / "spec" / "evil.yaml").symlink_to(target)
    result = invoke("lint")
    assert result.exit_code == 2
    assert re.search(r"^spec/evil\.yaml:1:1: .*(symbolic link|leads out)", result.output, re.M), result.output
    assert_no_secret(result.output)
    assert "extraheader" not in result.output


@pytest.mark.parametrize("target", ["/etc/passwd", ".git/config"])
def test_a_linked_stub_is_not_read(target: str, checkout: Path) -> None:
    (checkout / "evil.S").symlink_to(target)
    result = invoke("validate", "--convention", "hvc3", "--stub", "evil.S")
    assert result.exit_code == 2
    assert result.output.startswith("evil.S:1:1: ") and "symbolic link" in result.output
    assert_no_secret(result.output)


def test_a_fifo_stub_does_not_block(checkout: Path) -> None:
    os.mkfifo(checkout / "pipe.S")
    result = invoke("validate", "--convention", "hvc3", "--stub", "pipe.S")
    assert result.exit_code == 2 and "not a regular file" in result.output


def test_a_spec_file_name_with_a_newline_is_one_escaped_line(checkout: Path) -> None:
    spec = checkout / "spec" / "evil\nname.yaml"
    spec.write_text("id: [\n")
    result = invoke("lint", str(spec))
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert "evil\\nname.yaml:" in result.output


def test_the_secret_env_var_is_set_for_these_tests(checkout: Path) -> None:
    assert os.environ["VTLGEN_TEST_TOKEN"] == SECRET  # so the checks above could have seen it


def test_a_hard_linked_stub_is_not_read(checkout: Path) -> None:
    os.link(checkout / ".git" / "config", checkout / "evil.S")
    result = invoke("validate", "--convention", "hvc3", "--stub", "evil.S")
    assert result.exit_code == 2 and "hard link" in result.output
    assert "extraheader" not in result.output


@pytest.mark.parametrize("command", [["lint"], ["show"], ["validate", "--convention", "nope"], ["generate"]])
def test_a_spec_file_name_cannot_forge_log_lines(command: list[str], checkout: Path) -> None:
    name = "a\x1b]0;t\x07\n::error::pwned\nx.yaml"
    (checkout / "spec" / "hyperv_vtl.yaml").rename(checkout / "spec" / name)
    result = invoke(*command)
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert not any(line.startswith("::error::") for line in result.output.splitlines()), result.output
