"""Image I/O: every common format in, clean files out atomically, and a clear error naming the file."""

from __future__ import annotations

import io
import os
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import ImageReadError, ImageWriteError
from core.io.images import list_images, read_image, write_image


def _rgb(h: int = 20, w: int = 30, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _smooth_rgb(h: int = 48, w: int = 64) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.dstack([xx * 255 // w, yy * 255 // h, (xx + yy) * 127 // (h + w)]).astype(np.uint8)


def _png(w: int, h: int, bit_depth: int = 8, color_type: int = 2, data: bytes = b"\0" * 16) -> bytes:
    """A syntactically valid PNG whose header declares w x h (the pixel data need not match)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(data)) + chunk(b"IEND", b"")


# --- round trips -------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".png", ".tif", ".tiff", ".bmp", ".ppm"])
def test_lossless_rgb_round_trips(tmp_path: Path, suffix: str):
    image = _rgb()
    path = write_image(tmp_path / f"a{suffix}", image)
    back = read_image(path)
    assert back.dtype == np.uint8 and np.array_equal(back, image)


@pytest.mark.parametrize("suffix", [".png", ".tif", ".bmp", ".pgm", ".gif"])
def test_lossless_gray_round_trips(tmp_path: Path, suffix: str):
    gray = _rgb()[..., 0]
    path = write_image(tmp_path / f"g{suffix}", gray)
    assert np.array_equal(read_image(path, mode="L"), gray)
    if suffix != ".gif":  # GIF comes back as a palette image, read as RGB with mode=None
        assert np.array_equal(read_image(path, mode=None), gray), "gray stays gray with mode=None"


def test_gif_with_few_colours_round_trips(tmp_path: Path):
    image = np.zeros((20, 30, 3), np.uint8)
    image[5:10] = (200, 10, 30)
    image[:, 20:] = (0, 255, 0)
    assert np.array_equal(read_image(write_image(tmp_path / "few.gif", image)), image)


def test_jpeg_round_trip_is_close(tmp_path: Path):
    image = _smooth_rgb()
    back = read_image(write_image(tmp_path / "a.jpg", image))
    assert back.shape == image.shape
    assert np.abs(back.astype(int) - image).mean() < 3


def test_16_bit_png_reads_as_uint16_with_mode_none(tmp_path: Path):
    gray16 = (np.arange(20 * 30).reshape(20, 30) * 109).astype(np.uint16)
    Image.fromarray(gray16).save(tmp_path / "deep.png")
    back = read_image(tmp_path / "deep.png", mode=None)
    assert back.dtype == np.uint16 and np.array_equal(back, gray16)
    eight = read_image(tmp_path / "deep.png", mode="L")
    assert eight.dtype == np.uint8
    assert abs(int(eight.max()) - round(int(gray16.max()) / 65535 * 255)) <= 1, "scaled, not clipped"


def test_16_bit_to_8_bit_does_not_copy_the_image_as_float64(tmp_path: Path):
    """A 144 MP 16-bit file read as RGB took 3.9 GB (whole-image float64 temporaries); now bands of rows."""
    import tracemalloc

    gray16 = (np.arange(2000 * 2000).reshape(2000, 2000) % 65536).astype(np.uint16)
    Image.fromarray(gray16).save(tmp_path / "deep.png", compress_level=1)
    tracemalloc.start()
    try:
        eight = read_image(tmp_path / "deep.png", mode="L")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak / gray16.size < 12, f"{peak / gray16.size:.1f} bytes per pixel (was 24)"
    expected = np.clip(gray16 / 65535.0 * 255.0 + 0.5, 0, 255).astype(np.uint8)
    assert np.array_equal(eight, expected), "same values as the whole-image formula"


@pytest.mark.parametrize("suffix", [".png", ".tif", ".pgm"])
def test_16_bit_write_round_trips(tmp_path: Path, suffix: str):
    gray16 = (np.arange(20 * 30).reshape(20, 30) * 109).astype(np.uint16)
    back = read_image(write_image(tmp_path / f"p{suffix}", gray16), mode=None)
    assert back.dtype == np.uint16 and np.array_equal(back, gray16)


@pytest.mark.parametrize("suffix", [".gif", ".jpg", ".bmp", ".webp"])
def test_16_bit_write_to_an_8_bit_format_is_refused_not_truncated(tmp_path: Path, suffix: str):
    gray16 = (np.arange(20 * 30).reshape(20, 30) * 109).astype(np.uint16)
    with pytest.raises(ImageWriteError, match="16-bit"):
        write_image(tmp_path / f"p{suffix}", gray16)
    assert not list(tmp_path.iterdir())


def test_palette_image_reads_as_its_colours(tmp_path: Path):
    image = np.zeros((10, 12, 3), np.uint8)
    image[:5] = (255, 0, 0)
    image[5:, 6:] = (0, 0, 255)
    Image.fromarray(image).convert("P", palette=Image.Palette.ADAPTIVE, colors=4).save(tmp_path / "p.png")
    assert Image.open(tmp_path / "p.png").mode == "P"
    assert np.array_equal(read_image(tmp_path / "p.png", mode=None), image)


def test_rgba_is_composited_on_black_unless_asked_for(tmp_path: Path):
    rgba = np.zeros((6, 8, 4), np.uint8)
    rgba[..., :3] = (200, 100, 50)
    rgba[..., 3] = 255
    rgba[:, :4, 3] = 0  # left half transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    rgb = read_image(tmp_path / "a.png")
    assert rgb.shape == (6, 8, 3)
    assert (rgb[:, :4] == 0).all() and (rgb[:, 4:] == (200, 100, 50)).all()
    assert np.array_equal(read_image(tmp_path / "a.png", mode="RGBA"), rgba)


def test_gray_with_alpha_reads(tmp_path: Path):
    la = np.dstack([np.full((4, 5), 100, np.uint8), np.full((4, 5), 255, np.uint8)])
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    assert (read_image(tmp_path / "la.png", mode="L") == 100).all()
    assert (read_image(tmp_path / "la.png") == 100).all()


def test_gray_reads_as_rgb_by_default_and_2d_with_mode_none(tmp_path: Path):
    Image.fromarray(np.full((4, 5), 77, np.uint8)).save(tmp_path / "g.png")
    assert read_image(tmp_path / "g.png").shape == (4, 5, 3)
    assert read_image(tmp_path / "g.png", mode=None).shape == (4, 5)


def test_bilevel_image_reads_as_0_and_255(tmp_path: Path):
    Image.fromarray(np.eye(5, dtype=bool)).save(tmp_path / "bw.png")
    back = read_image(tmp_path / "bw.png", mode=None)
    assert back.dtype == np.uint8 and set(np.unique(back).tolist()) == {0, 255}


def test_exif_orientation_is_honoured(tmp_path: Path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    Image.fromarray(_smooth_rgb(20, 30)).save(tmp_path / "portrait.jpg", exif=exif.tobytes())
    assert Image.open(tmp_path / "portrait.jpg").size == (30, 20)
    assert read_image(tmp_path / "portrait.jpg").shape == (30, 20, 3)


def test_multi_page_tiff_reads_the_first_page(tmp_path: Path):
    first, second = _rgb(20, 30), _rgb(10, 10, seed=1)
    Image.fromarray(first).save(tmp_path / "pages.tif", save_all=True, append_images=[Image.fromarray(second)])
    assert np.array_equal(read_image(tmp_path / "pages.tif"), first)


# --- unreadable files: ImageReadError naming the file -------------------------------------------

def _unreadable(path: Path, *words: str) -> str:
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    message = str(info.value)
    assert str(path) in message
    for word in words:
        assert word in message, message
    return message


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif", ".gif"])
def test_truncated_files_are_refused(tmp_path: Path, suffix: str):
    Image.fromarray(_smooth_rgb()).save(tmp_path / f"full{suffix}")
    data = (tmp_path / f"full{suffix}").read_bytes()
    (tmp_path / f"cut{suffix}").write_bytes(data[: len(data) // 2])
    _unreadable(tmp_path / f"cut{suffix}", "truncated")


@pytest.mark.parametrize("fmt", ["DDS", "BLP"])
def test_damaged_file_whose_decoder_says_not_implemented_is_refused(tmp_path: Path, fmt: str):
    """Fuzzing: Pillow's DDS and BLP readers raise NotImplementedError on bad headers; it escaped read_image."""
    buf = io.BytesIO()
    Image.new("RGBA" if fmt == "DDS" else "P", (8, 8)).save(buf, format=fmt)
    data = bytearray(buf.getvalue())
    if fmt == "DDS":
        data[80:84] = b"\0\0\0\0"  # pixel format flags: none known
    else:
        data[8] = 0xFE  # encoding -2
    (tmp_path / "disguised.png").write_bytes(bytes(data))
    _unreadable(tmp_path / "disguised.png")


@pytest.mark.parametrize("fmt", ["TGA", "PCX", "SGI", "ICO", "DDS", "QOI"])
def test_formats_outside_the_supported_list_are_refused_whatever_the_suffix(tmp_path: Path, fmt: str):
    Image.fromarray(_rgb(16, 16)).convert("RGBA" if fmt == "DDS" else "RGB").save(tmp_path / "x.png", format=fmt)
    _unreadable(tmp_path / "x.png", "not a recognised image format")


def test_webp_and_mpo_still_read(tmp_path: Path):
    Image.fromarray(_smooth_rgb()).save(tmp_path / "a.webp", lossless=True)
    assert np.array_equal(read_image(tmp_path / "a.webp"), _smooth_rgb())
    Image.fromarray(_smooth_rgb()).save(tmp_path / "b.jpg", format="MPO", save_all=True,
                                        append_images=[Image.fromarray(_rgb(48, 64))])
    assert read_image(tmp_path / "b.jpg").shape == (48, 64, 3)


def test_empty_file_is_refused(tmp_path: Path):
    (tmp_path / "empty.png").write_bytes(b"")
    _unreadable(tmp_path / "empty.png", "empty")


def test_random_bytes_are_refused(tmp_path: Path):
    (tmp_path / "noise.png").write_bytes(os.urandom(2000))
    _unreadable(tmp_path / "noise.png", "not a recognised image")


def test_folder_is_refused(tmp_path: Path):
    (tmp_path / "dir.png").mkdir()
    _unreadable(tmp_path / "dir.png", "folder")


def test_unreadable_file_is_not_called_damaged(tmp_path: Path, monkeypatch):
    write_image(tmp_path / "locked.png", _rgb())

    def denied(fp, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(fp))

    monkeypatch.setattr(Image, "open", denied)  # chmod 000 does not stop root, so simulate it
    message = _unreadable(tmp_path / "locked.png", "cannot read (Permission denied)")
    assert "damaged" not in message


def test_missing_file_is_refused(tmp_path: Path):
    _unreadable(tmp_path / "absent.png", "not found")


def test_decompression_bomb_is_refused_quickly(tmp_path: Path):
    (tmp_path / "bomb.png").write_bytes(_png(100_000, 100_000))
    start = time.perf_counter()
    _unreadable(tmp_path / "bomb.png", "too large")
    assert time.perf_counter() - start < 1.0


def test_absurdly_long_side_is_refused_quickly(tmp_path: Path):
    """1 x 100,000,000 is under MAX_PIXELS, but Pillow's per-row cost made it take 3 GB and 10 s (fuzzing)."""
    (tmp_path / "thread.png").write_bytes(_png(1, 100_000_000, bit_depth=1, color_type=0))
    start = time.perf_counter()
    _unreadable(tmp_path / "thread.png", "too large", "sides up to")
    assert time.perf_counter() - start < 1.0


def test_large_but_allowed_image_is_not_called_a_bomb(tmp_path: Path):
    """A 12000 x 12000 mosaic (144 MP) is under MAX_PIXELS: a header-only file is 'truncated', not 'too large'."""
    (tmp_path / "mosaic.png").write_bytes(_png(12_000, 12_000))
    message = _unreadable(tmp_path / "mosaic.png")
    assert "too large" not in message and "truncated" in message


def test_max_pixels_is_configurable(tmp_path: Path):
    write_image(tmp_path / "a.png", _rgb(20, 30))
    with pytest.raises(ImageReadError, match="too large"):
        read_image(tmp_path / "a.png", max_pixels=500)


# --- writing -----------------------------------------------------------------------------------

def test_write_leaves_no_temp_files_and_writes_no_metadata(tmp_path: Path):
    write_image(tmp_path / "mask.png", np.eye(8, dtype=bool))
    assert [p.name for p in tmp_path.iterdir()] == ["mask.png"]
    with Image.open(tmp_path / "mask.png") as img:
        assert not {k for k in img.info if k not in ("dpi",)}, img.info
    assert set(np.unique(read_image(tmp_path / "mask.png", mode=None)).tolist()) == {0, 255}


def test_failed_write_leaves_the_existing_file_untouched(tmp_path: Path):
    target = tmp_path / "keep.png"
    target.write_bytes(b"precious")
    with pytest.raises(ImageWriteError, match="keep.png"):
        write_image(target, np.zeros((4, 4), np.float64))  # not a writable array type
    with pytest.raises(ImageWriteError, match="keep.png"):
        write_image(target, np.zeros((4, 4, 2), np.uint8))
    assert target.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.png"]


def test_encoder_failure_midway_leaves_the_existing_file_and_no_temp(tmp_path: Path, monkeypatch):
    target = tmp_path / "keep.png"
    target.write_bytes(b"precious")

    def broken_save(self, fp, format=None, **params):  # noqa: A002 - PIL's signature
        fp.write(b"half an image")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(ImageWriteError, match="keep.png.*disk full"):
        write_image(target, _rgb())
    assert target.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.png"]


def test_overwrite_false_refuses_an_existing_file(tmp_path: Path):
    target = tmp_path / "out.png"
    write_image(target, _rgb())
    before = target.read_bytes()
    with pytest.raises(ImageWriteError, match="already exists"):
        write_image(target, _rgb(seed=5), overwrite=False)
    assert target.read_bytes() == before
    write_image(target, _rgb(seed=5))  # overwrite=True is the default
    assert target.read_bytes() != before


def test_write_errors_name_the_problem(tmp_path: Path):
    with pytest.raises(ImageWriteError, match="unknown image format"):
        write_image(tmp_path / "a.xyz", _rgb())
    with pytest.raises(ImageWriteError, match="does not exist"):
        write_image(tmp_path / "no" / "a.png", _rgb())
    with pytest.raises(ImageWriteError, match="single-channel"):
        write_image(tmp_path / "a.png", np.zeros((4, 4, 3), np.uint16))


def test_rgba_to_jpeg_drops_alpha(tmp_path: Path):
    rgba = np.dstack([_smooth_rgb(), np.full((48, 64), 255, np.uint8)])
    assert read_image(write_image(tmp_path / "a.jpg", rgba)).shape == (48, 64, 3)


def test_list_images_finds_readable_suffixes_sorted(tmp_path: Path):
    for name in ("b.PNG", "a.tif", "c.txt", "d.jpeg"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "e.png").mkdir()
    assert [p.name for p in list_images(tmp_path)] == ["a.tif", "b.PNG", "d.jpeg"]


def test_gray_with_alpha_stays_gray_when_mode_is_none(tmp_path) -> None:
    from PIL import Image as _Image

    from core.io.images import read_image as _read

    la = np.zeros((4, 5, 2), np.uint8)
    la[..., 0] = 200
    la[..., 1] = 255
    la[0, 0, 1] = 0  # one transparent pixel: composited onto black
    path = tmp_path / "la.png"
    _Image.fromarray(la, "LA").save(path)
    gray = _read(path, mode=None)
    assert gray.shape == (4, 5) and gray.dtype == np.uint8
    assert gray[0, 0] == 0 and gray[1, 1] == 200
