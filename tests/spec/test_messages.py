"""Each kind of library error a spec can cause reads as what is wrong and what is expected:
a corpus of malformed specs per kind (YAML syntax, a key dedented out of its entry, a
misspelled register, a value of the wrong type), and no library wording reaches the user."""

from __future__ import annotations

import json

import jsonschema  # type: ignore[import-untyped]
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from tests.support import SPEC, edited, invoke
from vtlgen.isa.registers import BY_NAME
from vtlgen.spec import messages
from vtlgen.spec.loader import SpecError, load_text
from vtlgen.spec.schema import Spec

TEXT = SPEC.read_text()
ENTRY = "  x18:\n    class: private\n"  # a register entry to break
WHOLE_ENTRY = TEXT[TEXT.index("  x18:\n") : TEXT.index("  x19-x28:\n")]

# The libraries' own words, which must never reach the user.
LIBRARY_WORDS = ("<block", "Input should be", "instance of", "<stream", "but found", "but got", "Value error")

# (kind, old, new, the line the message must name): one or more per translated YAML problem.
YAML_CORPUS = [
    ("indented too far", ENTRY, "  x18:\n      deeper: 1\n    class: private\n", 131),
    ("dedented by one", ENTRY, "  x18:\n class: private\n", 130),
    ("list item dedented", "  - id: smccc\n", "  - id: smccc\n - id: x\n", None),
    ("two colons", "title: ", "title: a: b: ", 6),
    ("tab", ENTRY, "  x18:\n\tclass: private\n", 130),
    ("no colon", ENTRY, "  x18\n    class: private\n", None),
    ("duplicate key", ENTRY, "  x18:\n    class: private\n    class: private\n", 131),
    ("unclosed list", "sources: [tlfs-vsm, aapcs64]", "sources: [tlfs-vsm, aapcs64", None),
    ("unclosed mapping", "{name: rsvd, type: u64, offset: 248}", "{name: rsvd, type: u64, offset: 248", None),
]


def problem(text: str) -> str:
    with pytest.raises(SpecError) as caught:
        load_text(text, "spec.yaml")
    (first, *_) = caught.value.problems
    return str(first)


@pytest.mark.parametrize(("kind", "old", "new", "line"), YAML_CORPUS, ids=[c[0] for c in YAML_CORPUS])
def test_yaml_errors_say_what_is_expected(kind: str, old: str, new: str, line: int | None) -> None:
    message = problem(edited(TEXT, old, new) if TEXT.count(old) == 1 else TEXT.replace(old, new, 1))
    assert not any(words in message for words in LIBRARY_WORDS), message
    assert "expected" in message and "expected valid YAML" not in message, message
    if line is not None:
        assert message.startswith(f"spec.yaml:{line}:"), message


def test_every_yaml_translation_is_reached_by_the_corpus() -> None:
    """A translation no malformed spec reaches is a guess; each one is exercised above."""
    reached = set()
    for _, old, new, _ in YAML_CORPUS:
        message = problem(TEXT.replace(old, new, 1))
        reached |= {start for start, words in messages.YAML_PROBLEMS.items() if words.split(";")[0] in message}
    assert reached == set(messages.YAML_PROBLEMS)


NOT_REGISTERS = st.from_regex(r"[a-z][a-z_]{1,10}", fullmatch=True).filter(lambda name: name not in BY_NAME)


@settings(max_examples=25, deadline=None, phases=[Phase.explicit, Phase.generate])  # a failure prints as found
@given(NOT_REGISTERS, st.sampled_from(["hello", "1", "[a, b]", "true"]))
def test_a_key_dedented_out_of_its_entry(key: str, value: str) -> None:
    """`note:` written one level too shallow lands under `registers`: the message says so, at its line."""
    text = edited(TEXT, "  x19-x28:\n", f"  {key}: {value}\n  x19-x28:\n")  # below x18's last line
    message = problem(text)
    line = text[: text.index(f"\n  {key}: ")].count("\n") + 2
    assert message.startswith(f"spec.yaml:{line}:3: registers.{key}: this key is indented under `registers`")
    assert not any(words in message for words in LIBRARY_WORDS), message


def misspellings(name: str) -> list[str]:
    swapped = [name[:i] + name[i + 1] + name[i] + name[i + 2 :] for i in range(len(name) - 1)]
    return [m for m in swapped if m not in BY_NAME and m != name]


@pytest.mark.parametrize("wrong", [m for name in ("fpsr", "fpcr", "nzcv", "ffr", "zt0") for m in misspellings(name)])
def test_a_misspelled_register_is_named_and_the_names_are_listed(wrong: str) -> None:
    right = next(name for name in ("fpsr", "fpcr", "nzcv", "ffr", "zt0") if sorted(name) == sorted(wrong))
    message = problem(edited(TEXT, f"\n  {right}:\n", f"\n  {wrong}:\n"))
    assert f"registers.{wrong}: {wrong!r} is not a register name; expected x0-x30" in message, message


def test_the_schema_lets_an_editor_catch_a_misspelled_register() -> None:
    schema = json.loads(invoke("schema").stdout)
    from vtlgen.spec.loader import load

    good = load(SPEC)
    document = json.loads(good.spec.model_dump_json(by_alias=True, exclude_unset=True))
    registers = {**schema["properties"]["registers"], "$defs": schema["$defs"]}
    jsonschema.validate(document["registers"], registers)
    bad = {**document["registers"], "fspr": document["registers"]["fpsr"]}
    with pytest.raises(jsonschema.ValidationError, match="fspr"):
        jsonschema.validate(bad, registers)
    assert Spec.model_json_schema()["properties"]["registers"]["additionalProperties"] is False


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("imm16: 3}", "imm16: [3]}", "expected a valid integer, found a list"),
        ("abi_version: 2.0.0", "abi_version: [2]", "expected a valid string, found a list"),
        (WHOLE_ENTRY, "  x18: private\n", "expected a mapping (keys indented under this one), found str 'private'"),
    ],
)
def test_values_of_the_wrong_type_say_what_was_found(old: str, new: str, words: str) -> None:
    message = problem(edited(TEXT, old, new))
    assert words in message and not any(w in message for w in LIBRARY_WORDS), message


@pytest.mark.parametrize(("option", "value"), [("--trials", "0"), ("--trials", "-5"), ("--seed", "-1")])
def test_number_options_out_of_range(option: str, value: str) -> None:
    result = invoke("validate", str(SPEC), option, value, "--no-proof")
    assert result.exit_code == 2
    assert (f"{value} is not a" in result.output and "1 or more" in result.output) or "0 or more" in result.output
    assert "Input should be" not in result.output
