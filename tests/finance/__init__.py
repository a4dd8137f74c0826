"""Finance: calculations, imports, the internal finance API and the finance commands."""
