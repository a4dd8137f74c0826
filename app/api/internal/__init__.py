"""The internal API (`/api/internal/...`): DfE's operators, schools and the NPQ registration service."""
