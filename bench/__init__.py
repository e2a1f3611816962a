"""The comparison benchmark: the hub beside the peers people would pick instead (``make bench``)."""
