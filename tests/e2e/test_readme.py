"""The README's commands run as written on a fresh clone, and print what the README shows.

The test reads README.md itself; no command is copied in here. From the "Use the localnet"
section on it takes, in README order:

* every ```sh block of ``$ command`` lines (a trailing ``\\`` continues a command on the next
  line): the user's sessions against the localnet, each command followed by the output it printed;
* the ```python block (pyhmy and web3 against the localnet), run as a script with the venv's python;
* the two commands of the "Try it" block (``hmy-node genesis``, ``hmy utility addr-to-bech32``).

Skipped: blocks with ``<...>`` placeholders ("Run four validators by hand": keys and peer ids to
fill in, comments instead of a file), and the sh blocks that are neither sessions nor "Try it"
(the simulator's long soak, the benchmarks): they have no output to check and take minutes.

Like a user on a fresh clone, the commands run in a new empty directory holding only ``.venv`` (a
symlink to this checkout's virtualenv), with ``PATH`` not naming the venv (the README's ``export
PATH=$PWD/.venv/bin:$PATH`` has to do that) and ``HMY_CLI_HOME`` inside the temp dir. The
localnet is the README's quickstart ``.venv/bin/hmy-node localnet up`` with its defaults (data in
``./.localnet``, RPC 9500/9502/9504, p2p from 9000, metrics...), and ``hmy`` talks to its default
http://localhost:9500; so that these default ports meet neither a developer's localnet nor other
tests, the whole session runs in network and pid namespaces of its own (``unshare --net --pid
--fork --mount-proc``, loopback brought up with ``ip``). One generated bash script starts the
localnet, waits (polling ``localnet status --json``, with a deadline) until every chain is at
height 3, then runs each command in the same shell (so ``export`` carries on, as in a terminal),
each with its stdout, stderr and exit status in files of its own, stops at the first failure, and
always ends with ``hmy-node localnet down``. Killing the namespace's first process kills every
node in it, so nothing survives a failure or a timeout either; the test also checks /proc.

Checks: every command exits 0 with nothing on stderr, and its stdout matches the README's shown
output line by line, with only these wildcards: a 0x-prefixed 32-byte hash, the number in
``block N``. Where the README shows no output, none is expected, except for three commands whose
output the README leaves out: ``hmy-node keys generate-bls`` (a new key), ``hmy-node localnet
add-validator`` (key, ports) and ``hmy blockchain validator information`` (Harmony's JSON: it must
parse and name the validator "my validator"). The python block must exit 0, the "Try it" commands
must exit 0 and print something.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
VENV = Path(sys.executable).parent.parent
SESSION_TIMEOUT = 270.0
"""Seconds for the whole namespace session (localnet up .. down); the test's own timeout is 300."""
LIVE_TIMEOUT = 120
"""Seconds for every chain to reach height 3 after ``localnet up``."""

WILDCARDS = re.compile(r"0x[0-9a-fA-F]{64}|(?<=block )\d+")
"""What may differ from run to run in a shown output line: transaction hashes and block numbers."""
ELIDED_OUTPUT = ("hmy-node keys generate-bls", "hmy-node localnet add-validator",
                 "hmy blockchain validator information")
"""Commands whose output the README does not show (run-dependent keys and ports, a JSON document)."""
VALIDATOR_INFO = "hmy blockchain validator information"
PLACEHOLDER = re.compile(r"<[a-z][^<>]*>")


@dataclass(frozen=True)
class Step:
    """One thing to run in the session: ``command`` as bash text, ``shown`` its README output lines."""

    label: str
    command: str
    shown: list[str] | None  # None: output not compared (python block, "Try it", localnet up)


@dataclass(frozen=True)
class Block:
    language: str
    lines: list[str]
    intro: str  # the last non-empty text line before the fence


def parse_blocks(section: str) -> list[Block]:
    """The fenced code blocks of ``section`` (indented fences included), with the line before each."""
    blocks: list[Block] = []
    lines = section.splitlines()
    intro = ""
    index = 0
    while index < len(lines):
        stripped = lines[index].strip()
        if stripped.startswith("```"):
            indent = len(lines[index]) - len(lines[index].lstrip())
            language = stripped[3:].strip()
            body: list[str] = []
            index += 1
            while not lines[index].strip().startswith("```"):
                body.append(lines[index][indent:])
                index += 1
            blocks.append(Block(language, body, intro))
        elif stripped:
            intro = stripped
        index += 1
    return blocks


