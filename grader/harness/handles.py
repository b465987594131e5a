"""The judge side of the boundary: ``Handle`` proxies for student objects, and ``fetch``.

A handle stands for an object that lives with the student code. Attribute access, calls,
setattr, ``with``, iteration, indexing and ``len`` are forwarded and give back new
handles; a value reaches the test only through ``fetch(handle)``, as plain data. A handle
refuses to be compared, tested for truth or converted, so a test cannot accidentally
trust a student object's ``__eq__``.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from grader.harness import codec
from grader.harness.deadlines import CallDeadlines, Deadline
from grader.harness.failures import FailureKind, after_stop

MAX_DESCRIPTION = 160


class StudentError(Exception):
    """Student code raised while serving a call; the test that made the call fails.

    Attributes:
        call: the call as the test wrote it, e.g. ``student.beras.Dense(3, 2)(float64[4, 3])``.
        type_name: the student exception's class name, e.g. ``"NotImplementedError"``.
        message: its message.
        student_traceback: the student's frames (paths inside the submission).
    """

    def __init__(self, call: str, type_name: str, message: str, student_traceback: str = "") -> None:
        self.call, self.type_name, self.message = call, type_name, message
        self.student_traceback = student_traceback
        text = f"{call} raised {type_name}: {message}"
        if student_traceback:
            text += "\n" + student_traceback.rstrip()
        super().__init__(text)


class StudentProcessFailed(StudentError):
    """The student process itself failed during a call: a timeout, a crash, an exit, a protocol violation.

    Attributes:
        kind: a ``FailureKind``.
    """

    def __init__(self, call: str, kind: FailureKind, detail: str) -> None:
        Exception.__init__(self, f"{call} {detail}")
        self.call, self.type_name, self.kind = call, kind, kind
        self.message, self.student_traceback = detail, ""


class StudentProcessError(Exception):
    """Raised by a transport when the student process fails; the session names the call.

    Attributes:
        kind: a ``FailureKind``.
        detail: what happened, completing "<call> ...", e.g. "did not finish within 30 s".
        seconds: for a timeout, the deadline the call had; else None.
    """

    def __init__(self, kind: FailureKind, detail: str, seconds: float | None = None) -> None:
        super().__init__(detail)
        self.kind, self.detail, self.seconds = kind, detail, seconds


class ReleaseFailed(Exception):
    """Raised by ``Transport.exchange_after_release`` when freeing objects failed: the request was not served.

    Attributes:
        kind, detail: as for ``StudentProcessError``, about the release.
    """

    def __init__(self, kind: FailureKind, detail: str) -> None:
        super().__init__(detail)
        self.kind, self.detail = kind, detail


class FetchError(Exception):
    """A value could not cross the boundary (not plain data, non-numeric, too large)."""


class HarnessError(Exception):
    """The boundary itself failed (the student process is gone, a protocol violation)."""


class Transport(ABC):
    """Carries one packed request to the student side and brings back the packed reply."""

    @abstractmethod
    def exchange(self, request: bytes, timeout_s: float | None = None) -> bytes:
        """Send ``request``; return the reply. Raises HarnessError when no reply can come.

        ``timeout_s`` is the call's deadline (None: the transport's own limit); a transport without
        deadlines ignores it.
        """

    def exchange_after_release(self, release: bytes, request: bytes, timeout_s: float | None = None) -> bytes:
        """Free unused objects (``release``, whose reply is not used), then exchange ``request``.

        Raises ReleaseFailed when the release failed (the student side stopped): the request was
        then not served, and the caller decides again where it may go. A transport that can send
        both at once overrides this; the release keeps its own deadline and its own failure.
        """
        try:
            self.exchange(release, timeout_s)
        except StudentProcessError as failure:
            raise ReleaseFailed(failure.kind, failure.detail) from None
        except HarnessError:
            pass  # nothing could carry it; the request says why, if it cannot go either
        return self.exchange(request, timeout_s)

    @property
    def generation(self) -> int:
        """Which student process answers; a transport that restarts it counts up."""
        return 0

    def refresh(self) -> StudentProcessError | None:
        """Before a call: drop a student side that stopped since the last one and say how (None: it
        is fine)."""
        return None

    def close(self) -> None:
        """Release what the transport holds (a process, pipes); a transport that restarts does so on
        next use."""

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Within the block the student side runs nothing, not even threads or processes of its own.

        For timing something else alone (the reference, in the speed test). In process there is
        nothing of the student's running between calls: nothing to stop.
        """
        yield


# Called with (description, payload) after every fetch; the results plugin digests them.
fetch_listeners: list[Callable[[str, codec.Payload], None]] = []


