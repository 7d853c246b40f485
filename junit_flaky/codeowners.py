"""Who owns a test: its file matched against the repository's CODEOWNERS, as GitHub and GitLab read it.

Where the file is (the first found wins): GitHub reads ``.github/CODEOWNERS``, ``CODEOWNERS``,
``docs/CODEOWNERS``; GitLab reads ``CODEOWNERS``, ``docs/CODEOWNERS``, ``.gitlab/CODEOWNERS``
(https://docs.github.com/en/repositories/managing-your-repositorys-settings-and-features/customizing-your-repository/about-code-owners,
https://docs.gitlab.com/user/project/codeowners/reference/). On GitLab CI GitLab's order is used,
elsewhere GitHub's followed by ``.gitlab/CODEOWNERS``. Paths in it are relative to the repository's
root: the git work tree above the project directory, else the project directory itself.

Rules, GitHub's and GitLab's alike:

- a line is a pattern and its owners (``@user``, ``@org/team``, ``@@role``, an e-mail address);
  ``#`` starts a comment; ``\\`` escapes a space, ``#``, ``*`` or ``?`` in a pattern;
- patterns are gitignore's without ``!`` or ``[...]``: ``*`` and ``?`` stay within one path
  segment, ``**`` spans segments, a leading ``/`` or a ``/`` inside anchors the pattern at the
  root, a lone segment matches at any depth, a trailing ``/`` matches only a directory's contents,
  and a pattern that names a directory owns everything below it (``docs/*`` owns ``docs/a.md``,
  not ``docs/sub/b.md``: its lone ``*`` stops at one level, as GitHub documents);
- the last matching line wins; a line without owners leaves the files it matches without owners.

GitLab's additions: ``[Section]``, ``^[Optional section]`` and ``[Section][2]`` headers, with the
section's default owners after the header for its lines that name none; sections with the same
name (in any case) are one section. Each section is read on its own (last match wins within it)
and a file's owners are those of every section, in the file's order. ``!pattern`` (GitLab 17.10)
excludes the files it matches from its section, wherever it stands in the section.

A line that follows none of this is ignored, with one warning for the whole file; a missing file
means no owners and no warning.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from junit_flaky.model import TestId, TestResult

GITHUB_LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
GITLAB_LOCATIONS = ("CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS")

Owners = Tuple[str, ...]
# What a report, an annotation or the stats call to learn a test's owners.
OwnerLookup = Callable[[TestId], Owners]

# A section header: ``^`` (optional), ``[name]``, ``[approvals]``, then default owners.
_HEADER = re.compile(r"^(\^)?\[([^\]]+)\](?:\[(\d+)\])?(?:\s+(.*))?$")
# @user, @org/team, @@role (GitLab), or an e-mail address.
_OWNER = re.compile(r"^(?:@@?[\w.-]+(?:/[\w.-]+)*|[^@\s]+@[^@\s]+\.[^@\s]+)$")


@dataclass(frozen=True)
class Rule:
    pattern: str
    owners: Owners
    matches: Callable[[str], bool]
    exclusion: bool = False


@dataclass
class Section:
    name: str  # "" for the lines before any header
    defaults: Owners = ()
    rules: List[Rule] = field(default_factory=list)

    def owners_of(self, path: str) -> Owners:
        matching = [rule for rule in self.rules if rule.matches(path)]
        if not matching or any(rule.exclusion for rule in matching):
            return ()
        return matching[-1].owners


@dataclass
class CodeOwners:
    """A parsed CODEOWNERS file; ``problems`` are the lines it ignored, one line each."""

    path: Path
    sections: List[Section]
    problems: List[str] = field(default_factory=list)

    def owners_of(self, path: str) -> Owners:
        """The owners of ``path`` (relative to the repository's root, ``/``-separated)."""
        found: Dict[str, None] = {}
        for section in self.sections:
            found.update(dict.fromkeys(section.owners_of(path.lstrip("/"))))
        return tuple(found)

    def warning(self) -> Optional[str]:
        if not self.problems:
            return None
        shown = "; ".join(self.problems[:3])
        more = f"; and {len(self.problems) - 3} more" if len(self.problems) > 3 else ""
        return f"{self.path}: ignored {len(self.problems)} malformed line(s): {shown}{more}"


def parse(text: str, path: Path) -> CodeOwners:
    """Every rule of a CODEOWNERS text; lines that cannot be read are listed in ``problems``."""
    sections: Dict[str, Section] = {"": Section("")}
    current = sections[""]
    problems: List[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            header = _HEADER.match(line)
            if header and not line.startswith("\\"):
                owners = _owners(_uncomment(header.group(4) or "").split())
                current = sections.setdefault(header.group(2).strip().casefold(), Section(header.group(2).strip()))
                current.defaults = owners or current.defaults
                continue
            words = _words(_uncomment(line))
            pattern, owners = words[0], _owners(words[1:])
            exclusion = pattern.startswith("!")
            if exclusion:
                pattern = pattern[1:]
                if owners:
                    raise ValueError("an exclusion (!pattern) names no owners")
            current.rules.append(Rule(pattern, owners or current.defaults, compile_pattern(pattern), exclusion))
        except ValueError as exc:
            problems.append(f"line {number}: {exc}")
    return CodeOwners(path, [s for s in sections.values() if s.rules], problems)


def _uncomment(line: str) -> str:
    """The line without a ``#`` comment; ``\\#`` is a ``#`` of the pattern."""
    match = re.search(r"(?<!\\)#", line)
    return line[: match.start()] if match else line


def _words(line: str) -> List[str]:
    """Split on whitespace that is not escaped (GitLab's ``path\\ with\\ spaces``)."""
    words = [w for w in re.split(r"(?<!\\)\s+", line.strip()) if w]
    if not words:
        raise ValueError("no pattern")
    return words


def _owners(words: Sequence[str]) -> Owners:
    for word in words:
        if not _OWNER.match(word):
            raise ValueError(f"{word!r} is not an owner (@user, @org/team or an e-mail address)")
    return tuple(words)


def compile_pattern(pattern: str) -> Callable[[str], bool]:
    """A gitignore-style CODEOWNERS pattern as a test on repository-relative paths."""
    if not pattern or "***" in pattern:
        raise ValueError(f"{pattern!r} is not a pattern")
    if re.search(r"(?<!\\)[\[\]]", pattern):
        raise ValueError(f"{pattern!r}: character ranges ([...]) are not supported in CODEOWNERS")
    if pattern == "/":
        return lambda path: False
    segments = pattern.split("/")
    if segments[0] == "":
        segments = segments[1:]  # anchored at the root
    elif len(segments) == 1 or (len(segments) == 2 and segments[1] == ""):
        if segments[0] != "**":
            segments = ["**", *segments]  # a lone name matches at any depth
    if len(segments) > 1 and segments[-1] == "":
        segments[-1] = "**"  # a directory's contents, at any depth
    last = len(segments) - 1
    regex = ""
    slash = False  # whether the next segment needs a "/" before it
    for index, segment in enumerate(segments):
        if segment == "**":
            if index == 0 and index == last:
                regex += ".+"
            elif index == 0:
                regex += "(?:.+/)?"
                slash = False
            elif index == last:
                regex += "/.*"
            else:
                regex += "(?:/.+)?"
                slash = True
            continue
        regex += "/" if slash else ""
        if segment == "*":
            regex += "[^/]+"  # a lone * owns one level, not what lies below it
        else:
            regex += _segment(segment)
            if index == last:
                regex += "(?:/.*)?"  # a directory owns everything below it
        slash = True
    compiled = re.compile(rf"\A{regex}\Z", re.DOTALL)
    return lambda path: compiled.match(path) is not None


def _segment(segment: str) -> str:
    out = ""
    escaped = False
    for char in segment:
        if escaped:
            out += re.escape(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "*":
            out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        else:
            out += re.escape(char)
    return out


def repository_root(start: Path) -> Path:
    """The git work tree ``start`` lies in (``.git`` a folder, or a file in a worktree or
    submodule), else ``start``: where CODEOWNERS paths begin."""
    start = start.resolve()
    for folder in [start, *start.parents]:
        if (folder / ".git").exists():
            return folder
    return start


def locate(root: Path, env: Mapping[str, str]) -> Optional[Path]:
    """The CODEOWNERS file the forge would read, or None."""
    order = GITLAB_LOCATIONS if env.get("GITLAB_CI") else (*GITHUB_LOCATIONS, ".gitlab/CODEOWNERS")
    for relative in order:
        if (root / relative).is_file():
            return root / relative
    return None


def load(path: Path) -> CodeOwners:
    """Read and parse; a file that cannot be read is one problem, not an error: owners are
    extra information, never a reason to fail a build."""
    try:
        return parse(path.read_text(encoding="utf-8", errors="replace"), path)
    except OSError as exc:
        return CodeOwners(path, [], [f"cannot be read: {exc.strerror}"])


class TestOwners:
    """A test's owners: its file (the report's ``file``, else the one the reruns would collect,
    ``reruns.guess_file``) relative to the repository's root, matched against CODEOWNERS."""

    __test__ = False

    def __init__(self, codeowners: CodeOwners, root: Path, rootdir: Path) -> None:
        self.codeowners = codeowners
        self.root = root.resolve()
        self.rootdir = rootdir.resolve()
        self._owners: Dict[Tuple[str, str], Owners] = {}  # the tests of one file share a classname

    def __call__(self, test: TestId) -> Owners:
        key = (test.classname, test.file)
        if key not in self._owners:
            path = self._path(*key)
            self._owners[key] = self.codeowners.owners_of(path) if path else ()
        return self._owners[key]

    def _path(self, classname: str, file: str) -> Optional[str]:
        from junit_flaky.reruns import guess_file

        found = guess_file(TestId(classname, "", file), self.rootdir) or file
        if not found:
            return None
        full = os.path.normpath(os.path.join(self.rootdir, found))
        if os.path.commonpath([full, str(self.root)]) != str(self.root):
            return None  # outside the repository: no CODEOWNERS line can name it
        return Path(os.path.relpath(full, self.root)).as_posix()


def lookup(
    rootdir: Path, env: Mapping[str, str], override: Optional[Path] = None, warn: Callable[[str], None] = lambda m: None
) -> Optional[OwnerLookup]:
    """The owners of tests run in ``rootdir``: from ``override``, else the CODEOWNERS of its
    repository; None without one. A malformed line is one warning through ``warn``."""
    root = repository_root(rootdir)
    path = override if override is not None else locate(root, env)
    if path is None:
        return None
    codeowners = load(path)
    message = codeowners.warning()
    if message:
        warn(message)
    return TestOwners(codeowners, root, rootdir)


def configured(
    start: Path, option: Optional[Path], env: Mapping[str, str], warn: Callable[[str], None]
) -> Optional[OwnerLookup]:
    """``--codeowners``, else ``codeowners`` in ``[tool.junit-flaky]`` (relative to that
    pyproject.toml; a missing file there is an error), else the repository's CODEOWNERS."""
    from junit_flaky import config
    from junit_flaky.errors import JunitFlakyError

    if option is None:
        table, _ = config.load(start)
        pyproject = config.find_pyproject(start)
        if table.get("codeowners") and pyproject is not None:
            option = pyproject.parent / table["codeowners"]
            if not option.is_file():
                raise JunitFlakyError(f"{pyproject}: [tool.junit-flaky] codeowners: no file {option}")
    return lookup(start, env, option, warn)


def owned_by(owners: Owners, name: str) -> bool:
    """Whether ``name`` is among ``owners``: ``org/team`` or ``@org/team``, in any case, as the
    forges compare handles."""
    wanted = name.casefold().lstrip("@")
    return any(owner.casefold().lstrip("@") == wanted for owner in owners)


def assign(owners: Optional[OwnerLookup], results: Iterable[TestResult]) -> None:
    """Give each result its owners (none without a CODEOWNERS file)."""
    if owners is None:
        return
    for result in results:
        result.owners = owners(result.test)
