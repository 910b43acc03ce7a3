"""Benchmark of the photo processor's image work (figures only; never fails).

    .venv/bin/python bench/processor_bench.py [--runs 7] [--rounds 3] [--memory-mb 1024]

Times lambda_src/imaging.process() on a 12-megapixel phone JPEG (4032x3024,
EXIF orientation 6, generated deterministically by processor_sample.py)
against two baselines measured in the same run, each making the same
renditions (photo_contract.RENDITIONS: large 1600, medium 800, thumb_hd 640x640
and thumb 256x256 centre crops) as JPEG q82:

* naive Pillow: a full decode per rendition, exif_transpose, LANCZOS resize;
* libvips: pyvips.Image.thumbnail_buffer per rendition (shrink-on-load), with
  its default thread pool and with VIPS_CONCURRENCY=1 (Lambda at 1024 MB gets
  ~0.6 vCPU, so the single-threaded figure is the fairer one; the goal is
  checked against the faster of the two).

Every variant runs in a fresh subprocess (so its peak RSS is its own), in
interleaved rounds; the figure is the median over all timed runs. Also
printed: the cold-start import time of the handler module, encoder options
for the large rendition (why JPEG, why optimize=True), and the Lambda cost
per 1,000 photos at the configured memory size.

Then the same picture as a 12 MP HEIC (HEVC, 512-px grid tiles and irot
rotation, as an iPhone writes it; pillow-heif) and a 12 MP AVIF (Pillow),
processor against naive Pillow on each, in the same run. Also the layer's
size before/after pillow-heif and the cost of the first HEIF (pillow-heif's
lazy import).

Goals (issue): <= 0.5x naive, <= 1.3x libvips, peak RSS <= 300 MB.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAMBDA_SRC = ROOT / "lambda_src"
BENCH = Path(__file__).resolve().parent

# AWS Lambda price, us-east-1, arm64, as published on aws.amazon.com/lambda/pricing
# (checked 2026-11): first 6 billion GB-s/month tier, and requests.
PRICE_GB_S_ARM64 = 0.0000133334
PRICE_PER_REQUEST = 0.20 / 1_000_000
PRICE_DATE = "2026-11 (us-east-1, arm64, first pricing tier)"

GOAL_VS_NAIVE = 0.5
GOAL_VS_VIPS = 1.3
GOAL_RSS_MB = 300

QUALITY = 82
sys.path.insert(0, str(LAMBDA_SRC))
from photo_contract import RENDITIONS  # noqa: E402  (one definition, shared with the processor)

NAMES = tuple(r.name for r in RENDITIONS)


# ------------------------------------------------------------------ variants
# Each returns {name: (width, height, bytes)} for the three renditions.

def run_processor(data: bytes) -> dict:
    import imaging

    result = imaging.process(data)
    return {r.name: (r.width, r.height, len(r.data)) for r in result.renditions}


def run_naive(data: bytes) -> dict:
    import pillow_heif
    from PIL import Image, ImageOps

    pillow_heif.register_heif_opener()

    def fit(w, h, box):
        s = min(1.0, box / max(w, h))
        return max(1, round(w * s)), max(1, round(h * s))

    out = {}
    for spec in RENDITIONS:
        name, box = spec.name, spec.box
        im = Image.open(io.BytesIO(data))
        im = ImageOps.exif_transpose(im).convert("RGB")  # full decode, every time
        if spec.square:
            side = min(box, *im.size)
            im = ImageOps.fit(im, (side, side), Image.Resampling.LANCZOS)
        else:
            im = im.resize(fit(*im.size, box), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=QUALITY, optimize=True)
        out[name] = (im.width, im.height, buf.tell())
    return out


def run_vips(data: bytes) -> dict:
    import pyvips

    out = {}
    for spec in RENDITIONS:
        name, box, crop = spec.name, spec.box, "centre" if spec.square else "none"
        im = pyvips.Image.thumbnail_buffer(data, box, height=box, size="down", crop=crop)
        buf = im.write_to_buffer(".jpg", Q=QUALITY, keep="none", optimize_coding=True)
        out[name] = (im.width, im.height, len(buf))
    return out


VARIANTS = {
    "processor": run_processor,
    "naive Pillow": run_naive,
    "libvips": run_vips,
    "libvips 1 thread": run_vips,
}


def _proc_status_mb(field: str) -> float:
    """VmHWM (peak RSS) / VmRSS of this process, from /proc. Unlike
    ru_maxrss, VmHWM starts afresh at exec, so the parent's peak (it has
    just generated a 12 MP image) does not leak into the child's figure."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # non-Linux fallback