class Session:
    """One conversation with a student side: builds requests, reads replies, tracks handles."""

    def __init__(self, transport: Transport, deadlines: CallDeadlines | None = None) -> None:
        self.transport = transport
        self.deadlines = deadlines  # None: every call gets the transport's own limit
        self._dead_refs: list[int] = []
        # module -> how its import hung or crashed: not retried
        self._import_failures: dict[str, tuple[FailureKind, str]] = {}
        self._last_failure = ""
        self._last_failure_kind = FailureKind.CRASHED

    def root(self, name: str = "student") -> "Handle":
        return Handle._make(self, 0, name, "student", self.transport.generation)

    def request(self, op: str, ref: int, description: str, generation: int | None = None, *,
                method: str | None = None, **args: Any) -> dict:
        """Perform ``op`` on object ``ref``; return the reply header (and value, for fetch).

        ``method`` names what is called, as the handle knows it (``Softmax.forward``): the deadlines
        tell its calls apart by it (see ``deadlines``).
        """
        __tracebackhide__ = True  # pytest shows the test's line, not the harness's
        stopped = self.transport.refresh()
        if stopped:
            self._last_failure, self._last_failure_kind = stopped.detail, stopped.kind
        self._check_generation(ref, generation, description)
        importing = args.get("name") if op == "getattr" and ref == 0 else None
        if importing in self._import_failures:
            kind, detail = self._import_failures[importing]
            raise StudentProcessFailed(f"importing {description}", after_stop(kind),
                                       f"{detail} earlier; not retried")
        payload = codec.encode(args, ref_of=self._ref_of)
        message = codec.pack({"op": op, "ref": ref, "args": payload.tree}, payload.blobs)
        deadline = self.deadlines.for_call(method) if self.deadlines else None
        timeout_s = deadline.seconds if deadline else None
        started = time.monotonic()
        try:
            raw = self._exchange(message, timeout_s)
        except ReleaseFailed as failure:
            # The process stopped while freeing objects, before this request: decide again (a handle
            # of the stopped process now says so; anything else goes to a fresh process).
            self._last_failure = f"freeing unused student objects {failure.detail}"
            self._last_failure_kind = failure.kind
            return self.request(op, ref, description, generation, method=method, **args)
        except StudentProcessError as failure:
            raise self._stopped(failure, description, importing, method, deadline, timeout_s) from None
        if self.deadlines is not None:
            self.deadlines.returned(method, time.monotonic() - started)
        return self._read_reply(raw, op, description)

    def _exchange(self, message: bytes, timeout_s: float | None) -> bytes:
        """Send one request and return the raw reply; objects whose handles are gone are freed first,
        in the same exchange."""
        if not self._dead_refs:
            return self.transport.exchange(message, timeout_s)
        refs, self._dead_refs = self._dead_refs, []
        release = codec.pack({"op": "release", "ref": 0, "refs": refs}, [])
        return self.transport.exchange_after_release(release, message, timeout_s)

    def _stopped(self, failure: StudentProcessError, description: str, importing: str | None,
                 method: str | None, deadline: Deadline | None, timeout_s: float | None,
                 ) -> StudentProcessFailed:
        """Record that the student process stopped during a call, and return what the test raises.

        A timeout is reported to the deadlines (with the earlier call it was measured against); a
        failed import is remembered, so the module is not imported again.
        """
        detail = failure.detail
        if failure.kind is FailureKind.TIMEOUT and self.deadlines is not None:
            if deadline.earlier and failure.seconds == deadline.seconds:
                detail = f"{detail}: {deadline.earlier}"
            self.deadlines.timed_out(method, failure.seconds or timeout_s)
        if importing is not None:
            description = f"importing {description}"
            self._import_failures[importing] = (failure.kind, detail)
        self._last_failure, self._last_failure_kind = f"{description} {detail}", failure.kind
        return StudentProcessFailed(description, failure.kind, detail)

    def _read_reply(self, raw: bytes, op: str, description: str) -> dict:
        """Unpack a reply: raise the error it carries, or decode its value (telling the fetch listeners).

        Raises:
            StudentProcessFailed: on a malformed reply (the transport is closed: replies may be out
                of step with requests).
            StudentError, FetchError, HarnessError: for an error reply (see ``_raise``).
        """
        __tracebackhide__ = True
        try:
            reply, blobs = codec.unpack(raw)
        except codec.CodecError as error:
            self.transport.close()  # the replies may be out of step with the requests: start afresh
            detail = f"sent a malformed reply ({error})"
            self._last_failure, self._last_failure_kind = f"{description} {detail}", FailureKind.PROTOCOL
            raise StudentProcessFailed(description, FailureKind.PROTOCOL, detail) from None
        if "error" in reply:
            self._raise(reply["error"], description)
        if "value" in reply:
            value_payload = codec.Payload(reply["value"], blobs)
            if op == "fetch":
                for listener in fetch_listeners:
                    listener(description, value_payload)
            try:
                reply["value"] = codec.decode(value_payload)
            except codec.CodecError as error:
                raise FetchError(f"cannot fetch {description}: {error}") from None
        return reply

    def _check_generation(self, ref: int, generation: int | None, description: str) -> None:
        __tracebackhide__ = True
        if ref != 0 and generation is not None and generation != self.transport.generation:
            raise StudentProcessFailed(
                description, after_stop(self._last_failure_kind),
                "refers to an object of a student process that has since stopped "
                f"(after: {self._last_failure})")

    def _ref_of(self, value: Any) -> int | None:
        if isinstance(value, Handle):
            if object.__getattribute__(value, "_session") is not self:
                raise codec.CodecError("a handle from another student session cannot be passed here")
            ref = object.__getattribute__(value, "_ref")
            generation = object.__getattribute__(value, "_generation")
            if ref != 0 and generation != self.transport.generation:
                raise codec.CodecError(
                    f"{describe(value)} belongs to a student process that has since stopped")
            return ref
        return None

    def _raise(self, error: dict, description: str) -> None:
        __tracebackhide__ = True  # pytest shows the test's line, not the harness's
        kind, type_name, message = error.get("kind"), error.get("type", "?"), error.get("message", "")
        if kind == "student":
            raise StudentError(description, type_name, message, error.get("traceback", ""))
        if kind == "fetch":
            raise FetchError(f"cannot fetch {description}: {message}")
        if kind == "harness":
            raise StudentError(description, type_name, message)
        raise HarnessError(f"{description}: protocol error: {type_name}: {message}")

    def forget(self, ref: int, generation: int) -> None:
        if generation == self.transport.generation:  # older objects died with their process
            self._dead_refs.append(ref)


