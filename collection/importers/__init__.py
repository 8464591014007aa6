"""Importing a collection from CSV, JSON or IIIF manifests, and saving works edited through the API.

One job per module, in the order a row goes through them:

* :mod:`~collection.importers.reading` - files to numbered records, columns to fields
  (``COLUMN_ALIASES``, ``REQUIRED_FIELDS``; see docs/importing.md);
* :mod:`~collection.importers.preparing` - one record to checked values, without the database;
* :mod:`~collection.importers.applying` - one work created or updated under its row lock,
  with per-field provenance so a re-import keeps a curator's edits;
* :mod:`~collection.importers.runs` - a whole run: counts, problems per line, the ImportRun record.

The names below are the package's public surface: what the management command, the API's
services and the tests use. Anything else is reached through its module.
"""

from collection.importers.applying import AccessionTaken, Applied, apply, replace_credits
from collection.importers.preparing import Prepared, RowRejected, credits_from_text, prepare
from collection.importers.reading import COLUMN_ALIASES, REQUIRED_FIELDS, ImportFileError, Source, read_source
from collection.importers.runs import ImportResult, Progress, RowProblem, import_collection, import_records, iter_lines

__all__ = [
    "COLUMN_ALIASES",
    "REQUIRED_FIELDS",
    "AccessionTaken",
    "Applied",
    "ImportFileError",
    "ImportResult",
    "Prepared",
    "Progress",
    "RowProblem",
    "RowRejected",
    "Source",
    "apply",
    "credits_from_text",
    "import_collection",
    "import_records",
    "iter_lines",
    "prepare",
    "read_source",
    "replace_credits",
]
