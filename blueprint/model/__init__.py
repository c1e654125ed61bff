"""The organization file: typed models, loader, cross-field rules and the placement plan."""
