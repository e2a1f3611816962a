"""Files in the consultation (issue 20): upload, re-encoding, download, and the sweep of files
never sent."""
