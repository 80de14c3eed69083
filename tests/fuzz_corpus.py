"""Hostile image files for the reader and the mask loader, and a bounded runner that feeds them.

The corpus (deterministic for a given seed):

* **seeds**: valid files of every kind a camera or a colleague might hand over (PNG/TIFF/JPEG/GIF/BMP/PNM;
  gray, RGB, RGBA, palette with transparency, LA, 1-bit, 16-bit incl. I;16B and 48-bit RGB, CMYK JPEG and
  TIFF, multi-page TIFF, animated GIF, MPO, EXIF-rotated JPEG, 1×1); each must load with a known size;
* **crafted**: zero-size files, bare magic numbers, wrong suffixes, text and noise, headers declaring
  huge or zero dimensions (PNG IHDR, TIFF, GIF, BMP, JPEG SOF, PNM claiming 60000×60000 and more),
  IFD loops, foreign formats disguised as images;
* **mutants**: seeds and crafted files truncated, bit-flipped, with bytes inserted, deleted, duplicated or
  set to boundary values (PNG chunk CRCs are repaired half the time so mutants get past the CRC check).

The property and the bounded runner that feeds these cases are in ``tests/fuzz_runner.py``.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Case:
    """One file to feed the reader: its bytes, the suffix it is saved under and what is known of it."""

    name: str
    suffix: str
    data: bytes
    expect: tuple[int, int] | None = None  # (h, w) when the file is valid and must load at that size
    must_refuse: bool = False  # crafted files that must never load (e.g. beyond MAX_PIXELS)


# --- building blocks ----------------------------------------------------------------------------

def _pixels(h: int, w: int, seed: int = 0) -> Any:
    import numpy as np

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.dstack([xx * 255 // max(w, 1), yy * 255 // max(h, 1), (xx ^ yy) & 255]).astype(np.uint8)
    return (base // 2 + rng.integers(0, 128, (h, w, 3), dtype=np.uint8)).astype(np.uint8)


def _save(img: Any, fmt: str, **params: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **params)
    return buf.getvalue()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def raw_png(w: int, h: int, bit_depth: int, color_type: int, rows: bytes | None = None,
            extra: Iterable[tuple[bytes, bytes]] = ()) -> bytes:
    """A PNG built by hand (for kinds Pillow cannot write: 48-bit RGB, 16-bit LA, lying headers)."""
    if rows is None:
        channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(color_type, 1)
        row_bytes = (w * channels * bit_depth + 7) // 8
        rows = b"".join(b"\0" + bytes((x * 37 + y * 11) & 255 for x in range(row_bytes)) for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 0)
    body = b"".join(png_chunk(k, v) for k, v in extra)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + body + png_chunk(b"IDAT", zlib.compress(rows))
            + png_chunk(b"IEND", b""))


def fix_png_crcs(data: bytes) -> bytes:
    """Recompute every chunk CRC (so a mutated PNG is judged on its content, not its checksums)."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return data
    out = bytearray(data[:8])
    pos = 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        end = pos + 8 + length
        if end + 4 > len(data):
            out += data[pos:]
            return bytes(out)
        kind_body = data[pos + 4:end]
        out += data[pos:end] + struct.pack(">I", zlib.crc32(kind_body) & 0xFFFFFFFF)
        pos = end + 4
    out += data[pos:]
    return bytes(out)


def tiff_header(w: int, h: int, *, bits: int = 8, samples: int = 1, photometric: int = 1, compression: int = 1,
                strip: bytes = b"\0" * 64, big_endian: bool = False, loop: bool = False,
                byte_count: int | None = None) -> bytes:
    """A minimal single-strip TIFF whose header may lie about its size (or loop its IFD chain)."""
    e = ">" if big_endian else "<"
    entries = [
        (256, 4, 1, w), (257, 4, 1, h), (258, 3, 1, bits), (259, 3, 1, compression), (262, 3, 1, photometric),
        (273, 4, 1, 0), (277, 3, 1, samples), (278, 4, 1, h),
        (279, 4, 1, len(strip) if byte_count is None else byte_count),
    ]
    ifd_offset = 8
    data_offset = ifd_offset + 2 + 12 * len(entries) + 4
    ifd = struct.pack(e + "H", len(entries))
    for tag, typ, count, value in entries:
        if tag == 273:
            value = data_offset
        packed = struct.pack(e + "H", value) + b"\0\0" if typ == 3 else struct.pack(e + "I", value)
        ifd += struct.pack(e + "HHI", tag, typ, count) + packed
    ifd += struct.pack(e + "I", ifd_offset if loop else 0)
    magic = b"MM\x00*" if big_endian else b"II*\x00"
    return magic + struct.pack(e + "I", ifd_offset) + ifd + strip


