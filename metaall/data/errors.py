"""The one error type of the data layer: a problem located in a file, row and field."""

from __future__ import annotations

from os import PathLike


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class DataError(ValueError):
    """A problem in an extraction or spec file.

    ``row`` is the 1-based row a spreadsheet shows (header = 1; for YAML files the
    line of the key; 0 when the problem concerns the whole file). ``str()`` is one
    line: ``path:row: field: message``.
    """

    def __init__(self, path: str | PathLike[str], row: int, field: str, message: str) -> None:
        self.path = str(path)
        self.row = int(row)
        self.field = _one_line(field)
        self.message = _one_line(message)
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.path}:{self.row}: {self.field}: {self.message}"

    def __reduce__(self):  # keep pickling (multiprocessing) working with the 4 arguments
        return (type(self), (self.path, self.row, self.field, self.message))
