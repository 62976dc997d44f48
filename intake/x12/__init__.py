"""ASC X12 837P (005010X222A1) professional claims: a pure package, no Flask.

- ``claim``: the frozen dataclasses a caller fills (interchange settings,
  billing provider, claims with their lines)
- ``checks``: what stops a claim from being written, in a billing clerk's words
- ``writer``: the interchange (ISA/GS/ST ... SE/GE/IEA) from claims that passed
- ``validate``: pyx12, the independent HIPAA validator, and its 999
"""

from intake.x12.checks import Problem, claim_problems, interchange_problems
from intake.x12.claim import (Address, BillingProvider, Claim, InterchangeSettings, OtherPayer,
                              Payer, Person, RenderingProvider, ServiceLine)
from intake.x12.writer import write_837p

__all__ = [
    "Address", "BillingProvider", "Claim", "InterchangeSettings", "OtherPayer", "Payer",
    "Person", "Problem", "RenderingProvider", "ServiceLine", "claim_problems",
    "interchange_problems", "write_837p",
]
