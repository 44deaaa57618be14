"""Run a multi-statement SQL script through a driver that takes one statement at a time."""

from __future__ import annotations


def statements(script: str) -> list[str]:
    """Split on `;` at the end of a line, never inside a `$$ … $$` function body."""
    result: list[str] = []
    current: list[str] = []
    in_body = False
    for line in script.splitlines():
        current.append(line)
        if line.count("$$") % 2:
            in_body = not in_body
        if not in_body and line.rstrip().endswith(";"):
            statement = "\n".join(current).strip()
            if statement and not all(
                part.strip().startswith("--") or not part.strip() for part in current
            ):
                result.append(statement.rstrip(";"))
            current = []
    tail = "\n".join(current).strip()
    if tail and not tail.startswith("--"):
        result.append(tail)
    return result
