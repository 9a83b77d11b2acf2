"""What the study means: verdicts per guideline (:mod:`~toolkit.findings.verdicts`) and the
budget planner (:mod:`~toolkit.findings.planner`)."""
