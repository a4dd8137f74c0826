"""cpd-api: the lead provider API for teacher CPD (ECF and NPQ)."""
