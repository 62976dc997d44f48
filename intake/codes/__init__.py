"""Code tables: ICD-10-CM, HCPCS Level II, CPT, modifiers and place of service.

Pure Python (no Flask): load tables once per process, check codes against
the table in force on a date of service, search descriptions, import new
releases. ``intake.codes.cli`` holds the Flask CLI commands.
"""

from .engine import CheckResult, CodeEngine, CodeRef, SearchHit, Status, load_engine
from .importers import ImportFailed, import_cpt, import_hcpcs, import_icd10cm
from .systems import System, infer_systems, normalise
from .table import TableInfo

__all__ = [
    "CheckResult",
    "CodeEngine",
    "CodeRef",
    "ImportFailed",
    "SearchHit",
    "Status",
    "System",
    "TableInfo",
    "import_cpt",
    "import_hcpcs",
    "import_icd10cm",
    "infer_systems",
    "load_engine",
    "normalise",
]
