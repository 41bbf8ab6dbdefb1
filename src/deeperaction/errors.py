"""User-facing input errors: one line each, naming file, video, frame and field.

Readers and validators raise :class:`InputError` (or collect many :class:`Problem`s and raise them
together) so the CLI can print every problem and exit 2 instead of showing a traceback.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is and what is wrong."""

    message: str
    file: str | None = None
    video: str | None = None
    frame: str | int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(str(self.file))
        if self.video is not None:
            where.append(f"video {self.video!r}")
        if self.frame is not None:
            where.append(f"frame {self.frame}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        return (": ".join([", ".join(where), self.message]) if where else self.message)


class InputError(Exception):
    """Bad user input. Holds one or more :class:`Problem`s; ``str()`` is one line per problem."""

    def __init__(self, problems: Problem | str | list[Problem], *, file: str | Path | None = None,
                 video: str | None = None, frame: str | int | None = None, field: str | None = None):
        if isinstance(problems, str):
            problems = [Problem(problems, None if file is None else str(file), video, frame, field)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ProblemList:
    """Collects problems while validating so that all of them are reported, not only the first.

    ``limit`` bounds memory on huge broken files; the count of problems beyond it is still kept.
    """

    def __init__(self, file: str | Path | None = None, limit: int = 1000):
        self.file = None if file is None else str(file)
        self.items: list[Problem] = []
        self.limit = limit
        self.overflow = 0

    def add(self, message: str, *, video: str | None = None, frame: str | int | None = None,
            field: str | None = None) -> None:
        if len(self.items) < self.limit:
            self.items.append(Problem(message, self.file, video, frame, field))
        else:
            self.overflow += 1

    def extend(self, other: "ProblemList | list[Problem]") -> None:
        items = other.items if isinstance(other, ProblemList) else other
        for p in items:
            if len(self.items) < self.limit:
                self.items.append(p)
            else:
                self.overflow += 1
        if isinstance(other, ProblemList):
            self.overflow += other.overflow

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items) + self.overflow

    def raise_if_any(self) -> None:
        """Raise an :class:`InputError` holding every collected problem, if there is one."""
        if self.items:
            items = list(self.items)
            if self.overflow:
                items.append(Problem(f"... and {self.overflow} more problems", self.file))
            raise InputError(items)
