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


def frame(message: bytes) -> bytes:
    """One message as it goes on the pipe: its length, then itself."""
    return _LENGTH.pack(len(message)) + message


def send(fd: int, message: bytes, deadline: float | None = None) -> None:
    """Write one message; with a deadline, the fd must be non-blocking."""
    send_framed(fd, frame(message), deadline)


def send_framed(fd: int, data: bytes, deadline: float | None = None) -> None:
    """Write bytes already framed (one message or several, in one write where the pipe has room).

    With a deadline the fd must be non-blocking: the write is tried first, and only a full pipe
    makes it wait (never past the deadline).
    """
    view = memoryview(data)
    while view:
        if deadline is not None and time.monotonic() >= deadline:
            raise Timeout()
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            _wait(fd, select.POLLOUT, deadline)
            continue
        except (BrokenPipeError, ConnectionResetError):
            raise Closed() from None
        view = view[written:]


def reply_frame(number: int, message: bytes) -> bytes:
    """The reply to request ``number`` (counted from 1 in each process) as it goes on the pipe."""
    return frame(_NUMBER.pack(number)) + frame(message)


def send_reply(fd: int, number: int, message: bytes) -> None:
    """Write the reply to request ``number``: its number, then itself, in one write."""
    send_framed(fd, reply_frame(number, message))


def recv(fd: int, deadline: float | None = None, max_bytes: int = codec.MAX_MESSAGE_BYTES) -> bytes:
    """Read one message; raise Closed at end of file before a whole message arrived.

    Reads exactly the message's bytes: what follows stays in the pipe (see ``Reader``).
    """
    return Reader(fd, greedy=False).recv(deadline, max_bytes)


def recv_reply(fd: int, number: int, deadline: float | None = None) -> bytes:
    """Read the reply to request ``number``; raise ProtocolViolation for anything else.

    The number keeps the two sides in step: bytes the student wrote to the pipe itself, or a
    reply forged by it, can never be taken for the reply to a later request.
    """
    return Reader(fd, greedy=False).recv_reply(number, deadline)


def hung_up(fd: int) -> bool:
    """Whether the other side has closed its end of the pipe (without waiting)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return any(events & (select.POLLHUP | select.POLLERR) for _, events in poller.poll(0))


class Reader:
    """Reads messages from one fd, each within its deadline.

    A greedy reader takes whatever the pipe holds (up to ``CHUNK`` bytes a read) and keeps
    what follows the current message for the next one: a reply usually costs one read, and no
    wait when it is already there. The bytes it keeps are the pipe's, in order, so what a
    student wrote beyond a reply is still found out at the next one. It holds at most one
    message and one read beyond it; the length cap is checked before a message's body is read.
    Without a deadline (the student's side, a blocking fd) it blocks.
    """

    CHUNK = 1 << 16
    MAX_READ = 1 << 20

    def __init__(self, fd: int, greedy: bool = True) -> None:
        self.fd, self.greedy = fd, greedy
        self._buffer = bytearray()

    def recv(self, deadline: float | None = None, max_bytes: int = codec.MAX_MESSAGE_BYTES) -> bytes:
        """Read one message; raise Closed at end of file before a whole message arrived."""
        if not self._fill(_LENGTH.size, deadline):
            if self._buffer:
                raise ProtocolViolation("the message was cut short")
            raise Closed()
        (length,) = _LENGTH.unpack_from(self._buffer)
        if length > max_bytes:
            raise ProtocolViolation(f"a message of {length} bytes is over the {max_bytes}-byte cap")
        del self._buffer[: _LENGTH.size]
        if not self._fill(length, deadline):
            if self._buffer:
                raise ProtocolViolation("the message was cut short")
            raise Closed()
        message = bytes(self._buffer[:length])
        del self._buffer[:length]
        return message

    def recv_reply(self, number: int, deadline: float | None = None) -> bytes:
        """Read the reply to request ``number``; raise ProtocolViolation for anything else (see
        ``recv_reply``)."""
        tag = self.recv(deadline, max_bytes=_NUMBER.size)
        if tag != _NUMBER.pack(number):
            raise ProtocolViolation(f"something other than the reply to request {number} arrived")
        return self.recv(deadline)

    def _fill(self, count: int, deadline: float | None) -> bool:
        """Hold at least ``count`` bytes; False at end of file before that."""
        while len(self._buffer) < count:
            if deadline is not None and time.monotonic() >= deadline:
                raise Timeout()
            missing = count - len(self._buffer)
            wanted = max(missing, self.CHUNK) if self.greedy else missing
            size = min(wanted, self.MAX_READ)
            try:
                chunk = os.read(self.fd, size)
            except BlockingIOError:
                _wait(self.fd, select.POLLIN, deadline)
                continue
            if not chunk:
                return False
            self._buffer += chunk
        return True
