"""Operations: whether this worker is ready to serve (its database, and Redis when configured)."""