def parse_session(lines: list[str]) -> list[tuple[str, list[str]]]:
    """``(command, shown output lines)`` per ``$ `` command; continuation lines are kept as bash reads them."""
    session: list[tuple[str, list[str]]] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        assert line.startswith("$ "), f"session block line outside a command: {line!r}"
        command = [line[2:]]
        while command[-1].endswith("\\"):
            index += 1
            command.append(lines[index])
        index += 1
        shown: list[str] = []
        while index < len(lines) and not lines[index].startswith("$ "):
            shown.append(lines[index])
            index += 1
        session.append(("\n".join(command), shown))
    return session


def read_readme_steps(readme: str, python_file: Path) -> list[Step]:
    """The README's steps in order: localnet up, the sessions, the python block, the "Try it" commands."""
    quickstart = re.search(r"(\.venv/bin/hmy-node localnet up)\b", readme)
    assert quickstart, "the README's quickstart no longer starts the localnet with .venv/bin/hmy-node localnet up"
    steps = [Step("localnet up", quickstart.group(1), None)]
    start = readme.index("\n## Use the localnet")
    end = readme.find("\n## ", start + 1)
    blocks = parse_blocks(readme[start:end if end != -1 else None])
    sessions = python_blocks = try_it = 0
    for block in blocks:
        if any(PLACEHOLDER.search(line) for line in block.lines):
            continue
        if block.language == "sh" and any(line.startswith("$ ") for line in block.lines):
            sessions += 1
            for number, (command, shown) in enumerate(parse_session(block.lines), 1):
                steps.append(Step(f"session {sessions} command {number}", command, shown))
        elif block.language == "python":
            python_blocks += 1
            python_file.write_text("\n".join(block.lines) + "\n")
            steps.append(Step("python block", f".venv/bin/python {shlex.quote(str(python_file))}", None))
        elif block.language == "sh" and block.intro == "Try it:":
            try_it += 1
            for number, line in enumerate((line for line in block.lines if line.strip()), 1):
                steps.append(Step(f"try it command {number}", line, None))
    assert (python_blocks, try_it) == (1, 1) and sessions >= 1, (sessions, python_blocks, try_it)
    return steps


def build_script(steps: list[Step], out: Path) -> str:
    """A bash script for the namespace: loopback up, the steps with their outputs in ``out``, localnet down."""
    o = shlex.quote(str(out))
    lines = [
        "set -u",
        f"ip link set lo up > {o}/lo.err 2>&1 || exit 90",
        f"trap '.venv/bin/hmy-node localnet down > {o}/down.out 2>&1; echo $? > {o}/down.rc' EXIT",
    ]
    for index, step in enumerate(steps):
        lines += ["{", step.command, f"}} > {o}/{index}.out 2> {o}/{index}.err < /dev/null",
                  f"echo $? > {o}/{index}.rc",
                  f'[ "$(cat {o}/{index}.rc)" = 0 ] || exit 1']
        if index == 0:  # after localnet up: every chain at height 3 before the README's commands
            lines += [
                f"deadline=$((SECONDS + {LIVE_TIMEOUT}))",
                f"cat > {o}/live.py <<'EOF'",
                "import json, sys",
                "chains = json.load(open(sys.argv[1]))['chains']",
                "sys.exit(0 if chains and all((c['height'] or 0) >= 3 for c in chains.values()) else 1)",
                "EOF",
                f"until .venv/bin/hmy-node localnet status --json > {o}/status.json 2> {o}/status.err"
                f" && .venv/bin/python - {o}/status.json < {o}/live.py; do",
                f"  if [ $SECONDS -ge $deadline ]; then echo 'chains not at height 3' > {o}/live.err; exit 1; fi",
                "  sleep 1",
                "done",
            ]
    return "\n".join(lines) + "\n"


def line_matches(shown: str, printed: str) -> bool:
    pattern = ""
    position = 0
    for wildcard in WILDCARDS.finditer(shown):
        pattern += re.escape(shown[position:wildcard.start()])
        pattern += r"0x[0-9a-f]{64}" if wildcard.group().startswith("0x") else r"\d+"
        position = wildcard.end()
    pattern += re.escape(shown[position:])
    return re.fullmatch(pattern, printed) is not None


def find_names(document: Any) -> list[str]:
    """Every string value of a ``name`` key anywhere in a JSON document."""
    if isinstance(document, dict):
        return [value for key, value in document.items() if key == "name" and isinstance(value, str)] + [
            name for value in document.values() for name in find_names(value)]
    if isinstance(document, list):
        return [name for value in document for name in find_names(value)]
    return []


