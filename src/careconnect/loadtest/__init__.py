"""``careconnect loadtest``: drives rooms through the public API and hub, then checks delivery."""
