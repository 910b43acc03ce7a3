"""Deterministic stand-in for a 12-megapixel phone photo (for the benchmark).

4032x3024 stored pixels, EXIF orientation 6 (a portrait shot: displayed
3024x4032), camera make/model and a GPS position, JPEG quality 90 with 4:2:0
chroma like a phone. The picture mixes smooth gradients, hard edges and
sensor-like noise so that entropy decoding costs about what a real photo's
does (a flat synthetic image would decode unrealistically fast). Built only
from Pillow primitives with fixed parameters; effect_noise is seeded by the
C library's rand(), so the bytes are stable across runs on one machine, and
the script prints a SHA-256 so runs can be compared.
"""

from __future__ import annotations

import hashlib
import io
import random

from PIL import Image, ImageDraw, ImageFilter

SIZE = (4032, 3024)


def phone_photo_jpeg() -> bytes:
    w, h = SIZE
    # Structure: a Mandelbrot field, coloured through three different curves.
    base = Image.effect_mandelbrot((w // 4, h // 4), (-2.2, -1.2, 1.0, 1.2), 64)
    base = base.resize(SIZE, Image.Resampling.BICUBIC)
    r = base
    g = base.point(lambda v: (v * 3) % 256)
    b = Image.linear_gradient("L").resize(SIZE).rotate(90)
    im = Image.merge("RGB", (r, g, b))
    # Hard edges: deterministic shapes.
    rng = random.Random(12)
    draw = ImageDraw.Draw(im)
    for _ in range(160):
        x, y = rng.randrange(w), rng.randrange(h)
        s = rng.randrange(20, 400)
        color = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if rng.random() < 0.5:
            draw.ellipse((x, y, x + s, y + s), fill=color)
        else:
            draw.rectangle((x, y, x + s, y + s // 2), outline=color, width=rng.randrange(1, 9))
    im = im.filter(ImageFilter.GaussianBlur(1.2))  # lens softness
    # Sensor noise: about what a phone leaves after its own denoising.
    noise = Image.effect_noise(SIZE, 40).convert("RGB")
    im = Image.blend(im, noise, 0.22)

    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "BenchPhone"
    exif[0x0110] = "BP-12"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "S", (23.0, 33.0, 1.5), "W", (46.0, 38.0, 2.5)
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90, subsampling=2, exif=exif)
    return out.getvalue()


if __name__ == "__main__":
    data = phone_photo_jpeg()
    print(len(data), hashlib.sha256(data).hexdigest())
