"""Reading IIIF Presentation manifests (v2 and v3) into import records.

Museums publish manifests in both versions and with free-form metadata, so
this reads the few things the platform needs (label, metadata pairs, rights,
the first canvas's image) and says plainly what is missing instead of guessing.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

V2_CONTEXT = "http://iiif.io/api/presentation/2/context.json"
V3_CONTEXT = "http://iiif.io/api/presentation/3/context.json"

# Metadata labels (lower-cased) that map onto import fields.
_METADATA_FIELDS = {
    "artist": "artist",
    "creator": "artist",
    "maker": "artist",
    "artist / maker": "artist",
    "date": "date",
    "dated": "date",
    "date made": "date",
    "medium": "medium",
    "materials": "medium",
    "medium and support": "medium",
    "dimensions": "dimensions",
    "measurements": "dimensions",
    "credit line": "credit_line",
    "credit": "credit_line",
    "accession number": "accession_number",
    "object number": "accession_number",
    "reference number": "accession_number",
    "inventory number": "accession_number",
    "identifier": "accession_number",
    "classification": "classification",
    "object type": "classification",
    "type": "classification",
    "style": "styles",
    "keywords": "motifs",
    "subject": "motifs",
}


class ManifestError(ValueError):
    """The document is not a IIIF manifest this importer can read; the message says why."""


def is_manifest(doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    context = doc.get("@context")
    contexts = context if isinstance(context, list) else [context]
    kind = doc.get("@type") or doc.get("type")
    return any(isinstance(c, str) and "iiif.io/api/presentation" in c for c in contexts) or kind in (
        "sc:Manifest",
        "Manifest",
    )


def _text(value: Any) -> str:
    """IIIF strings come as plain strings, v2 language objects or v3 language maps."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        tagged = [v for v in value if isinstance(v, dict) and v.get("@language")]
        if tagged and len(tagged) == len(value):
            # v2 gives one value per language: take one language (English if present), not all joined.
            languages = [v["@language"] for v in tagged]
            wanted = next((lang for lang in languages if str(lang).lower().startswith("en")), languages[0])
            value = [v for v in tagged if v["@language"] == wanted]
        parts = [_text(v) for v in value]
        return "; ".join(p for p in parts if p)
    if isinstance(value, dict):
        if "@value" in value:
            return _text(value["@value"])
        for lang in ("en", "none", "@none"):
            if lang in value:
                return _text(value[lang])
        for v in value.values():
            return _text(v)
        return ""  # an empty language map has no text (not "{}")
    return str(value).strip()


def _first(items: Any, what: str) -> dict:
    if not isinstance(items, list) or not items or not isinstance(items[0], dict):
        raise ManifestError(f"the manifest has no {what}")
    return items[0]


def _image_v2(doc: dict) -> str:
    sequence = _first(doc.get("sequences"), "sequences")
    canvas = _first(sequence.get("canvases"), "canvases")
    annotation = _first(canvas.get("images"), "images on its first canvas")
    resource = annotation.get("resource")
    if not isinstance(resource, dict):
        raise ManifestError("the first canvas's image has no resource")
    return _image_url(resource, resource.get("@id"))


def _image_v3(doc: dict) -> str:
    canvas = _first(doc.get("items"), "canvases (items)")
    page = _first(canvas.get("items"), "annotation page on its first canvas")
    annotation = _first(page.get("items"), "painting annotation on its first canvas")
    body = annotation.get("body")
    if isinstance(body, list):
        body = _first(body, "annotation body")
    if not isinstance(body, dict):
        raise ManifestError("the first canvas's annotation has no body")
    return _image_url(body, body.get("id"))


def _image_url(resource: dict, direct: Any) -> str:
    service = resource.get("service")
    if isinstance(service, list):
        service = service[0] if service else None
    if isinstance(service, dict):
        base = service.get("@id") or service.get("id")
        if isinstance(base, str) and base:
            # Ask the image server for a bounded size rather than a possibly huge original.
            return _image_api_url(base, "full/!3000,3000/0/default.jpg")
    if isinstance(direct, str) and direct:
        return direct
    raise ManifestError("the first canvas's image has no URL")


def _image_api_url(service_id: str, request: str) -> str:
    """Appends an Image API request to a service id that can only name a service, nothing else.

    A query or fragment in the id would swallow the appended request (``.../secret#`` fetches
    ``/secret``), and dot segments would climb out of the service, so such ids are refused; the path
    is re-quoted so spaces and other unsafe characters cannot change what is asked for.
    """
    parts = urlsplit(service_id)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ManifestError(f"the image service id {service_id!r} is not an http(s) URL")
    if "?" in service_id or "#" in service_id:
        raise ManifestError(f"the image service id {service_id!r} has a query or fragment; a service id is a plain URL")
    segments = parts.path.rstrip("/").split("/")
    if any(unquote(segment) in (".", "..") for segment in segments):
        raise ManifestError(f"the image service id {service_id!r} has '.' or '..' path segments")
    path = "/".join(quote(unquote(segment), safe="!$&'()*+,;=:@") for segment in segments)
    return urlunsplit((parts.scheme, parts.netloc, f"{path}/{request}", "", ""))


def read_manifest(doc: Any, *, source: str = "") -> dict[str, Any]:
    """Returns an import record (the same keys as a CSV row after column mapping)."""
    if not is_manifest(doc):
        raise ManifestError("not a IIIF Presentation manifest (no IIIF context or Manifest type)")
    context = doc.get("@context")
    contexts = context if isinstance(context, list) else [context]
    version = 3 if V3_CONTEXT in contexts or doc.get("type") == "Manifest" else 2
    manifest_id = doc.get("id") if version == 3 else doc.get("@id")
    record: dict[str, Any] = {"title": _text(doc.get("label"))}
    metadata = doc.get("metadata") or []
    if not isinstance(metadata, list):
        raise ManifestError("metadata is not a list")
    for pair in metadata:
        if not isinstance(pair, dict):
            continue
        field = _METADATA_FIELDS.get(_text(pair.get("label")).lower().rstrip(":"))
        if field and field not in record:
            record[field] = _text(pair.get("value"))
    if version == 3:
        record.setdefault("rights", _text(doc.get("rights")))
        statement = doc.get("requiredStatement")
        if isinstance(statement, dict):
            record.setdefault("credit_line", _text(statement.get("value")))
        homepage = doc.get("homepage")
        if isinstance(homepage, list) and homepage and isinstance(homepage[0], dict):
            record["source_url"] = homepage[0].get("id", "")
        record["image"] = _image_v3(doc)
    else:
        record.setdefault("rights", _text(doc.get("license")))
        record.setdefault("credit_line", _text(doc.get("attribution")))
        related = doc.get("related")
        if isinstance(related, str):
            record["source_url"] = related
        elif isinstance(related, dict):
            record["source_url"] = related.get("@id", "")
        record["image"] = _image_v2(doc)
    if isinstance(manifest_id, str) and manifest_id.startswith(("http://", "https://")):
        record["iiif_manifest_url"] = manifest_id
    if not record.get("accession_number"):
        ident = manifest_id or source
        if not ident:
            raise ManifestError("the manifest has no accession number in its metadata and no id")
        # A stable accession from the manifest id, so re-importing updates the same work.
        record["accession_number"] = "iiif-" + hashlib.sha1(str(ident).encode()).hexdigest()[:16]
    if not record["title"]:
        raise ManifestError("the manifest has no label (title)")
    return record
