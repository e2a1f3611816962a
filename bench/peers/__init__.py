"""Minimal chat servers with the hub's semantics, one module per stack, run from bench/.venv-peers.

Every peer speaks the same small JSON protocol over one WebSocket (socket.io wraps the same
objects in its own events):

    -> {"type":"join","room":"r"}                         <- {"type":"joined","room":"r"}
    -> {"type":"send","room":"r","id":"m1","body":"…"}
    <- to every member of the room, the sender included:
       {"type":"message","room":"r","id":"m1","sender":"<member>","body":"…"}

The member name comes from the ``member`` query parameter. Nothing is stored.
"""
