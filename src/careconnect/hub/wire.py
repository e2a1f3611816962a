"""Ready-made WebSocket frames written straight to uvicorn's transport.

A server's frames are not masked, so a message's frame is the same bytes for every member of
a room: ``encoding.frame_bytes`` makes it once and ``DirectWriter`` writes it to each member's transport.
Through the ASGI ``send`` each member would cost a coroutine, a text encode and a frame built
and serialised again (docs/benchmarks.md, the broadcast profile).

``direct_writer(send)`` returns a writer only for uvicorn's sans-I/O WebSocket protocol (as
``careconnect serve`` runs it) once the handshake is done with no extension negotiated
(per-message deflate would change the bytes). The writer declines, and the caller takes the
ASGI ``send``, whenever that send would not write at once: the transport paused by
backpressure, the close frame sent, the peer gone. Any other server, or a uvicorn whose
protocol lacks what is checked here, simply always takes the ASGI ``send``.
"""

from __future__ import annotations

from typing import Any

__all__ = ("DirectWriter", "direct_writer")


class DirectWriter:
    """Writes a complete frame to one uvicorn socket's transport when it would not wait."""

    __slots__ = ("_conn", "_open", "_protocol", "_transport", "_writable")

    def __init__(self, protocol: Any, open_state: Any) -> None:
        self._protocol = protocol
        self._conn = protocol.conn
        self._transport = protocol.transport
        self._writable = protocol.writable
        self._open = open_state

    def __call__(self, data: bytes) -> bool:
        """Write ``data``; False (nothing written) when the ASGI ``send`` must handle this frame."""
        protocol = self._protocol
        if (
            protocol.close_sent
            or protocol.disconnected
            or not self._writable.is_set()
            or self._conn.state is not self._open
            or self._transport.is_closing()
        ):
            return False
        self._transport.write(data)
        return True


def direct_writer(send: Any) -> DirectWriter | None:
    """A ``DirectWriter`` for an accepted socket whose ASGI ``send`` is uvicorn's sans-I/O one, else None."""
    try:
        from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
        from websockets.protocol import State
    except ImportError:
        return None
    protocol = getattr(send, "__self__", None)
    if not isinstance(protocol, WebSocketsSansIOProtocol) or getattr(send, "__func__", None) is not (
        WebSocketsSansIOProtocol.send
    ):
        return None
    try:
        ready = (
            protocol.handshake_complete
            and protocol.initial_response is None
            and not protocol.conn.extensions
            and protocol.close_sent is False
            and protocol.disconnected is False
            and callable(protocol.writable.is_set)
            and callable(protocol.transport.write)
            and callable(protocol.transport.is_closing)
        )
    except AttributeError:  # another uvicorn release: the ASGI send it is
        return None
    return DirectWriter(protocol, State.OPEN) if ready else None
