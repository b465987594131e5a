"""Length-prefixed messages over pipes, with deadlines on the judge's side.

Each message is an 8-byte big-endian length and that many bytes (a ``codec.pack``ed
message). The judge never blocks without a deadline: it waits with ``poll`` and gives up
when the student side is silent, gone, or sends more than the cap.
"""

from __future__ import annotations

import os
import select
import struct
import time

from grader.harness import codec

_LENGTH = struct.Struct("!Q")
_NUMBER = struct.Struct("!Q")


class FramingError(Exception):
    """Base of what can go wrong on the pipe."""


class Timeout(FramingError):
    """The other side did not answer before the deadline."""


class Closed(FramingError):
    """The other side closed its end (it exited or crashed)."""


class ProtocolViolation(FramingError):
    """The other side sent something that is not a message (too long, truncated)."""


def _wait(fd: int, events: int, deadline: float) -> None:
    poller = select.poll()
    poller.register(fd, events | select.POLLHUP | select.POLLERR)
    remaining = deadline - time.monotonic()
    if remaining <= 0 or not poller.poll(remaining * 1000):
        raise Timeout()


def send(fd: int, message: bytes, deadline: float | None = None) -> None:
    """Write one message; with a deadline, the fd must be non-blocking."""
    data = memoryview(_LENGTH.pack(len(message)) + message)
    while data:
        if deadline is not None:
            _wait(fd, select.POLLOUT, deadline)
        try:
            written = os.write(fd, data)
        except BlockingIOError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            raise Closed() from None
        data = data[written:]


def recv(fd: int, deadline: float | None = None, max_bytes: int = codec.MAX_MESSAGE_BYTES) -> bytes:
    """Read one message; raise Closed at end of file before a whole message arrived."""
    (length,) = _LENGTH.unpack(_read_exactly(fd, _LENGTH.size, deadline, at_start=True))
    if length > max_bytes:
        raise ProtocolViolation(f"a message of {length} bytes is over the {max_bytes}-byte cap")
    return _read_exactly(fd, length, deadline)


def send_reply(fd: int, number: int, message: bytes) -> None:
    """Write the reply to request ``number`` (counted from 1 in each process): its number, then itself."""
    send(fd, _NUMBER.pack(number))
    send(fd, message)


def recv_reply(fd: int, number: int, deadline: float | None = None) -> bytes:
    """Read the reply to request ``number``; raise ProtocolViolation for anything else.

    The number keeps the two sides in step: bytes the student wrote to the pipe itself, or a
    reply forged by it, can never be taken for the reply to a later request.
    """
    tag = recv(fd, deadline, max_bytes=_NUMBER.size)
    if tag != _NUMBER.pack(number):
        raise ProtocolViolation(f"something other than the reply to request {number} arrived")
    return recv(fd, deadline)


def hung_up(fd: int) -> bool:
    """Whether the other side has closed its end of the pipe (without waiting)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return any(events & (select.POLLHUP | select.POLLERR) for _, events in poller.poll(0))


def _read_exactly(fd: int, count: int, deadline: float | None, at_start: bool = False) -> bytes:
    chunks, got = [], 0
    while got < count:
        if deadline is not None:
            _wait(fd, select.POLLIN, deadline)
        try:
            chunk = os.read(fd, min(count - got, 1 << 20))
        except BlockingIOError:
            continue
        if not chunk:
            if at_start and got == 0:
                raise Closed()
            raise ProtocolViolation("the message was cut short") if got else Closed()
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)