def gif_header(screen_w: int, screen_h: int, frame_w: int | None = None, frame_h: int | None = None) -> bytes:
    """A GIF with a 2-colour table, one frame of (frame_w × frame_h) and a tiny LZW stream."""
    fw = screen_w if frame_w is None else frame_w
    fh = screen_h if frame_h is None else frame_h
    return (b"GIF89a" + struct.pack("<HHBBB", screen_w, screen_h, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
            + b"," + struct.pack("<HHHHB", 0, 0, fw, fh, 0) + b"\x02\x02\x44\x01\x00;")


def bmp_header(w: int, h: int, bits: int = 24, pixels: bytes = b"\0" * 64, colours: int = 0,
               compression: int = 0) -> bytes:
    """A BITMAPINFOHEADER BMP that may lie about its size (negative height = top-down)."""
    palette = b"\0\0\0\0" * (min(colours, 256) if bits <= 8 else 0)  # the header may claim more
    offset = 14 + 40 + len(palette)
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, bits, compression, len(pixels), 2835, 2835, colours, 0)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info + palette + pixels


def jpeg_sof(w: int, h: int) -> bytes:
    """A JPEG whose SOF0 declares w × h, followed by (almost) nothing."""
    good = _save(_image_from(_pixels(8, 8)), "JPEG")
    i = good.index(b"\xff\xc0")
    sof = bytearray(good[i:i + 19])
    sof[5:9] = struct.pack(">HH", h, w)
    return good[:i] + bytes(sof) + good[i + 19:i + 19 + 40]


def _image_from(arr: Any, mode: str | None = None) -> Any:
    from PIL import Image

    return Image.fromarray(arr, mode) if mode else Image.fromarray(arr)


# --- the corpus ---------------------------------------------------------------------------------

