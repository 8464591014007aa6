"""Build the small built-in demo collection from a full-size AIC export.

One-off maintenance tool, never imported at run time.  It exists so the demo
set committed to the repo can be regenerated and audited: the full-size
images are far too big for git, while ~512 px is enough for thumbnails,
colour analysis and image embeddings.

Usage::

    python demo/make_demo.py /path/to/aic-paintings [--dest demo/aic-paintings]

The source folder must hold ``artworks.csv`` (columns ``object_id, title,
artist, date, medium, image, iiif_image, rights``) and the images it points to.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

from PIL import Image, ImageCms, ImageOps

LONGEST_SIDE = 512
JPEG_QUALITY = 82
SIZE_BUDGET_BYTES = 20 * 1024 * 1024
SOURCE_URL = "https://www.artic.edu/artworks/{object_id}"
SOURCE_COLUMNS = ["object_id", "title", "artist", "date", "medium", "image", "iiif_image", "rights"]
OUTPUT_COLUMNS = SOURCE_COLUMNS + ["source_url", "classification"]

_SRGB = ImageCms.createProfile("sRGB")


def shrink(source: Path, target: Path) -> None:
    """Write a small, metadata-free sRGB JPEG.

    EXIF orientation is applied first because the tag is dropped with the rest of
    the metadata; embedded colour profiles are converted to sRGB rather than just
    discarded so that colours (and any colour analysis run on the demo) stay true.
    Metadata is stripped because it is bulk, and may carry details we do not
    want to redistribute.
    """
    with Image.open(source) as opened:
        image = ImageOps.exif_transpose(opened)
        icc = image.info.get("icc_profile")
        if icc:
            try:
                image = ImageCms.profileToProfile(
                    image,
                    ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                    _SRGB,
                    outputMode="RGB",
                )
            except (ImageCms.PyCMSError, OSError, ValueError):
                pass  # a broken profile: fall back to a plain conversion
        if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            image = Image.new("RGB", rgba.size, "white")
            image.paste(rgba, mask=rgba.getchannel("A"))
        image = image.convert("RGB")
        image.thumbnail((LONGEST_SIDE, LONGEST_SIDE), Image.LANCZOS)
        target.parent.mkdir(parents=True, exist_ok=True)
        # No exif=/icc_profile= arguments: Pillow then writes no metadata at all.
        image.save(target, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)


def build(source_dir: Path, dest_dir: Path) -> int:
    """Copy the collection, returning the total bytes written so callers can check the budget."""
    with (source_dir / "artworks.csv").open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in SOURCE_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise SystemExit(f"artworks.csv lacks columns: {', '.join(missing)}")
        rows = list(reader)

    dest_dir.mkdir(parents=True, exist_ok=True)
    out_rows = []
    for row in rows:
        object_id = row["object_id"].strip()
        source_image = source_dir / row["image"]
        if not source_image.is_file():
            print(f"skipping {object_id}: no image at {source_image}", file=sys.stderr)
            continue
        relative = f"images/{object_id}.jpg"
        shrink(source_image, dest_dir / relative)
        out_row = {column: row[column] for column in SOURCE_COLUMNS}
        out_row["image"] = relative
        out_row["source_url"] = SOURCE_URL.format(object_id=object_id)
        out_row["classification"] = "painting"
        out_rows.append(out_row)

    with (dest_dir / "artworks.csv").open("w", newline="", encoding="utf-8") as handle:
        # "\n" rather than csv's default "\r\n": the file lives in git and diffs cleanly.
        writer = csv.DictWriter(handle, fieldnames=OUTPUT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(out_rows)

    total = sum(path.stat().st_size for path in dest_dir.rglob("*") if path.is_file())
    print(f"{len(out_rows)} artworks, {total / 1024 / 1024:.1f} MiB in {dest_dir}")
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder holding artworks.csv and images/")
    parser.add_argument(
        "--dest",
        type=Path,
        default=Path(__file__).resolve().parent / "aic-paintings",
        help="output folder (default: demo/aic-paintings next to this script)",
    )
    args = parser.parse_args(argv)
    if args.source.resolve() == args.dest.resolve():
        parser.error("source and destination are the same folder")
    total = build(args.source, args.dest)
    if total > SIZE_BUDGET_BYTES:
        print(f"demo set is over the {SIZE_BUDGET_BYTES // 1024 // 1024} MiB budget", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
