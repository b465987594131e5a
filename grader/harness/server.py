"""The student side of the boundary: holds the submission's objects and serves the judge's requests.

Each request names an operation on an object the server holds (by reference id) and
carries its arguments as plain data (see ``codec``). Results stay here; the judge gets a
new reference id and the object's type name. Only ``fetch`` sends a value back, and only
if it is plain data. Whatever the student code does, the server answers with a message:
an exception in student code becomes an ``error`` reply carrying the student's traceback.
"""

from __future__ import annotations

import importlib
import os
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from grader.harness import codec

MAX_MESSAGE_CHARS = 4000
MAX_TRACEBACK_FRAMES = 8
ROOT_REF = 0
_HARNESS_DIR = str(Path(__file__).resolve().parent) + os.sep  # in a starter it sits inside the submission


class _Root:
    """The object behind ``student``: its attributes are the submission's top-level modules."""


class StudentServer:
    """Serve one judge: a table of live objects and one method per operation.

    Args:
        import_module: imports a top-level module of the submission by name.
        modules: the names the judge may import (``{"beras"}``).
        submission_root: folder of the submission; traceback frames outside it are dropped.
    """

    def __init__(
        self, import_module: Callable[[str], ModuleType], modules: set[str], submission_root: Path
    ) -> None:
        self._import = import_module
        self._modules = frozenset(modules)
        self._root_dir = str(Path(submission_root).resolve())
        self._objects: dict[int, Any] = {ROOT_REF: _Root()}
        self._next_ref = ROOT_REF + 1
        self._serving = False  # inside a request's operation: only there may an interrupt stop it

    def interrupt(self) -> None:
        """Abandon the operation being served (a signal handler calls this); between requests, nothing.

        The judge asks for this when a call is past its deadline: the call ends as if it raised, and
        the process serves on, so a hang costs no restart. Code that ignores it is stopped instead.

        Raises:
            CallInterrupted: while an operation is being served.
        """
        if self._serving:
            raise CallInterrupted()

    def handle_bytes(self, data: bytes) -> bytes:
        """Answer one packed request with one packed reply; never raises for bad input."""
        try:
            header, blobs = codec.unpack(data)
            reply = self._handle(header, blobs)
            return codec.pack(*reply)
        except codec.CodecError as error:
            return codec.pack(*_error("protocol", "CodecError", str(error)))

    def _handle(self, header: dict, blobs: list[bytes]) -> tuple[dict, list[bytes]]:
        op, ref = header.get("op"), header.get("ref")
        if op == "release":
            return self._release(header.get("refs", []))
        if not isinstance(ref, int) or ref not in self._objects:
            return _error("protocol", "LookupError", f"no live object with reference {ref!r}")
        target = self._objects[ref]
        try:
            args = codec.decode(codec.Payload(header.get("args"), blobs), resolve=self._resolve)
        except (codec.CodecError, LookupError) as error:
            return _error("protocol", type(error).__name__, str(error))
        handler = getattr(self, f"_op_{op}", None) if isinstance(op, str) else None
        if handler is None:
            return _error("protocol", "ValueError", f"unknown operation {op!r}")
        return self._serve(op, handler, target, args)

    def _release(self, refs: Any) -> tuple[dict, list[bytes]]:
        """Forget the objects whose handles the judge dropped (never the root)."""
        if not isinstance(refs, list) or not all(isinstance(dead, int) for dead in refs):
            return _error("protocol", "ValueError", "release needs a list of reference ids")
        for dead in refs:
            if dead != ROOT_REF:
                self._objects.pop(dead, None)
        return {"ok": True}, []

    def _serve(self, op: str, handler: Callable[[Any, dict], tuple[dict, list[bytes]]], target: Any,
               args: dict) -> tuple[dict, list[bytes]]:
        """Run one operation, the only place an interrupt may stop; whatever it raises becomes a reply."""
        try:
            self._serving = True
            try:
                return handler(target, args)
            finally:
                self._serving = False
        except CallInterrupted:
            return _error("harness", "TimeoutError",
                          "the judge interrupted the call: it was past its deadline")
        except StopIteration as error:
            if op == "next":  # anywhere else it is student code failing like any other exception
                return {"stop": True}, []
            return _error("student", "StopIteration", _safe_str(error), self._student_traceback(error))
        except codec.CodecError as error:
            return _error("fetch", "CodecError", str(error))
        except _NotImportable as error:
            return _error("harness", "ImportError", str(error))
        except (Exception, SystemExit) as error:  # student code failed: report it, keep serving
            # numpy's allocation failure is a MemoryError subclass: name the kind, so it is graded as memory
            name = "MemoryError" if isinstance(error, MemoryError) else type(error).__qualname__
            return _error("student", name, _safe_str(error), self._student_traceback(error))

    def _resolve(self, ref: int) -> Any:
        if ref not in self._objects:
            raise LookupError(f"no live object with reference {ref}")
        return self._objects[ref]

    def _keep(self, value: Any) -> tuple[dict, list[bytes]]:
        ref = self._next_ref
        self._next_ref += 1
        self._objects[ref] = value
        return {"ref": ref, "type": codec.describe_type(value)}, []

    # Operations: each takes the target object and the decoded argument dict.
    def _op_getattr(self, target: Any, args: dict) -> tuple[dict, list[bytes]]:
        name = args["name"]
        if isinstance(target, _Root):
            if name not in self._modules:
                raise _NotImportable(
                    f"the submission has no top-level module {name!r}; available: {sorted(self._modules)}"
                )
            return self._keep(self._import(name))
        return self._keep(getattr(target, name))

    def _op_setattr(self, target: Any, args: dict) -> tuple[dict, list[bytes]]:
        setattr(target, args["name"], args["value"])
        return {"ok": True}, []

    def _op_call(self, target: Any, args: dict) -> tuple[dict, list[bytes]]:
        return self._keep(target(*args["args"], **args["kwargs"]))

    def _op_getitem(self, target: Any, args: dict) -> tuple[dict, list[bytes]]:
        return self._keep(target[args["key"]])

    def _op_setitem(self, target: Any, args: dict) -> tuple[dict, list[bytes]]:
        target[args["key"]] = args["value"]
        return {"ok": True}, []

    def _op_iter(self, target: Any, args: dict) -> tuple[dict, list[bytes]]:
        return self._keep(iter(target))

    def _op_next(self, target: Any, args: dict) -> tuple[dict, list[bytes]]:
        return self._keep(next(target))

    def _op_len(self, target: Any, args: dict) -> tuple[dict, list[bytes]]:
        return {"value": int(len(target))}, []

    def _op_enter(self, target: Any, args: dict) -> tuple[dict, list[bytes]]:
        return self._keep(target.__enter__())

    def _op_exit(self, target: Any, args: dict) -> tuple[dict, list[bytes]]:
        # The judge's exception cannot cross; the student sees a plain Exception with its text.
        error = Exception(args["error"]) if args.get("error") else None
        target.__exit__(type(error) if error else None, error, None)
        return {"ok": True}, []

    def _op_fetch(self, target: Any, args: dict) -> tuple[dict, list[bytes]]:
        payload = codec.encode(target)
        return {"value": payload.tree}, payload.blobs

    def _student_traceback(self, error: BaseException) -> str:
        inside = self._root_dir.rstrip(os.sep) + os.sep
        frames = [f for f in traceback.extract_tb(error.__traceback__)
                  if f.filename.startswith(inside) and not f.filename.startswith(_HARNESS_DIR)]
        for frame in frames:
            frame.filename = frame.filename[len(inside) :]
        lines = traceback.format_list(frames[-MAX_TRACEBACK_FRAMES:])
        return "".join(lines)[-MAX_MESSAGE_CHARS:]


class CallInterrupted(BaseException):
    """The judge gave up on the call being served (its deadline passed). A BaseException, so that
    ``except Exception`` in student code lets it through."""


class _NotImportable(Exception):
    """The judge asked for a top-level module the submission does not have."""


def _safe_str(error: BaseException) -> str:
    try:
        text = str(error)
    except Exception:  # a student exception whose __str__ itself fails
        text = "<the exception's message could not be printed>"
    return text[:MAX_MESSAGE_CHARS]


def _error(kind: str, type_name: str, message: str, student_traceback: str = "") -> tuple[dict, list[bytes]]:
    error = {"kind": kind, "type": type_name, "message": message, "traceback": student_traceback}
    return {"error": error}, []


def import_from(name: str) -> ModuleType:
    """The plain importer, for a student process that holds only the submission."""
    return importlib.import_module(name)
