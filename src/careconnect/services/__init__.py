"""Business rules as plain async functions beside the tables, tested without HTTP."""
