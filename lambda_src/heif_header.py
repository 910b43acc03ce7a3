"""Read what a HEIF/HEIC or AVIF file declares, without any codec library.

Both are ISO base media files (ISO/IEC 14496-12, HEIF = ISO/IEC 23008-12):
a list of boxes ``[size:u32][type:4cc][payload]``. The image sizes live in
``meta/iprp/ipco/ispe`` properties, tied to items by ``meta/iprp/ipma``; the
primary item is named by ``meta/pitm``; the codec by its configuration
property (``hvcC`` for HEVC, ``av1C`` for AV1). Image sequences also carry
track sizes in ``moov/trak/tkhd``.

libheif and libavif allocate on open, so the processor checks these sizes
against its pixel limit first (a "bomb" is refused before either library
sees the file). The parser is defensive: it reads only the boxes it needs,
bounds the number of boxes it visits, and never trusts a size field beyond
the data it has.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

# ftyp brands (ISO/IEC 23008-12 Annex B, AV1 image file format).
HEVC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
AV1_BRANDS = frozenset({b"avif", b"avis"})
GENERIC_BRANDS = frozenset({b"mif1", b"msf1", b"mif2", b"miaf"})
_CONTAINERS_IN_META = (b"iprp", b"ipco")
_MAX_BOXES = 4096

# Codec configuration property -> the Pillow plugin that decodes it.
_CODECS = {b"hvcC": "HEIF", b"av1C": "AVIF"}
# Configuration properties of HEIF codecs neither plugin decodes here.
_OTHER_CODECS = {b"jpgC": "JPEG", b"vvcC": "VVC", b"j2kH": "JPEG 2000", b"uncC": "uncompressed",
                 b"avcC": "AVC", b"evcC": "EVC"}


class HeaderError(ValueError):
    """The container is damaged (cut short, sizes that do not add up)."""


@dataclass
class Declared:
    """What the container says, before decoding."""

    brands: set[bytes]
    plugin: str | None  # "HEIF" or "AVIF" (what Pillow should open it with), None if unknown
    codec: str | None  # a codec we do not decode, for the message
    primary_size: tuple[int, int] | None
    sizes: list[tuple[int, int]] = field(default_factory=list)  # every ispe / tkhd size

    @property
    def largest_pixels(self) -> int:
        return max((w * h for w, h in self.sizes), default=0)


def ftyp_brands(data: bytes) -> set[bytes] | None:
    """The major and compatible brands if the file starts with an ftyp box."""
    if len(data) < 16 or data[4:8] != b"ftyp":
        return None
    size = struct.unpack(">I", data[:4])[0]
    if size < 16 or size > min(len(data), 4096):
        return {data[8:12]}  # damaged ftyp: the major brand is still telling
    brands = {data[8:12]}
    brands.update(data[i:i + 4] for i in range(16, size - 3, 4))
    return brands


def is_isobmff_image(data: bytes) -> bool:
    brands = ftyp_brands(data)
    return bool(brands and brands & (HEVC_BRANDS | AV1_BRANDS | GENERIC_BRANDS))


def _boxes(data: bytes, start: int, end: int, budget: list[int]):
    """Yield (type, payload_start, payload_end) for the boxes in data[start:end]."""
    pos = start
    while pos + 8 <= end:
        budget[0] -= 1
        if budget[0] < 0:
            raise HeaderError("too many boxes")
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        header = 8
        if size == 1:
            if pos + 16 > end:
                raise HeaderError("box cut short")
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            # mdat may legitimately run past a truncated read; nothing else may
            if kind == b"mdat":
                return
            raise HeaderError(f"box {kind!r} runs past its parent")
        yield kind, pos + header, pos + size
        pos += size


def _u(data: bytes, pos: int, n: int) -> int:
    if pos + n > len(data):
        raise HeaderError("field cut short")
    return int.from_bytes(data[pos:pos + n], "big")


def read(data: bytes) -> Declared:
    """Parse the container. Raises HeaderError if it is damaged."""
    brands = ftyp_brands(data) or set()
    budget = [_MAX_BOXES]
    properties: list[tuple[bytes, int, int]] = []  # ipco children, 1-based in ipma
    associations: dict[int, list[int]] = {}
    primary = None
    track_sizes: list[tuple[int, int]] = []
    saw_meta = False

    for kind, start, end in _boxes(data, 0, len(data), budget):
        if kind == b"meta":
            saw_meta = True
            primary = _read_meta(data, start + 4, end, budget, properties, associations)
        elif kind == b"moov":
            track_sizes += _read_moov(data, start, end, budget)

    ispe = {}
    codecs = set()
    for index, (kind, start, end) in enumerate(properties, 1):
        if kind == b"ispe":
            ispe[index] = (_u(data, start + 4, 4), _u(data, start + 8, 4))
        elif kind in _CODECS or kind in _OTHER_CODECS:
            codecs.add(kind)

    item_sizes = {}
    for item, indices in associations.items():
        for index in indices:
            if index in ispe:
                item_sizes[item] = ispe[index]
    primary_size = item_sizes.get(primary) if primary is not None else None
    sizes = list(ispe.values()) + track_sizes
    if primary_size is None and track_sizes:
        primary_size = track_sizes[0]
    if not saw_meta and not track_sizes:
        raise HeaderError("no meta box and no track")

    plugin = None
    if brands & AV1_BRANDS or b"av1C" in codecs:
        plugin = "AVIF"
    elif brands & HEVC_BRANDS or b"hvcC" in codecs:
        plugin = "HEIF"
    other = next((_OTHER_CODECS[c] for c in sorted(codecs) if c in _OTHER_CODECS), None)
    return Declared(brands, plugin, None if plugin else other, primary_size, sizes)


def _read_meta(data, start, end, budget, properties, associations) -> int | None:
    primary = None
    for kind, s, e in _boxes(data, start, end, budget):
        if kind == b"pitm":
            version = _u(data, s, 1)
            primary = _u(data, s + 4, 2 if version == 0 else 4)
        elif kind == b"iprp":
            for k2, s2, e2 in _boxes(data, s, e, budget):
                if k2 == b"ipco":
                    properties.extend(_boxes(data, s2, e2, budget))
                elif k2 == b"ipma":
                    _read_ipma(data, s2, e2, associations)
    return primary


def _read_ipma(data, start, end, associations) -> None:
    version, flags = _u(data, start, 1), _u(data, start + 1, 3)
    pos = start + 4
    count = _u(data, pos, 4)
    pos += 4
    id_len = 2 if version < 1 else 4
    idx_len = 2 if flags & 1 else 1
    if count > (end - pos):  # each entry is at least 3 bytes: a lie about the count
        raise HeaderError("ipma entry count larger than the box")
    for _ in range(count):
        item = _u(data, pos, id_len)
        pos += id_len
        n = _u(data, pos, 1)
        pos += 1
        indices = associations.setdefault(item, [])
        for _ in range(n):
            value = _u(data, pos, idx_len)
            pos += idx_len
            indices.append(value & (0x7FFF if idx_len == 2 else 0x7F))
        if pos > end:
            raise HeaderError("ipma runs past its box")


def _read_moov(data, start, end, budget) -> list[tuple[int, int]]:
    sizes = []
    for kind, s, e in _boxes(data, start, end, budget):
        if kind != b"trak":
            continue
        for k2, s2, _e2 in _boxes(data, s, e, budget):
            if k2 == b"tkhd":
                version = _u(data, s2, 1)
                # v1: 8+8+4+4+8 bytes of times/ids, v0: 4+4+4+4+4; then 52 bytes
                # (reserved, layer, group, volume, matrix) before width/height.
                pos = s2 + 4 + (32 if version == 1 else 20) + 52
                width, height = _u(data, pos, 4) >> 16, _u(data, pos + 4, 4) >> 16
                sizes.append((width, height))
    return sizes
