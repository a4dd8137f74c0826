"""Finance: contracts, statements and the payment calculations of ECF and NPQ statements.

* `ecf_calculation`, `npq_calculation`: pure calculators (typed inputs in, a breakdown out), in
  exact decimals, rounded only for display;
* `statements`: the service behind the internal finance API and the `cpd-api finance` commands
  (list, calculate, authorise payment);
* `imports`: statement schedules and contracts loaded from files or request bodies;
* `rendering`: a breakdown as plain data (JSON) or CSV.
"""
