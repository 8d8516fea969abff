"""Run docs/first-day.md: read its ```console blocks and check a command's output against them.

The convention (also written at the end of the guide, under "How this guide is tested"):

- Only ```console blocks run; ```bash and other blocks are for reading.
- `$ CMD` starts a command; following lines starting with `> ` continue it (a heredoc's lines),
  joined with newlines. Every other non-blank line is expected output of the command above it.
- Each expected line must equal, leading and trailing spaces ignored, some line of the
  command's output (stdout and stderr together, in any order).
- A line `...` alone stands for output left out; `[exit N]` says the command exits N (default 0).
- Placeholders inside a line: `<...>` any text (also none), `<N>` a number, `<DURATION>` a
  duration (`9.5s`, `116.961ms`, `508µs`), `<VERSION>` a 14-digit migration version.

A module of its own (not a conftest) so the unit tier can test the checker without a server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ELISION = "..."
EXIT = re.compile(r"^\[exit (\d+)\]$")
PLACEHOLDERS = {
    "<...>": r".*?",
    "<N>": r"\d[\d,]*(?:\.\d+)?",
    "<DURATION>": r"\d+(?:\.\d+)?(?:ns|µs|us|ms|s|m|h)",
    "<VERSION>": r"\d{14}",
}
_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS))


@dataclass
class Step:
    command: str
    expected: list[str] = field(default_factory=list)
    exit_code: int = 0
    line: int = 0  # where the command starts in the guide (1-based), for messages


def parse(text: str) -> list[Step]:
    """The commands of every ```console block, in order, with their expected output and exit code."""
    steps: list[Step] = []
    in_console = in_other = False
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        fence = line.lstrip()
        if not in_console and not in_other and fence.startswith("```"):
            in_console = fence[3:].strip() == "console"
            in_other = not in_console
            continue
        if fence.startswith("```") and (in_console or in_other):
            in_console = in_other = False
            continue
        if not in_console:
            continue
        if line.startswith("$ "):
            steps.append(Step(command=line[2:], line=no))
        elif line.startswith("> ") or line == ">":
            if not steps:
                raise ValueError(f"line {no}: a continuation line before any command")
            steps[-1].command += "\n" + line[2:]
        elif not line.strip() or line.strip() == ELISION:
            continue
        else:
            if not steps:
                raise ValueError(f"line {no}: output before any command in a console block: {line!r}")
            m = EXIT.match(line.strip())
            if m:
                steps[-1].exit_code = int(m.group(1))
            else:
                steps[-1].expected.append(line.strip())
    if in_console or in_other:
        raise ValueError("a code block is not closed")
    return steps


def load(path: Path) -> list[Step]:
    return parse(path.read_text(encoding="utf-8"))


def pattern(expected: str) -> re.Pattern[str]:
    """The expected line as a regular expression: literal text, placeholders as documented."""
    out, pos = [], 0
    for m in _PLACEHOLDER.finditer(expected):
        out.append(re.escape(expected[pos : m.start()]))
        out.append(PLACEHOLDERS[m.group(0)])
        pos = m.end()
    out.append(re.escape(expected[pos:]))
    return re.compile("".join(out))


def problems(step: Step, exit_code: int, output: str) -> list[str]:
    """What differs between the guide and a run of its command (empty: the guide still holds)."""
    found = []
    if exit_code != step.exit_code:
        found.append(f"exit {exit_code}, the guide says {step.exit_code}")
    lines = [ln.strip() for ln in output.splitlines()]
    for exp in step.expected:
        rx = pattern(exp)
        if not any(rx.fullmatch(ln) for ln in lines):
            found.append(f"no output line matches the guide's {exp!r}")
    return found