def worker(variant: str, path: str, runs: int) -> None:
    """In a fresh process: import, warm up, time `runs` runs, report peak RSS."""
    sys.path.insert(0, str(LAMBDA_SRC))
    data = Path(path).read_bytes()
    fn = VARIANTS[variant]
    outputs = fn(data)  # warm-up (also imports the libraries)
    rss_ready = _proc_status_mb("VmRSS")
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn(data)
        times.append((time.perf_counter() - t) * 1000)
    peak = _proc_status_mb("VmHWM")
    print(json.dumps({"times": times, "peak_rss_mb": peak, "rss_after_warmup_mb": rss_ready,
                      "outputs": outputs}))


def spawn(variant: str, path: str, runs: int) -> dict:
    env = dict(os.environ)
    if variant == "libvips 1 thread":
        env["VIPS_CONCURRENCY"] = "1"
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", variant, "--input", path, "--runs", str(runs)],
        capture_output=True, text=True, env=env, check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ extras

def import_times(repeats: int = 5, src: Path = LAMBDA_SRC) -> dict:
    """Cold import of the handler (boto3 + Pillow + ours) and of imaging alone."""
    out = {}
    for module in ("handler", "imaging"):
        code = (
            f"import sys, time; sys.path.insert(0, {str(src)!r}); "
            f"t = time.perf_counter(); import {module}; "
            "print((time.perf_counter() - t) * 1000)"
        )
        samples = [
            float(subprocess.run([sys.executable, "-I", "-c", code], capture_output=True,
                                 text=True, check=True).stdout)
            for _ in range(repeats)
        ]
        out[module] = statistics.median(samples)
    return out