def check_step(step: Step, printed: str, errors: str) -> list[str]:
    """What differs between a step that exited 0 and the README."""
    problems: list[str] = []
    where = f"{step.label} `{step.command}`"
    if step.shown is None:
        if step.label.startswith("try it") and not printed.strip():
            problems.append(f"{where}: printed nothing")
        return problems
    if errors:
        problems.append(f"{where}: wrote to stderr:\n{errors}")
    shown = list(step.shown)
    while shown and not shown[-1].strip():
        shown.pop()
    if not shown and step.command.startswith(ELIDED_OUTPUT):
        if step.command.startswith(VALIDATOR_INFO):
            try:
                names = find_names(json.loads(printed))
            except json.JSONDecodeError as exc:
                problems.append(f"{where}: not JSON ({exc}):\n{printed}")
            else:
                if "my validator" not in names:
                    problems.append(f"{where}: names {names}, not 'my validator'")
        return problems
    lines = printed.splitlines()
    if len(lines) != len(shown) or not all(line_matches(s, p) for s, p in zip(shown, lines)):
        problems.append(f"{where}: README shows\n" + "\n".join(shown) + "\nbut it printed\n" + printed)
    return problems


def find_surviving_nodes(root: Path) -> list[int]:
    """Pids of ``hmy-node`` processes whose ``--datadir`` is under ``root``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if any(os.path.basename(arg) == "hmy-node" for arg in args) and any(
                args[i] == "--datadir" and args[i + 1].startswith(str(root)) for i in range(len(args) - 1)):
            found.append(int(entry.name))
    return found


def read_text(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def get_log_tails(localnet: Path) -> str:
    return "\n".join(f"--- {log.parent.name} ---\n" + "\n".join(log.read_text(errors="replace").splitlines()[-10:])
                     for log in sorted(localnet.glob("*/node.log")))


@pytest.mark.timeout(300)
def test_readme_commands_run_as_written(tmp_path: Path) -> None:
    for tool in ("unshare", "ip"):
        assert any((Path(d) / tool).exists() for d in ("/usr/bin", "/usr/sbin", "/bin", "/sbin")), \
            f"{tool} is needed (util-linux, iproute2)"
    clean = tmp_path / "clone"
    clean.mkdir()
    (clean / ".venv").symlink_to(VENV)
    driver = tmp_path / "driver"
    out = driver / "out"
    out.mkdir(parents=True)
    steps = read_readme_steps(README.read_text(), driver / "readme_python_block.py")
    script = driver / "session.sh"
    script.write_text(build_script(steps, out))
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(tmp_path / "home"),
           "HMY_CLI_HOME": str(tmp_path / "hmy_cli"), "LANG": "C.UTF-8", "TERM": "dumb"}
    (tmp_path / "home").mkdir()

    started = time.monotonic()
    session = subprocess.Popen(["unshare", "--net", "--pid", "--fork", "--mount-proc", "bash", str(script)],
                               cwd=clean, env=env, start_new_session=True,
                               stdout=(driver / "session.out").open("w"), stderr=subprocess.STDOUT)
    try:
        returncode = session.wait(timeout=SESSION_TIMEOUT)
    except subprocess.TimeoutExpired:
        returncode = None
    finally:
        # The namespace's first process dies with the group; the kernel then kills every node in it.
        try:
            os.killpg(session.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        session.wait()
        deadline = time.monotonic() + 20
        while (survivors := find_surviving_nodes(clean)) and time.monotonic() < deadline:
            for pid in survivors:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.2)
    elapsed = time.monotonic() - started
    assert not find_surviving_nodes(clean), "node processes of the session survived"

    problems: list[str] = []
    if returncode is None:
        problems.append(f"the session did not finish within {SESSION_TIMEOUT:.0f} s")
    if (out / "lo.err").exists() and read_text(out / "lo.err"):
        problems.append("ip link set lo up: " + read_text(out / "lo.err"))
    for index, step in enumerate(steps):
        rc_file = out / f"{index}.rc"
        printed, errors = read_text(out / f"{index}.out"), read_text(out / f"{index}.err")
        if not rc_file.exists():
            problems.append(f"{step.label} `{step.command}` did not run" + (" (or did not finish)" if index else ""))
            break
        if rc_file.read_text().strip() != "0":
            problems.append(f"{step.label} `{step.command}` exited {rc_file.read_text().strip()}:\n{printed}{errors}")
            break
        problems += check_step(step, printed, errors)
        if index == 0 and read_text(out / "live.err"):
            problems.append(read_text(out / "live.err") + read_text(out / "status.json"))
            break
    if read_text(out / "down.rc").strip() != "0":
        problems.append("hmy-node localnet down: " + read_text(out / "down.out"))
    if problems:
        problems.append(f"session output:\n{read_text(driver / 'session.out')}\n"
                        + get_log_tails(clean / ".localnet"))
    assert not problems, f"after {elapsed:.0f} s:\n" + "\n\n".join(problems)
