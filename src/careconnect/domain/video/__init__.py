"""Video visits: ICE servers with time-limited TURN credentials, and the call audit (docs/video.md)."""