def import_times_against(ref: str, repeats: int = 9) -> tuple[dict, dict]:
    """(baseline, current) cold imports, interleaved; the baseline is
    lambda_src/ as of git `ref` (e.g. the commit before a change)."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "lambda_src"],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        old = Path(tmp) / "lambda_src"
        rounds = [(import_times(1, old), import_times(1)) for _ in range(repeats)]
    med = lambda side, m: statistics.median(r[side][m] for r in rounds)  # noqa: E731
    return ({m: med(0, m) for m in ("handler", "imaging")}, {m: med(1, m) for m in ("handler", "imaging")})


def encoder_options(data: bytes, runs: int = 5) -> list[tuple[str, float, int]]:
    """Large rendition (the real one, before encoding) under several encoders."""
    from PIL import Image

    large = Image.open(io.BytesIO(run_large_bytes(data)))
    large.load()
    options = [
        ("JPEG q82 baseline", "JPEG", {"quality": 82}),
        ("JPEG q82 optimize (chosen)", "JPEG", {"quality": 82, "optimize": True}),
        ("JPEG q82 progressive", "JPEG", {"quality": 82, "progressive": True}),
        ("WebP q80 method 4", "WEBP", {"quality": 80, "method": 4}),
        ("WebP q80 method 0", "WEBP", {"quality": 80, "method": 0}),
    ]
    rows = []
    for label, fmt, kwargs in options:
        times, size = [], 0
        for _ in range(runs):
            buf = io.BytesIO()
            t = time.perf_counter()
            large.save(buf, fmt, **kwargs)
            times.append((time.perf_counter() - t) * 1000)
            size = buf.tell()
        rows.append((label, statistics.median(times), size))
    return rows


def run_large_bytes(data: bytes) -> bytes:
    sys.path.insert(0, str(LAMBDA_SRC))
    import imaging

    return next(r.data for r in imaging.process(data).renditions if r.name == "large")


def phone_samples(jpeg: bytes) -> dict[str, bytes]:
    """The benchmark photo as a phone's HEIC and AVIF: same stored pixels and
    orientation (6, written as the container's irot), quality ~ a phone's."""
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    im = Image.open(io.BytesIO(jpeg))
    im.load()
    exif = im.getexif()
    out = {}
    pillow_heif.options.GRID_TILE_SIZE = 512  # tiled like an iPhone
    buf = io.BytesIO()
    im.save(buf, "HEIF", quality=80, exif=exif.tobytes())
    out["HEIC"] = buf.getvalue()
    buf = io.BytesIO()
    im.save(buf, "AVIF", quality=75, speed=8, exif=exif.tobytes())
    out["AVIF"] = buf.getvalue()
    return out


def phone_formats(jpeg: bytes, args) -> None:
    samples = phone_samples(jpeg)
    rows = {"JPEG": jpeg, **samples}
    print("phone formats, 12 MP (4032x3024, orientation 6), processor vs naive Pillow in this run:")
    print(f"{'format':<8}{'MB':>6}{'processor ms':>14}{'naive ms':>10}{'ratio':>7}{'peak RSS MB':>13}")
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, blob in rows.items():
            path = os.path.join(tmp, f"phone.{fmt.lower()}")
            Path(path).write_bytes(blob)
            times = {"processor": [], "naive Pillow": []}
            peak = 0.0
            for _ in range(args.rounds):
                for variant in times:
                    r = spawn(variant, path, max(2, args.runs // 2))
                    times[variant] += r["times"]
                    if variant == "processor":
                        peak = max(peak, r["peak_rss_mb"])
            mp, mn = statistics.median(times["processor"]), statistics.median(times["naive Pillow"])
            print(f"{fmt:<8}{len(blob) / 1e6:>6.2f}{mp:>14.0f}{mn:>10.0f}{mp / mn:>7.2f}{peak:>13.0f}")
    first = first_heif_ms(samples["HEIC"])
    print(f"first HEIC in a fresh process (pillow-heif's lazy import + libheif load): "
          f"+{first:.0f} ms over a warm one\n")


def first_heif_ms(heic: bytes, repeats: int = 3) -> float:
    """Cold (first HEIC in a process, includes importing pillow-heif) minus warm."""
    with tempfile.NamedTemporaryFile(suffix=".heic") as f:
        f.write(heic)
        f.flush()
        code = (
            f"import sys, time; sys.path.insert(0, {str(LAMBDA_SRC)!r}); import imaging; "
            f"d = open({f.name!r}, 'rb').read(); t = time.perf_counter(); imaging.process(d); "
            "a = time.perf_counter() - t; t = time.perf_counter(); imaging.process(d); "
            "print((a - (time.perf_counter() - t)) * 1000)"
        )
        samples = [float(subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True,
                                        check=True).stdout) for _ in range(repeats)]
    return statistics.median(samples)


# ------------------------------------------------------------------ main

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7, help="timed runs per round and variant")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (fresh processes)")
    ap.add_argument("--memory-mb", type=int, default=1024, help="Lambda memory size for the cost")
    ap.add_argument("--import-baseline", metavar="GIT_REF",
                    help="also time the cold import of lambda_src/ at this git ref, interleaved")
    ap.add_argument("--worker")
    ap.add_argument("--input")
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.input, args.runs)
        return 0

    sys.path.insert(0, str(BENCH))
    import platform

    import PIL
    import pyvips
    from processor_sample import phone_photo_jpeg

    data = phone_photo_jpeg()
    import hashlib

    print(f"sample: 4032x3024 JPEG q90, EXIF orientation 6, {len(data) / 1e6:.2f} MB, "
          f"sha256 {hashlib.sha256(data).hexdigest()[:16]}")
    print(f"host: {platform.machine()} {platform.processor() or ''} x{os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, Pillow {PIL.__version__}, "
          f"libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}")
    print("note: Lambda runs arm64 (Graviton) with ~0.6 vCPU at 1024 MB; these are x86 "
          "figures, compare the ratios, not the absolute times.\n")

    results: dict[str, dict] = {v: {"times": [], "peak": 0.0, "ready": 0.0} for v in VARIANTS}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "phone.jpg")
        Path(path).write_bytes(data)
        for _ in range(args.rounds):
            for variant in VARIANTS:
                r = spawn(variant, path, args.runs)
                agg = results[variant]
                agg["times"] += r["times"]
                agg["peak"] = max(agg["peak"], r["peak_rss_mb"])
                agg["ready"] = max(agg["ready"], r["rss_after_warmup_mb"])
                agg["outputs"] = r["outputs"]

    med = {v: statistics.median(r["times"]) for v, r in results.items()}
    n = args.runs * args.rounds
    print(f"{'variant':<18}{'median ms':>10}{'min ms':>9}{'peak RSS MB':>13}{'idle RSS':>10}"
          + "".join(f"{k:>15}" for k in NAMES))
    for v, r in results.items():
        o = r["outputs"]
        cells = "".join(f"{f'{o[k][0]}x{o[k][1]}/{o[k][2] // 1024}K':>15}"
                        for k in NAMES)
        print(f"{v:<18}{med[v]:>10.1f}{min(r['times']):>9.1f}{r['peak']:>13.0f}"
              f"{r['ready']:>10.0f} {cells}")
    print(f"(median of {n} runs per variant, {args.rounds} fresh processes each; peak RSS "
          f"= VmHWM, includes the interpreter and libraries; idle RSS = VmRSS between runs)\n")

    vips_best = min(med["libvips"], med["libvips 1 thread"])
    vs_naive = med["processor"] / med["naive Pillow"]
    vs_vips = med["processor"] / vips_best
    peak = results["processor"]["peak"]

    def verdict(ok):
        return "OK" if ok else "MISSED"

    print(f"processor / naive Pillow   = {vs_naive:.2f}x   goal <= {GOAL_VS_NAIVE}x   "
          f"{verdict(vs_naive <= GOAL_VS_NAIVE)}")
    print(f"processor / libvips (best) = {vs_vips:.2f}x   goal <= {GOAL_VS_VIPS}x   "
          f"{verdict(vs_vips <= GOAL_VS_VIPS)}")
    print(f"processor peak RSS         = {peak:.0f} MB   goal <= {GOAL_RSS_MB} MB   "
          f"{verdict(peak <= GOAL_RSS_MB)}\n")

    phone_formats(data, args)

    imports = import_times()
    print(f"cold-start import: handler {imports['handler']:.0f} ms "
          f"(boto3 + Pillow + ours), imaging alone {imports['imaging']:.0f} ms "
          f"(median of 5 fresh `python -I` processes)\n")
    if args.import_baseline:
        old, new = import_times_against(args.import_baseline)
        print(f"cold-start import vs {args.import_baseline} (median of 9 interleaved pairs): handler "
              f"{old['handler']:.0f} -> {new['handler']:.0f} ms, imaging {old['imaging']:.0f} -> "
              f"{new['imaging']:.0f} ms\n")

    print("encoder options for the large rendition (1200x1600):")
    for label, ms, size in encoder_options(data):
        print(f"  {label:<28}{ms:>7.1f} ms {size / 1024:>8.0f} KiB")
    print()

    gb = args.memory_mb / 1024
    seconds = med["processor"] / 1000
    per_1000 = 1000 * (seconds * gb * PRICE_GB_S_ARM64 + PRICE_PER_REQUEST)
    print(f"cost per 1,000 photos at {args.memory_mb} MB arm64: ${per_1000:.5f} "
          f"(image work {med['processor']:.0f} ms x {gb:g} GB x ${PRICE_GB_S_ARM64}/GB-s "
          f"+ $0.20 per 1M requests; prices {PRICE_DATE})")
    with_io = 1000 * ((seconds + 0.15) * gb * PRICE_GB_S_ARM64 + PRICE_PER_REQUEST)
    print(f"  with ~150 ms of S3 HEAD/GET/4 PUTs added: ${with_io:.5f}; "
          f"x2 for a slower arm64 share: ${2 * with_io:.5f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
