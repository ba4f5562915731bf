"""The documentation stays true to the package: both languages, real commands, live links.

Commands are read from code only (fenced and indented blocks, inline code spans) of the README
and of every Markdown file under docs/, so that prose may name the tool freely.
"""

import re
import shlex
from pathlib import Path

import pytest

from gru4rec_study.cli import build_parser

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"
LANGUAGES = ("en", "es")
DOCUMENTS = {
    "README.md",
    "case-study.md",
    "executive-summary.md",
    "technical-report.md",
    "pipeline.md",
    "formulas.md",
}
MARKDOWN = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]

FENCE = re.compile(r"^```.*?^```[ \t]*$", re.S | re.M)
INLINE = re.compile(r"`([^`\n]+)`")
COMMAND = re.compile(r"gru4rec-study((?:\s+-[a-z-]+)*)\s+([a-z][a-z0-9-]*)([^\n`#]*)")
MAKE = re.compile(r"(?<![\w./-])make\s+([a-z][a-z0-9_-]*)")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def _code_segments(text: str) -> list[str]:
    """Fenced blocks, indented blocks (four spaces or a tab) and inline code spans."""
    fenced = FENCE.findall(text)
    rest = FENCE.sub("", text)
    indented = [line for line in rest.splitlines() if line.startswith(("    ", "\t"))]
    inline = INLINE.findall("\n".join(line for line in rest.splitlines() if line not in indented))
    return fenced + indented + inline


def _prose(text: str) -> str:
    """The text without fenced blocks and inline code (links live in prose)."""
    return INLINE.sub("", FENCE.sub("", text))


def _commands(text: str) -> list[tuple[str, str, list[str]]]:
    """(subcommand, global flags, flags after the subcommand) of every command shown."""
    found = []
    for segment in _code_segments(text):
        for match in COMMAND.finditer(segment):
            global_flags = match.group(1).split()
            tokens = shlex.split(match.group(3).replace("[", " ").replace("]", " "), posix=False)
            flags = [t.strip("(),|").split("=")[0] for t in tokens if t.startswith("-")]
            found.append((match.group(2), " ".join(global_flags), flags))
    return found


def _make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][A-Za-z0-9_-]*)\s*:(?!=)", text, re.M))


def _subparsers() -> dict:
    return build_parser()._subparsers._group_actions[0].choices


def _label(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_every_document_exists_in_both_languages():
    files = {lang: {p.name for p in (DOCS / lang).glob("*.md")} for lang in LANGUAGES}
    assert files["en"] == DOCUMENTS
    assert files["es"] == files["en"]
    for lang in LANGUAGES:
        for name in DOCUMENTS:
            assert (DOCS / lang / name).read_text().strip(), f"docs/{lang}/{name} is empty"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_language_index_links_every_document(lang):
    index = (DOCS / lang / "README.md").read_text()
    targets = {Path(t).name for t in LINK.findall(index)}
    assert DOCUMENTS - {"README.md"} <= targets


def test_the_docs_show_commands_at_all():
    shown = {sub for path in MARKDOWN for sub, _, _ in _commands(path.read_text())}
    assert {"demo", "run", "report"} <= shown


def _command_problems(text: str) -> list[str]:
    """Every shown command whose subcommand, option or make target does not exist."""
    parser = build_parser()
    choices = _subparsers()
    problems = []
    for sub, global_flags, flags in _commands(text):
        unknown = [f for f in global_flags.split() if f not in parser._option_string_actions]
        problems += [f"gru4rec-study {f}: no such option" for f in unknown]
        if sub not in choices:
            problems.append(f"gru4rec-study {sub}: no such subcommand")
            continue
        accepted = choices[sub]._option_string_actions
        problems += [f"gru4rec-study {sub} {f}: no such option" for f in flags if f not in accepted]
    targets = _make_targets()
    for segment in _code_segments(text):
        problems += [f"make {t}: no such target" for t in MAKE.findall(segment) if t not in targets]
    return sorted(set(problems))


@pytest.mark.parametrize("path", MARKDOWN, ids=_label)
def test_every_command_in_the_docs_exists(path):
    problems = _command_problems(path.read_text())
    assert not problems, f"{_label(path)}: {problems}"


@pytest.mark.parametrize("path", MARKDOWN, ids=_label)
def test_every_relative_link_and_image_points_to_a_file(path):
    broken = []
    for target in LINK.findall(_prose(path.read_text())):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a URL or an anchor in the same page
        if not (path.parent / target.split("#")[0]).exists():
            broken.append(target)
    assert not broken, f"{_label(path)}: broken links {broken}"


def test_the_command_finder_reads_code_only():
    text = (
        "The gru4rec-study tool is small.\n\n"
        "    gru4rec-study -q demo [--epochs N] [--out runs]\n\n"
        "Run `gru4rec-study run EXP.toml --out runs` or `make demo`.\n"
    )
    segments = _code_segments(text)
    commands = [m.group(2) for s in segments for m in COMMAND.finditer(s)]
    assert commands == ["demo", "run"]
    assert [t for s in segments for t in MAKE.findall(s)] == ["demo"]


def test_the_command_check_reports_what_does_not_exist():
    text = (
        "    gru4rec-study -q demo --epochs 2 --no-such-flag\n"
        "    gru4rec-study --loud run EXP.toml\n"
        "    gru4rec-study nosuch --out x\n"
        "    make demo && make nosuch\n"
    )
    assert _command_problems(text) == [
        "gru4rec-study --loud: no such option",
        "gru4rec-study demo --no-such-flag: no such option",
        "gru4rec-study nosuch: no such subcommand",
        "make nosuch: no such target",
    ]
