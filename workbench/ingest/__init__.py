"""Import hospital extracts (CSV tables, FHIR R4 bundles): contract-checked, de-identified, all-or-nothing."""

from workbench.ingest.job import ImportReport, PreparedImport, commit_import, import_paths, prepare_import

__all__ = ["ImportReport", "PreparedImport", "commit_import", "import_paths", "prepare_import"]
