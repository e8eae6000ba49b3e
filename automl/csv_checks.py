"""What pandas reads from a CSV without a word, named in one sentence: not UTF-8, repeated column names, cut short.

pandas fills a short last row with missing values, lets an unclosed quote swallow the rest of the file into one
field, and renames a repeated column ``y`` to ``y.1``; each of these turns a damaged file into plausible data.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from automl.errors import InputError

ENCODING = "utf-8-sig"  # UTF-8, with the byte-order mark Excel writes skipped


def not_utf8(path: Path, parameter: str) -> InputError:
    """The error for a file that is not UTF-8 text, naming the first byte that is not and its line."""
    data = path.read_bytes()
    try:
        data.decode(ENCODING)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        where = f"byte 0x{data[exc.start]:02x} on line {line}"
    else:  # pandas failed on something it decoded itself; say so without a position
        where = "pandas could not decode it"
    return InputError(f"{parameter} file {str(path)!r} is not UTF-8 text ({where}); save it as UTF-8 "
                      f"(e.g. iconv -f latin1 -t utf-8 {path.name} > utf8_{path.name}) and pass that file.")


def check_header(path: Path, parameter: str) -> list[str]:
    """The header's names; a name given twice would be read as ``name`` and ``name.1``: a target and its copy, say."""
    with path.open(encoding=ENCODING, newline="") as stream:
        header = next(csv.reader(stream), [])
    repeated = sorted(name for name, count in Counter(header).items() if count > 1)
    if repeated:
        raise InputError(f"{parameter} file {str(path)!r} has the column name(s) {repeated} more than once; give each "
                         "column its own name (a repeated target would also be read as a feature).")
    return header


def check_complete(path: Path, n_columns: int, parameter: str) -> None:
    """A file cut short ends without a line break, inside a quoted field or with fewer fields than the header."""
    with path.open("rb") as stream:
        stream.seek(max(0, path.stat().st_size - 1))
        if stream.read(1) in (b"\n", b"\r"):
            return  # complete files end with a line break; one cut at a line end is a shorter complete file
    last: list[str] | None = None
    with path.open(encoding=ENCODING, newline="") as stream:
        reader = csv.reader(stream, strict=True)
        try:
            for last in reader:
                pass
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                raise InputError(f"{parameter} file {str(path)!r} ends inside a quoted field (line {reader.line_num}) "
                                 "without a line break, so it looks cut short; write the file again in full.") from None
            return  # malformed quoting further up is pandas' to judge, as before
    if last is not None and 0 < len(last) < n_columns:
        raise InputError(f"{parameter} file {str(path)!r} ends in the middle of a row (its last line has {len(last)} "
                         f"of {n_columns} fields and no line break), so it looks cut short; write the file again in full.")
