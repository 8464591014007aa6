"""Throughput of face detection (dlib) and object detection (torchvision/Detectron2) on the demo collection.

Usage:
    python bench/detect.py [--faces-limit N] [--objects-limit N] [--face-detector hog|cnn] [--upsample 1]
                           [--backend auto] [--weights PATH] [--threads 2]

Faces: every image goes through ``detect_faces`` (detection + landmarks +
128-d descriptor), as the face task does. Objects: the configured detector;
without real weights (as on an offline machine) the torchvision network is
built with random weights and the figures are labelled "random weights: timing
only" - the cost per image is the same, the detections are meaningless.
Model loading is timed separately because a worker pays it once.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from PIL import Image

from analysis.detection import DetectorUnavailable, load_detector
from analysis.faces import FaceConfig, FaceModel

DEMO = Path(__file__).resolve().parents[1] / "demo" / "aic-paintings"


def demo_paths(limit: int | None) -> list[Path]:
    with open(DEMO / "artworks.csv", newline="") as fh:
        paths = [DEMO / row["image"] for row in csv.DictReader(fh)]
    return paths[:limit] if limit else paths


def load_rgb(path: Path) -> Image.Image:
    with Image.open(path) as im:
        return im.convert("RGB")


def bench_faces(paths: list[Path], config: FaceConfig) -> None:
    model = FaceModel(config)
    t0 = time.perf_counter()
    model.detect(Image.new("RGB", (64, 64)))  # loads the models
    load_s = time.perf_counter() - t0
    images = [load_rgb(p) for p in paths]
    faces = with_face = 0
    t0 = time.perf_counter()
    for im in images:
        found = model.detect(im)
        faces += len(found)
        with_face += bool(found)
    took = time.perf_counter() - t0
    print(f"faces  [{model.version}] upsample={config.upsample} max_side={config.max_side}")
    print(f"  model load          {load_s:8.2f} s")
    print(f"  images              {len(images):8d}   ({with_face} with a face)")
    print(f"  faces found         {faces:8d}")
    print(f"  time per image      {1000 * took / len(images):8.1f} ms")
    print(f"  images/s            {len(images) / took:8.2f}")
    print(f"  faces/s             {faces / took:8.2f}")


def bench_objects(paths: list[Path], args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    try:
        detector = load_detector(args.backend, args.weights, allow_download=False, random_weights=False)
        note = ""
    except DetectorUnavailable as exc:
        print(f"objects: no real weights ({exc.reason})")
        detector = load_detector("torchvision", None, allow_download=False, random_weights=True)
        note = "   <- random weights: timing only"
    load_s = time.perf_counter() - t0
    images = [load_rgb(p) for p in paths]
    detector.detect(images[:1], args.score_threshold)  # first call allocates; not a steady-state cost
    t0 = time.perf_counter()
    results = detector.detect(images, args.score_threshold)
    took = time.perf_counter() - t0
    count = sum(len(r) for r in results)
    print(f"objects [{detector.version}] trusted={detector.trusted}{note}")
    print(f"  model load          {load_s:8.2f} s")
    print(f"  images              {len(images):8d}")
    print(f"  detections >= {args.score_threshold:<4}  {count:8d}{note}")
    print(f"  time per image      {1000 * took / len(images):8.1f} ms")
    print(f"  images/s            {len(images) / took:8.2f}{note}")
    print(f"  detections/s        {count / took:8.2f}{note}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--faces-limit", type=int, default=0, help="images for the face bench (0: all)")
    ap.add_argument("--objects-limit", type=int, default=20, help="images for the object bench (0: all)")
    ap.add_argument("--face-detector", choices=["hog", "cnn"], default="hog")
    ap.add_argument("--upsample", type=int, default=1)
    ap.add_argument("--max-side", type=int, default=1024)
    ap.add_argument("--backend", choices=["auto", "detectron2", "torchvision"], default="auto")
    ap.add_argument("--weights", default=None, help="detector weights file (state_dict or Detectron2 .pkl)")
    ap.add_argument("--score-threshold", type=float, default=0.5)
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    ap.add_argument("--skip-faces", action="store_true")
    ap.add_argument("--skip-objects", action="store_true")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    print(f"CPU bench, torch threads={torch.get_num_threads()}")
    if not args.skip_faces:
        config = FaceConfig(detector=args.face_detector, upsample=args.upsample, max_side=args.max_side)
        bench_faces(demo_paths(args.faces_limit or None), config)
    if not args.skip_objects:
        bench_objects(demo_paths(args.objects_limit or None), args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
