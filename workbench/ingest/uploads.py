"""Turn files uploaded through the dashboard into paths the import reads (CSV folder or bundles)."""

from __future__ import annotations

import zipfile
from io import BytesIO
from pathlib import Path, PurePosixPath

MAX_UPLOAD_BYTES = 512 * 1024 * 1024


class UploadError(ValueError):
    """Uploaded files that are neither CSV tables, FHIR JSON, nor a zip of them."""


def stage_uploads(files: list[tuple[str, bytes]], folder: Path) -> list[Path]:
    """Write uploads to ``folder`` (zips unpacked, no paths outside it); return what to import.

    Files are named in errors by their position in the upload only: extract file names (Synthea's,
    for one) carry patients' names. Two files that would land under the same name are refused
    rather than one silently replacing the other (two extracts' ``patients.csv`` in one zip).
    """
    csv_dir, fhir_dir = folder / "csv", folder / "fhir"
    total = 0
    written: set[Path] = set()
    for number, (name, data) in enumerate(files, start=1):
        members = _members(name, data, f"file {number} of {len(files)}")
        # Counted unpacked, so that a small zip cannot unpack into more than the limit.
        total += sum(len(content) for _, content in members) if name.endswith(".zip") else len(data)
        if total > MAX_UPLOAD_BYTES:
            raise UploadError(f"upload too large (more than {MAX_UPLOAD_BYTES // 2**20} MB unpacked)")
        for member, content in members:
            target = (csv_dir if member.endswith(".csv") else fhir_dir) / PurePosixPath(member).name
            if target in written:
                raise UploadError(
                    f"file {number} of {len(files)}: two uploaded files have the same name; "
                    "upload one extract at a time"
                )
            written.add(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    paths = [p for p in (csv_dir, fhir_dir) if p.exists()]
    if not paths:
        raise UploadError("no CSV or JSON files in the upload")
    return paths


def _members(name: str, data: bytes, where: str) -> list[tuple[str, bytes]]:
    if name.endswith(".zip"):
        try:
            with zipfile.ZipFile(BytesIO(data)) as archive:
                infos = [
                    info
                    for info in archive.infolist()
                    if not info.is_dir()
                    and info.filename.endswith((".csv", ".json"))
                    and not PurePosixPath(info.filename).name.startswith(".")
                ]
                # Declared sizes first: reading is bounded by them, so nothing larger is unpacked.
                if sum(info.file_size for info in infos) > MAX_UPLOAD_BYTES:
                    raise UploadError(
                        f"upload too large (more than {MAX_UPLOAD_BYTES // 2**20} MB unpacked)"
                    )
                return [(info.filename, archive.read(info)) for info in infos]
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, RuntimeError):
            # NotImplementedError: an unsupported compression method; EOFError: a truncated zip;
            # RuntimeError: an encrypted member. zipfile's own messages name the member.
            raise UploadError(f"{where} is not a readable zip archive (or is encrypted)") from None
    if name.endswith((".csv", ".json")):
        return [(name, data)]
    raise UploadError("only .csv, .json and .zip files can be imported")
