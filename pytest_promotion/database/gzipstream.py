"""Reading a gzip backup chunk by chunk, counting exactly what was decompressed before a fault.

:mod:`gzip` reads ahead and raises before it hands over what it already decompressed, so a
cut file reported "after 0 bytes" while 37 kB came out. Driving :mod:`zlib` directly keeps every
byte counted, bounds each chunk (a highly compressible stream cannot blow up memory), and reads
every member of a multi-member file the way ``gunzip -c`` does (our backups start with a small
member holding the metadata line, followed by pg_dump's own gzip output).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20
_GZIP = 16 + zlib.MAX_WBITS


class GzipStreamError(Exception):
    """The stream cannot be read to its end; ``decompressed`` bytes came out before the fault."""

    def __init__(self, reason: str, decompressed: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.decompressed = decompressed


def gzip_chunks(
    path: Path, size: int = CHUNK, *, on_read: Callable[[int], None] | None = None
) -> Iterator[bytes]:
    """The decompressed bytes of ``path``, in chunks of at most ``size``; GzipStreamError at a fault.

    ``on_read`` hears how many compressed bytes have been read so far (for progress and ETA).
    OSError from opening or reading the file propagates as it is.
    """
    out_total = 0
    read_total = 0
    with path.open("rb") as handle:
        decoder = zlib.decompressobj(_GZIP)
        fed = False  # whether the current member has been given any bytes
        pending = b""
        while True:
            if not pending:
                pending = handle.read(size)
                if not pending:
                    break
                read_total += len(pending)
                if on_read is not None:
                    on_read(read_total)
            fed = True
            try:
                out = decoder.decompress(pending, size)
            except zlib.error as exc:
                raise GzipStreamError(str(exc), out_total) from None
            pending = decoder.unconsumed_tail
            if out:
                out_total += len(out)
                yield out
            if decoder.eof:
                pending = decoder.unused_data + pending
                if pending[:1] == b"\0":  # not a gzip header: zero padding (as gzip allows) or garbage
                    if _only_zeros(pending, handle, size):
                        break
                    raise GzipStreamError("it holds data after the end of its compressed stream", out_total)
                decoder = zlib.decompressobj(_GZIP)
                fed = False
        if fed and not decoder.eof:
            tail = decoder.flush()
            if tail:
                out_total += len(tail)
                yield tail
            raise GzipStreamError("it ends before the end of the compressed stream", out_total)


def _only_zeros(pending: bytes, handle: BinaryIO, size: int) -> bool:
    """Whether ``pending`` and the rest of ``handle`` are zero bytes; reads the rest either way."""
    zeros = not pending.strip(b"\0")
    while chunk := handle.read(size):
        zeros = zeros and not chunk.strip(b"\0")
    return zeros
