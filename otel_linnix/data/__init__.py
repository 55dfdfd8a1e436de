"""Files shipped inside the package (the embedded default pipeline)."""