def describe(value: Any) -> str:
    """A short description of a call argument: ``float64[4, 3]`` for arrays, repr for scalars."""
    if isinstance(value, Handle):
        return object.__getattribute__(value, "_description")
    if isinstance(value, np.ndarray):
        return f"{value.dtype}[{', '.join(map(str, value.shape))}]"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(describe(item) for item in value[:4]) + (", ..." if len(value) > 4 else "")
        return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_DESCRIPTION else "..." + text[-(MAX_DESCRIPTION - 3) :]


class Handle:
    """A proxy for one student object. See the module docstring for what it forwards."""

    __slots__ = ("_session", "_ref", "_description", "_type", "_generation", "_member", "__weakref__")

    @classmethod
    def _make(cls, session: Session, ref: int, description: str, type_name: str, generation: int,
              member: str | None = None) -> "Handle":
        handle = object.__new__(cls)
        for name, value in (("_session", session), ("_ref", ref), ("_description", description),
                            ("_type", type_name), ("_generation", generation), ("_member", member)):
            object.__setattr__(handle, name, value)
        return handle

    def _owner(self) -> str:
        """Who this object's members belong to, in a method's name: its class, or a module's own name."""
        return self._description if self._ref == 0 or self._type == "module" else self._type

    def _method(self, name: str) -> str:
        """The method (or attribute) ``name`` of this object, as the deadlines name it:
        ``Softmax.forward``."""
        return f"{self._owner()}.{name}"

    def _do(self, op: str, description: str, method: str, member: str | None = None, **args: Any) -> "Handle":
        __tracebackhide__ = True  # pytest shows the test's line, not the harness's
        session = object.__getattribute__(self, "_session")
        reply = session.request(op, self._ref, description, self._generation, method=method, **args)
        return Handle._make(session, reply["ref"], _shorten(description), reply.get("type", "?"),
                            session.transport.generation, member)

    def _simple(self, op: str, description: str, method: str, **args: Any) -> dict:
        __tracebackhide__ = True  # pytest shows the test's line, not the harness's
        session = object.__getattribute__(self, "_session")
        return session.request(op, self._ref, description, self._generation, method=method, **args)

    def __getattr__(self, name: str) -> "Handle":
        if name.startswith("__") and name.endswith("__"):
            # numpy and pytest probe dunders like __array_interface__; never ask the student.
            raise AttributeError(name)
        # Reading an attribute and calling it are told apart: a property that hung says nothing of the call.
        member = self._method(name)
        return self._do("getattr", f"{self._description}.{name}", f"{member} (attribute)", member, name=name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._simple("setattr", f"{self._description}.{name} = {describe(value)}",
                     f"{self._method(name)} (set)", name=name, value=value)

    def __call__(self, *args: Any, **kwargs: Any) -> "Handle":
        __tracebackhide__ = True  # pytest shows the test's line, not the harness's
        shown = [describe(a) for a in args] + [f"{k}={describe(v)}" for k, v in kwargs.items()]
        # A bound method or class read off its owner is named by it (``Dense.forward``); an object called
        # as it is, by its class (``Softmax.__call__``).
        method = self._member or self._method("__call__")
        return self._do("call", f"{self._description}({', '.join(shown)})", method,
                        args=list(args), kwargs=kwargs)

    def __getitem__(self, key: Any) -> "Handle":
        __tracebackhide__ = True  # pytest shows the test's line, not the harness's
        return self._do("getitem", f"{self._description}[{describe(key)}]", self._method("__getitem__"),
                        key=key)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._simple("setitem", f"{self._description}[{describe(key)}] = {describe(value)}",
                     self._method("__setitem__"), key=key, value=value)

    def __len__(self) -> int:
        return self._simple("len", f"len({self._description})", self._method("__len__"))["value"]

    def __iter__(self) -> Iterator["Handle"]:
        iterator = self._do("iter", f"iter({self._description})", self._method("__iter__"))
        for index in itertools.count():
            reply = iterator._simple("next", f"{self._description}[{index}]", iterator._method("__next__"))
            if reply.get("stop"):
                return
            yield Handle._make(self._session, reply["ref"], _shorten(f"{self._description}[{index}]"),
                               reply.get("type", "?"), self._session.transport.generation)

    def __enter__(self) -> "Handle":
        __tracebackhide__ = True  # pytest shows the test's line, not the harness's
        return self._do("enter", f"with {self._description}", self._method("__enter__"))

    def __exit__(self, exc_type, exc, tb) -> bool:
        __tracebackhide__ = True  # pytest shows the test's line, not the harness's
        if exc_type is not None and self._generation != self._session.transport.generation:
            return False  # the object died with its process (the failure under way says how): nothing to exit
        self._simple("exit", f"end of with {self._description}", self._method("__exit__"),
                     error=f"{exc_type.__name__}: {exc}" if exc_type else None)
        return False  # never let a student's __exit__ swallow the test's own failure

    def __repr__(self) -> str:
        return f"<student {self._type}: {self._description}>"

    def __del__(self) -> None:
        try:
            if self._ref != 0:
                self._session.forget(self._ref, self._generation)
        except Exception:  # during interpreter shutdown attributes may already be gone
            pass

    def _refuse(self, *_: Any, **__: Any) -> Any:  # numpy calls __array__(dtype, copy=...)
        raise TypeError(
            f"{self._description} is a handle to a student object; call fetch() on it to get its value"
        )

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse
    __bool__ = __float__ = __int__ = __index__ = __complex__ = __array__ = _refuse
    __hash__ = object.__hash__


def fetch(value: Any) -> Any:
    """Bring a value to the test as plain data.

    Args:
        value: a handle (its object is encoded on the student side), a local value (the
            reference's result, normalized the same way: CuPy and Tensor subclasses become
            plain numpy arrays), or a list/tuple/dict holding either.

    Returns:
        numpy arrays, Python numbers, strings, None, and lists/tuples/dicts of these.

    Raises:
        FetchError: when the value is not plain data (a layer object, a string array...).
        StudentError: when student code raises while the value is produced.
    """
    __tracebackhide__ = True
    if isinstance(value, Handle):
        return value._simple("fetch", value._description, value._method("__fetch__"))["value"]
    if isinstance(value, (list, tuple)) and _holds_handle(value):
        items = [fetch(item) for item in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict) and _holds_handle(value):
        return {key: fetch(item) for key, item in value.items()}
    try:
        payload = codec.encode(value)
        return codec.decode(payload)
    except codec.CodecError as error:
        raise FetchError(f"cannot fetch a local {codec.describe_type(value)}: {error}") from None


def _holds_handle(value: Any, depth: int = 0) -> bool:
    """Whether a handle sits anywhere inside ``value``'s lists, tuples and dicts."""
    if isinstance(value, Handle):
        return True
    if depth > codec.MAX_DEPTH:
        return False
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
    return any(_holds_handle(item, depth + 1) for item in items)


def payload_digest(payload: codec.Payload) -> str:
    """A stable digest of one fetched value (the determinism check compares these)."""
    digest = hashlib.sha256(repr(payload.tree).encode())
    for blob in payload.blobs:
        digest.update(blob)
    return digest.hexdigest()
