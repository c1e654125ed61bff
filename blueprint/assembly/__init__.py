"""Everything that reads a synthesized cloud assembly: one reader, and lint, audit, cost and
the replacement guard on top of it."""