def seed_cases(h: int = 24, w: int = 32) -> list[Case]:
    """Valid files of every kind the reader promises to handle; each must load at (h, w)."""
    import numpy as np
    from PIL import Image

    rgb = _image_from(_pixels(h, w))
    gray = rgb.convert("L")
    rgba = rgb.copy()
    rgba.putalpha(_image_from((np.arange(h * w).reshape(h, w) % 256).astype(np.uint8)))
    pal = rgb.quantize(16)
    pal_trns = pal.copy()
    pal_trns.info["transparency"] = 3
    la = Image.merge("LA", (gray, gray.point(lambda v: 255 - v)))
    bw = gray.point(lambda v: 255 if v > 128 else 0).convert("1")
    g16 = Image.fromarray((np.arange(h * w).reshape(h, w) * 83 % 65536).astype(np.uint16))
    g16b = g16.convert("I;16B") if hasattr(g16, "convert") else g16
    cmyk = rgb.convert("CMYK")
    f32 = Image.fromarray((np.arange(h * w).reshape(h, w) / (h * w)).astype(np.float32))
    i32 = Image.fromarray((np.arange(h * w).reshape(h, w) * 1000).astype(np.int32))
    rotated = Image.Exif()
    rotated[0x0112] = 6
    other = _image_from(_pixels(h // 2 + 1, w + 3, seed=1))

    cases: list[tuple[str, str, bytes, tuple[int, int]]] = [
        ("png_rgb", ".png", _save(rgb, "PNG"), (h, w)),
        ("png_gray", ".png", _save(gray, "PNG"), (h, w)),
        ("png_rgba", ".png", _save(rgba, "PNG"), (h, w)),
        ("png_palette", ".png", _save(pal, "PNG"), (h, w)),
        ("png_palette_transparency", ".png", _save(pal_trns, "PNG", transparency=3), (h, w)),
        ("png_la", ".png", _save(la, "PNG"), (h, w)),
        ("png_1bit", ".png", _save(bw, "PNG"), (h, w)),
        ("png_16bit_gray", ".png", _save(g16, "PNG"), (h, w)),
        ("png_16bit_rgb", ".png", raw_png(w, h, 16, 2), (h, w)),
        ("png_16bit_rgba", ".png", raw_png(w, h, 16, 6), (h, w)),
        ("png_16bit_la", ".png", raw_png(w, h, 16, 4), (h, w)),
        ("png_2bit_gray", ".png", raw_png(w, h, 2, 0), (h, w)),
        ("png_1x1", ".png", _save(rgb.crop((0, 0, 1, 1)), "PNG"), (1, 1)),
        ("png_exif_rotated", ".png", _save(rgb, "PNG", exif=rotated.tobytes()), (w, h)),
        ("png_apng", ".png", _save(rgb, "PNG", save_all=True, append_images=[other.resize((w, h))]), (h, w)),
        ("tiff_rgb", ".tif", _save(rgb, "TIFF"), (h, w)),
        ("tiff_rgb_lzw", ".tif", _save(rgb, "TIFF", compression="tiff_lzw"), (h, w)),
        ("tiff_rgb_deflate", ".tiff", _save(rgb, "TIFF", compression="tiff_adobe_deflate"), (h, w)),
        ("tiff_rgb_jpeg", ".tif", _save(rgb, "TIFF", compression="jpeg"), (h, w)),
        ("tiff_gray_packbits", ".tif", _save(gray, "TIFF", compression="packbits"), (h, w)),
        ("tiff_rgba", ".tif", _save(rgba, "TIFF"), (h, w)),
        ("tiff_palette", ".tif", _save(pal, "TIFF"), (h, w)),
        ("tiff_1bit_g4", ".tif", _save(bw, "TIFF", compression="group4"), (h, w)),
        ("tiff_16bit", ".tif", _save(g16, "TIFF"), (h, w)),
        ("tiff_16bit_be", ".tif", _save(g16b, "TIFF"), (h, w)),
        ("tiff_cmyk", ".tif", _save(cmyk, "TIFF"), (h, w)),
        ("tiff_float32", ".tif", _save(f32, "TIFF"), (h, w)),
        ("tiff_int32", ".tif", _save(i32, "TIFF"), (h, w)),
        ("tiff_multipage", ".tif", _save(rgb, "TIFF", save_all=True, append_images=[other, gray]), (h, w)),
        ("tiff_orientation_6", ".tif", _save(rgb, "TIFF", tiffinfo={274: 6}), (w, h)),
        ("tiff_1x1", ".tif", _save(gray.crop((0, 0, 1, 1)), "TIFF"), (1, 1)),
        ("jpeg_rgb", ".jpg", _save(rgb, "JPEG", quality=90), (h, w)),
        ("jpeg_gray", ".jpeg", _save(gray, "JPEG"), (h, w)),
        ("jpeg_cmyk", ".jpg", _save(cmyk, "JPEG"), (h, w)),
        ("jpeg_progressive", ".jpg", _save(rgb, "JPEG", progressive=True), (h, w)),
        ("jpeg_444", ".jpg", _save(rgb, "JPEG", subsampling=0), (h, w)),
        ("jpeg_exif_rotated", ".jpg", _save(rgb, "JPEG", exif=rotated.tobytes()), (w, h)),
        ("jpeg_mpo", ".jpg", _save(rgb, "MPO", save_all=True, append_images=[rgb]), (h, w)),
        ("jpeg_1x1", ".jpg", _save(rgb.crop((0, 0, 1, 1)), "JPEG"), (1, 1)),
        ("gif_palette", ".gif", _save(pal, "GIF"), (h, w)),
        ("gif_transparency", ".gif", _save(pal_trns, "GIF", transparency=3), (h, w)),
        ("gif_gray", ".gif", _save(gray, "GIF"), (h, w)),
        ("gif_animated", ".gif", _save(pal, "GIF", save_all=True, append_images=[pal.rotate(90)]), (h, w)),
        ("gif_1x1", ".gif", _save(pal.crop((0, 0, 1, 1)), "GIF"), (1, 1)),
        ("bmp_rgb", ".bmp", _save(rgb, "BMP"), (h, w)),
        ("bmp_gray", ".bmp", _save(gray, "BMP"), (h, w)),
        ("bmp_palette", ".bmp", _save(pal, "BMP"), (h, w)),
        ("bmp_1bit", ".bmp", _save(bw, "BMP"), (h, w)),
        ("bmp_rgba", ".bmp", _save(rgba, "BMP"), (h, w)),
        ("bmp_top_down", ".bmp", bmp_header(w, -h, 24, b"\x40" * (((w * 3 + 3) // 4 * 4) * h)), (h, w)),
        ("bmp_1x1", ".bmp", _save(rgb.crop((0, 0, 1, 1)), "BMP"), (1, 1)),
        ("ppm_rgb", ".ppm", _save(rgb, "PPM"), (h, w)),
        ("pgm_gray", ".pgm", _save(gray, "PPM"), (h, w)),
        ("pgm_16bit", ".pgm", _save(g16, "PPM"), (h, w)),
        ("pbm_1bit", ".pbm", _save(bw, "PPM"), (h, w)),
        ("webp_lossless", ".webp", _save(rgb, "WEBP", lossless=True), (h, w)),
        ("webp_rgba", ".webp", _save(rgba, "WEBP"), (h, w)),
        ("pgm_ascii", ".pgm", f"P2\n{w} {h}\n255\n".encode() + b" ".join(b"7" for _ in range(w * h)), (h, w)),
    ]
    return [Case(name, suffix, data, expect) for name, suffix, data, expect in cases]


def crafted_cases() -> list[Case]:
    """Hand-made hostile files: empty, bare magic, lying headers, loops, disguises."""
    big = 60_000
    good_png = seed_cases(8, 8)[0].data
    out: list[Case] = []
    for suffix in (".png", ".tif", ".jpg", ".gif", ".bmp", ".pgm"):
        out.append(Case(f"empty{suffix}", suffix, b"", must_refuse=True))
    magics = {"png": b"\x89PNG\r\n\x1a\n", "tiff_le": b"II*\x00", "tiff_be": b"MM\x00*", "jpeg": b"\xff\xd8\xff",
              "gif": b"GIF89a", "bmp": b"BM", "ppm": b"P6\n", "mpo": b"\xff\xd8\xff\xe1"}
    for name, magic in magics.items():
        out.append(Case(f"magic_only_{name}", ".png", magic, must_refuse=True))
        out.append(Case(f"magic_then_zeros_{name}", ".tif", magic + b"\0" * 200, must_refuse=True))
    out += [
        Case("text_as_png", ".png", b"<html><body>not an image</body></html>\n" * 10, must_refuse=True),
        Case("noise_as_jpg", ".jpg", random.Random(1).randbytes(3000), must_refuse=True),
        Case("png_named_tif", ".tif", good_png, expect=(8, 8)),
        Case("png_wrong_first_byte", ".png", b"\x88" + good_png[1:], must_refuse=True),
        Case("png_bad_crc", ".png", good_png[:29] + b"\0\0\0\0" + good_png[33:]),
        # huge declared sizes: refused by the pixel limit before any allocation
        Case("png_60000x60000", ".png", raw_png(big, big, 8, 2, rows=b"\0" * 64), must_refuse=True),
        Case("png_16bit_60000x60000", ".png", raw_png(big, big, 16, 0, rows=b"\0" * 64), must_refuse=True),
        Case("png_max_width", ".png", raw_png(2**31 - 1, 1, 8, 0, rows=b"\0" * 64), must_refuse=True),
        Case("png_max_both", ".png", raw_png(2**31 - 1, 2**31 - 1, 1, 0, rows=b"\0" * 64), must_refuse=True),
        Case("png_zero_width", ".png", raw_png(0, 10, 8, 0, rows=b"\0" * 10), must_refuse=True),
        Case("png_zero_height", ".png", raw_png(10, 0, 8, 0, rows=b""), must_refuse=True),
        Case("png_bad_bit_depth", ".png", raw_png(4, 4, 7, 0, rows=b"\0" * 20), must_refuse=True),
        Case("png_bad_color_type", ".png", raw_png(4, 4, 8, 5, rows=b"\0" * 20), must_refuse=True),
        Case("png_palette_without_plte", ".png", raw_png(4, 4, 8, 3), must_refuse=False),
        # a big but admitted size with no data behind it: the decoder must give up, not hang
        Case("png_12000x12000_header_only", ".png", raw_png(12_000, 12_000, 8, 2, rows=b"\0" * 64),
             must_refuse=True),
        Case("png_16bit_12000x12000_header_only", ".png", raw_png(12_000, 12_000, 16, 0, rows=b"\0" * 64),
             must_refuse=True),
        Case("png_1x100M", ".png", raw_png(1, 100_000_000, 1, 0, rows=b"\0" * 64), must_refuse=True),
        Case("tiff_60000x60000", ".tif", tiff_header(big, big), must_refuse=True),
        Case("tiff_60000x60000_rgb16_be", ".tif", tiff_header(big, big, bits=16, samples=3, photometric=2,
                                                               big_endian=True), must_refuse=True),
        Case("tiff_zero_size", ".tif", tiff_header(0, 0), must_refuse=True),
        Case("tiff_10000x10000_no_data", ".tif", tiff_header(10_000, 10_000), must_refuse=True),
        Case("tiff_bytecount_huge", ".tif", tiff_header(8, 8, byte_count=0xFFFFFFF0)),
        Case("tiff_ifd_loop", ".tif", tiff_header(8, 8, loop=True)),
        Case("tiff_bits_0", ".tif", tiff_header(8, 8, bits=0), must_refuse=True),
        Case("tiff_bits_64", ".tif", tiff_header(8, 8, bits=64)),
        Case("tiff_unknown_compression", ".tif", tiff_header(8, 8, compression=60000), must_refuse=True),
        Case("tiff_samples_200", ".tif", tiff_header(8, 8, samples=200)),
        Case("tiff_ok_8x8", ".tif", tiff_header(8, 8), expect=(8, 8)),
        Case("gif_60000x60000", ".gif", gif_header(big, big), must_refuse=True),
        Case("gif_small_screen_huge_frame", ".gif", gif_header(8, 8, big, big)),
        Case("gif_zero_screen", ".gif", gif_header(0, 0), must_refuse=True),
        Case("gif_hand_made_2x2", ".gif", gif_header(2, 2)),
        Case("bmp_60000x60000", ".bmp", bmp_header(big, big), must_refuse=True),
        Case("bmp_60000x-60000", ".bmp", bmp_header(big, -big), must_refuse=True),
        Case("bmp_65536x65536_32bit", ".bmp", bmp_header(65536, 65536, 32), must_refuse=True),
        Case("bmp_negative_width", ".bmp", bmp_header(-8, 8), must_refuse=True),
        Case("bmp_bits_0", ".bmp", bmp_header(8, 8, bits=0), must_refuse=True),
        Case("bmp_palette_count_huge", ".bmp", bmp_header(8, 8, bits=8, colours=2**30)),
        Case("bmp_rle8_garbage", ".bmp", bmp_header(64, 64, bits=8, colours=2, compression=1,
                                                    pixels=bytes(range(256)) * 4)),
        Case("bmp_8000x8000_no_data", ".bmp", bmp_header(8000, 8000), must_refuse=True),
        Case("jpeg_60000x60000", ".jpg", jpeg_sof(big, big), must_refuse=True),
        Case("jpeg_65500x65500", ".jpg", jpeg_sof(65_500, 65_500), must_refuse=True),
        Case("jpeg_0x0", ".jpg", jpeg_sof(0, 0), must_refuse=True),
        Case("jpeg_10000x10000_no_data", ".jpg", jpeg_sof(10_000, 10_000), must_refuse=True),
        Case("ppm_60000x60000", ".ppm", b"P6\n60000 60000\n255\n" + b"\0" * 64, must_refuse=True),
        Case("ppm_overflowing_dims", ".ppm", b"P6\n99999999999999 99999999999999\n255\n\0\0\0", must_refuse=True),
        Case("pgm_maxval_0", ".pgm", b"P5\n2 2\n0\n\0\0\0\0", must_refuse=False),
        Case("pgm_maxval_huge", ".pgm", b"P5\n2 2\n4294967296\n" + b"\0" * 16, must_refuse=True),
        Case("pgm_16bit_1x1", ".pgm", b"P5\n1 1\n65535\n\x12\x34", expect=(1, 1)),
        Case("pbm_ascii_garbage", ".pbm", b"P1\n3 3\n1 0 x 1\n", must_refuse=False),
        # foreign formats in disguise: the reader must load or refuse them, nothing else
        Case("eps_as_png", ".png", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"),
        Case("psd_header_as_tif", ".tif", b"8BPS\0\1" + b"\0" * 6 + struct.pack(">HIIHH", 3, big, big, 8, 3)),
        Case("ico_as_png", ".png", b"\0\0\1\0\1\0" + struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 32, 64, 22)),
        Case("fits_as_tif", ".tif", b"SIMPLE  =                    T" + b" " * 50 + b"BITPIX  =                    8"
             + b" " * 50 + b"NAXIS   =                    2" + b" " * 50 + b"NAXIS1  =                60000"
             + b" " * 50 + b"NAXIS2  =                60000" + b" " * 50 + b"END" + b" " * 77),
    ]
    out += foreign_cases()
    return out


def foreign_cases() -> list[Case]:
    """Files in formats Pillow knows but the app does not read, named like images (must be refused)."""
    from PIL import Image

    rgb = _image_from(_pixels(16, 16))
    kinds = [("SGI", rgb), ("TGA", rgb), ("PCX", rgb), ("DDS", rgb.convert("RGBA")), ("ICO", rgb),
             ("QOI", rgb), ("XBM", rgb.convert("1")), ("MSP", rgb.convert("1")), ("BLP", rgb.quantize(16)),
             ("SPIDER", rgb.convert("F")), ("JPEG2000", rgb), ("EPS", rgb), ("PDF", rgb)]
    out = []
    for fmt, img in kinds:
        try:
            data = _save(img, fmt)
        except (OSError, KeyError, ValueError):  # a codec missing from this Pillow build
            continue
        out.append(Case(f"foreign_{fmt.lower()}_as_png", ".png", data, must_refuse=True))
    _ = Image  # keep the import explicit: these formats are registered by PIL.Image.init()
    return out


MUTATIONS = ("truncate", "flip_bits", "set_byte", "insert", "delete", "duplicate", "set_int", "splice_header")


def mutate(data: bytes, rng: random.Random, rounds: int | None = None) -> tuple[bytes, str]:
    """Apply 1-4 random byte-level mutations; returns the new bytes and a description."""
    buf = bytearray(data)
    done = []
    for _ in range(rounds or rng.choice((1, 1, 1, 2, 2, 3, 4))):
        op = rng.choice(MUTATIONS)
        n = len(buf)
        # header fields matter most: aim at the first 64 bytes half of the time
        pos = rng.randrange(min(n, 64)) if n and rng.random() < 0.5 else (rng.randrange(n) if n else 0)
        if op == "truncate" and n:
            buf = buf[:rng.randrange(n)]
        elif op == "flip_bits" and n:
            for _ in range(rng.randint(1, 8)):
                i = rng.randrange(n) if rng.random() < 0.5 else pos
                buf[i] ^= 1 << rng.randrange(8)
        elif op == "set_byte" and n:
            buf[pos] = rng.choice((0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE))
        elif op == "insert":
            buf[pos:pos] = rng.randbytes(rng.choice((1, 2, 4, 16, 256)))
        elif op == "delete" and n:
            del buf[pos:pos + rng.choice((1, 2, 4, 16, 256))]
        elif op == "duplicate" and n:
            span = buf[pos:pos + rng.choice((4, 16, 256, 4096))]
            at = rng.randrange(len(buf) + 1)
            buf[at:at] = span * rng.choice((1, 2, 50))
        elif op == "set_int" and n >= 4:
            value = rng.choice((0, 1, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 60_000, 65_535, 2**20))
            fmt = rng.choice((">I", "<I", ">H", "<H"))
            packed = struct.pack(fmt, value & (0xFFFF if fmt.endswith("H") else 0xFFFFFFFF))
            buf[pos:pos + len(packed)] = packed
        elif op == "splice_header" and n:
            # another format's magic in front of this body
            magic = rng.choice((b"\x89PNG\r\n\x1a\n", b"II*\x00", b"MM\x00*", b"\xff\xd8\xff\xe0", b"GIF87a", b"BM"))
            buf[:len(magic)] = magic
        else:
            continue
        done.append(op)
    out = bytes(buf)
    if out.startswith(b"\x89PNG") and rng.random() < 0.5:
        out = fix_png_crcs(out)
        done.append("fix_crc")
    return out, "+".join(done) or "none"


def corpus(total: int, seed: int = 0) -> Iterator[Case]:
    """Seeds, crafted files, then mutants of both until ``total`` cases (deterministic for ``seed``)."""
    rng = random.Random(seed)
    base = seed_cases() + seed_cases(5, 3) + crafted_cases()
    count = 0
    for case in base:
        if count >= total:
            return
        yield case
        count += 1
    parents = [c for c in base if c.data]
    while count < total:
        parent = rng.choice(parents)
        data, how = mutate(parent.data, rng)
        yield Case(f"{parent.name}~{count}:{how}", parent.suffix, data)
        count += 1
