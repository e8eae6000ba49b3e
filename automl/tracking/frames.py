"""The search process's messages to the MLflow writer: one length-prefixed pickle each.

A frame that the writer cannot unpickle (a class it cannot import) costs that
message only; the stream stays readable, where a bare pickle stream would not.
"""

from __future__ import annotations

import pickle
from typing import Any, BinaryIO

#: The writer's third argument when the search process ignores SIGINT (``automl.tracking.writer``'s InterruptWatch).
IGNORES_CTRL_C = "ignores-ctrl-c"


class UnpicklableMessage(Exception):
    """A message that cannot be pickled (a model holding a lambda, say): nothing of it was written."""


def write_frame(stream: BinaryIO, message: Any) -> None:
    """One message as a length-prefixed pickle, so that a message the reader cannot unpickle costs only itself.

    Raises :class:`UnpicklableMessage` before writing anything when ``message`` cannot be pickled.
    """
    try:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # noqa: BLE001 - pickling raises PicklingError, AttributeError, TypeError, ...
        raise UnpicklableMessage(f"{message[0] if isinstance(message, tuple) else 'message'} could not be pickled "
                                 f"({type(exc).__name__}: {exc})") from exc
    stream.write(len(data).to_bytes(8, "little"))
    stream.write(data)


def read_frame(stream: BinaryIO) -> bytes | None:
    """The next message's bytes, or None at the end of the input (or where it was cut off)."""
    header = stream.read(8)
    if len(header) < 8:
        return None
    size = int.from_bytes(header, "little")
    data = stream.read(size)
    return data if len(data) == size else None
