"""Turn files uploaded through the dashboard into paths the import reads (CSV folder or bundles)."""

from __future__ import annotations

import zipfile
from io import BytesIO
from pathlib import Path, PurePosixPath

MAX_UPLOAD_BYTES = 512 * 1024 * 1024


class UploadError(ValueError):
    """Uploaded files that are neither CSV tables, FHIR JSON, nor a zip of them."""


def stage_uploads(files: list[tuple[str, bytes]], folder: Path) -> list[Path]:
    """Write uploads to ``folder`` (zips unpacked, no paths outside it); return what to import."""
    csv_dir, fhir_dir = folder / "csv", folder / "fhir"
    total = 0
    for name, data in files:
        total += len(data)
        if total > MAX_UPLOAD_BYTES:
            raise UploadError("upload too large")
        members = _members(name, data)
        for member, content in members:
            target = csv_dir if member.endswith(".csv") else fhir_dir
            target.mkdir(parents=True, exist_ok=True)
            (target / PurePosixPath(member).name).write_bytes(content)
    paths = [p for p in (csv_dir, fhir_dir) if p.exists()]
    if not paths:
        raise UploadError("no CSV or JSON files in the upload")
    return paths


def _members(name: str, data: bytes) -> list[tuple[str, bytes]]:
    if name.endswith(".zip"):
        with zipfile.ZipFile(BytesIO(data)) as archive:
            return [
                (info.filename, archive.read(info))
                for info in archive.infolist()
                if not info.is_dir()
                and info.filename.endswith((".csv", ".json"))
                and not PurePosixPath(info.filename).name.startswith(".")
            ]
    if name.endswith((".csv", ".json")):
        return [(name, data)]
    raise UploadError("only .csv, .json and .zip files can be imported")
