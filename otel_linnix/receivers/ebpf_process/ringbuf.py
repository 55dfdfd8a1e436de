"""A BPF ring buffer read straight from its memory mapping, many records per call.

bcc's reader calls into Python once per record through ctypes; at thousands of processes per
second that transition dominated the receiver's cost. The ring buffer is plain shared memory
(see the kernel's kernel/bpf/ringbuf.c and libbpf's ringbuf.c, whose consume loop this
follows): a consumer page we write, a producer page we read, and the data pages. libbpf maps
the data pages twice in a row so that a record that wraps is contiguous; every mapped page
counts in the agent's resident memory (the kernel maps them all at once), and the second copy
was 4 MiB of the agent's 60 MB. Here they are mapped once, and the rare record that wraps is
joined from its two parts.

Ordering: the kernel publishes a record by clearing the BUSY bit of its length word after the
payload is written; on the architectures CPython runs on, one aligned 32-bit load either sees
the bit or the finished record. The consumer position is advanced only after the batch has been
copied out, so the kernel never reuses space we are still reading.
"""

from __future__ import annotations

import mmap
import select
import struct
from collections.abc import Callable
from typing import TypeVar

_BUSY = 1 << 31
_DISCARD = 1 << 30
_HDR = 8
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
T = TypeVar("T")


class RingBuffer:
    def __init__(self, map_fd: int, size: int) -> None:
        if size <= 0 or size & (size - 1):
            raise ValueError(f"ring buffer size must be a power of two, got {size}")
        page = mmap.PAGESIZE
        self._mask = size - 1
        self._consumer = mmap.mmap(map_fd, page, mmap.MAP_SHARED,
                                   mmap.PROT_READ | mmap.PROT_WRITE, offset=0)
        self._producer = mmap.mmap(map_fd, page + size, mmap.MAP_SHARED, mmap.PROT_READ,
                                   offset=page)
        self._data = memoryview(self._producer)[page:]
        self.size = size
        #: Records that wrapped past the end of the data pages (joined from two parts).
        self.wrapped = 0
        self._epoll = select.epoll()
        self._epoll.register(map_fd, select.EPOLLIN | select.EPOLLET)

    def watch(self, fd: int, edge: bool = False) -> None:
        """Also end ``wait`` when ``fd`` becomes readable (an eventfd the owner signals to
        stop), or with ``edge`` when it is signalled (another ring buffer)."""
        self._epoll.register(fd, select.EPOLLIN | (select.EPOLLET if edge else 0))

    def wait(self, timeout: float | None = None) -> None:
        """Block until the kernel signals the buffer, a watched fd is readable, or ``timeout``:
        an idle host costs no wake-ups at all.

        Edge-triggered: the kernel signals the first record written after the consumer caught
        up, and whatever the program asks for (``BPF_RB_FORCE_WAKEUP``); records merely
        pending do not end a wait. So an owner that lets records gather sleeps through them,
        and must look at ``pending`` before waiting for the first one: records that came
        while it consumed were not signalled."""
        try:
            self._epoll.poll(-1 if timeout is None else timeout)
        except InterruptedError:
            pass

    def consume(self, decode: Callable[[list[memoryview]], T], limit: int = 1 << 30) -> T:
        """``decode`` over views of every finished record up to the producer position (at
        most ``limit`` bytes' worth); the space is released once it returns.

        The views point into the kernel's buffer and are released here too: ``decode`` must
        copy out what it keeps (``struct.unpack_from``, ``bytes()``), which is what saves a
        copy per record compared with handing out bytes.
        """
        cons = _U64.unpack_from(self._consumer, 0)[0]
        prod = _U64.unpack_from(self._producer, 0)[0]
        views: list[memoryview | bytes] = []
        append = views.append
        data, mask, unpack, ring_size = self._data, self._mask, _U32.unpack_from, self.size
        stop = min(prod, cons + limit)
        while cons < stop:
            off = cons & mask  # a multiple of 8: the header itself never wraps
            length = unpack(data, off)[0]
            if length & _BUSY:
                break  # reserved, not yet submitted: the records behind it wait too
            size = length & ~_DISCARD
            if not length & _DISCARD:
                end = off + _HDR + size
                if end <= ring_size:
                    append(data[off + _HDR:end])
                else:
                    append(bytes(data[off + _HDR:]) + bytes(data[:end - ring_size]))
                    self.wrapped += 1
            cons += (size + _HDR + 7) & ~7
        try:
            return decode(views)  # type: ignore[arg-type]  # bytes, for the rare wrapped one
        finally:
            for view in views:
                if type(view) is memoryview:
                    view.release()
            _U64.pack_into(self._consumer, 0, cons)

    def pending(self) -> int:
        """Bytes the kernel has produced and we have not consumed (records being written
        included): how full the buffer is, from two loads of the mapped pages."""
        return _U64.unpack_from(self._producer, 0)[0] - _U64.unpack_from(self._consumer, 0)[0]

    def read(self) -> list[bytes]:
        """Every finished record, copied out (for callers that keep the raw bytes)."""
        return self.consume(lambda views: [v.tobytes() for v in views])

    def close(self) -> None:
        self._epoll.close()
        self._data.release()
        self._producer.close()
        self._consumer.close()
