"""Hostile DICOM files for the reader, fed by the same bounded runner as the image corpus (tests/fuzz_runner.py).

* **seeds**: valid files of every kind the DICOM reader promises (OP 8/16 bit, Secondary Capture, VL
  Photographic; RGB, planar RGB, YBR_FULL, MONOCHROME1/2, palette, signed, 12 of 16 bits; every decodable
  transfer syntax incl. deflated, RLE, JPEG baseline, JPEG 2000, JPEG-LS; multi-frame; a bare dataset
  without preamble; a file without a suffix); each must load at its size;
* **crafted**: truncated headers, missing pixel data, 30000×30000 and other impossible sizes, absurd frame
  counts, a wrong transfer syntax, compressed frames larger than the header, malformed and runaway
  sequences, elements longer than the file, a deflate bomb, non-image objects (DICOMDIR, SEG, float data);
* **mutants**: byte-level (the image corpus's mutations, aimed past the 128-byte preamble) and
  attribute-level (hostile values for the pixel-describing attributes, written by pydicom).

Deterministic for a given seed.
"""

from __future__ import annotations

import random
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import numpy as np
from pydicom import config
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLSLossless,
    RLELossless,
)

from tests import dicom_factory as F
from tests.fuzz_corpus import Case, mutate

_MAGIC = b"\0" * 128 + b"DICM"


def _rgb(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.dstack([xx * 255 // max(w, 1), yy * 255 // max(h, 1), (xx ^ yy) & 255]).astype(np.uint8)
    return (base // 2 + rng.integers(0, 128, (h, w, 3), dtype=np.uint8)).astype(np.uint8)


def _seed_datasets(h: int, w: int) -> list[tuple[str, Dataset]]:
    rgb = _rgb(h, w)
    gray = rgb[..., 1].copy()
    g16 = (np.arange(h * w).reshape(h, w) * 83 % 65536).astype(np.uint16)
    planar = F.photograph(rgb)
    planar.PlanarConfiguration = 1
    planar.PixelData = np.ascontiguousarray(rgb.transpose(2, 0, 1)).tobytes()
    signed = F.photograph(g16, F.OP_16BIT)
    signed.PixelRepresentation = 1
    palette = F.photograph((gray % 4).astype(np.uint8), F.SECONDARY_CAPTURE, photometric="PALETTE COLOR")
    for channel, name in enumerate(("Red", "Green", "Blue")):
        setattr(palette, f"{name}PaletteColorLookupTableDescriptor", [4, 0, 8])
        entries = [0, 255, 0, 0] if channel == 0 else [0, 0, 255, 0]
        setattr(palette, f"{name}PaletteColorLookupTableData", bytes(entries))
    from pydicom.pixels import convert_color_space

    out: list[tuple[str, Dataset]] = [
        ("op8_rgb", F.photograph(rgb)),
        ("op8_gray", F.photograph(gray)),
        ("op16_gray", F.photograph(g16, F.OP_16BIT, pixel_spacing=[0.01, 0.01])),
        ("op16_12bit", F.photograph((g16 >> 4).astype(np.uint16), F.OP_16BIT, bits_stored=12)),
        ("sc_rgb", F.photograph(rgb, F.SECONDARY_CAPTURE)),
        ("sc_mono1", F.photograph(gray, F.SECONDARY_CAPTURE, photometric="MONOCHROME1")),
        ("vl_rgb", F.photograph(rgb, F.VL_PHOTOGRAPHIC)),
        ("ybr_full", F.photograph(convert_color_space(rgb, "RGB", "YBR_FULL"), photometric="YBR_FULL")),
        ("planar_rgb", planar),
        ("signed_16", signed),
        ("palette", palette),
        ("multi_frame", F.photograph([rgb, rgb[::-1].copy(), rgb[:, ::-1].copy()])),
    ]
    base = F.photograph(rgb)
    encoded = [(f"op8_{syntax.keyword}", base, syntax)
               for syntax in (ImplicitVRLittleEndian, ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian, RLELossless,
                              JPEGBaseline8Bit, JPEG2000Lossless, JPEGLSLossless)]
    encoded += [("op16_JPEGLS", F.photograph(g16, F.OP_16BIT), JPEGLSLossless),
                ("multi_J2K", F.photograph([rgb, rgb[::-1].copy()]), JPEG2000Lossless)]
    for name, ds, syntax in encoded:
        try:
            out.append((name, F.with_transfer_syntax(ds, syntax)))
        except RuntimeError:  # CharLS cannot encode the tiniest images (its output would exceed its buffer)
            continue
    return out


def dicom_seed_cases(h: int = 24, w: int = 32) -> list[Case]:
    """Valid DICOM files of every kind the reader handles; each must load at (h, w)."""
    cases = [Case(f"dcm_{name}", ".dcm", F.to_bytes(ds), expect=(h, w)) for name, ds in _seed_datasets(h, w)]
    rgb = F.photograph(_rgb(h, w))
    cases.append(Case("dcm_no_suffix", "", F.to_bytes(rgb), expect=(h, w)))
    cases.append(Case("dcm_bare_implicit", ".dcm", F.to_bytes(F.with_transfer_syntax(rgb, ImplicitVRLittleEndian),
                                                                preamble=False), expect=(h, w)))
    cases.append(Case("dcm_1x1", ".dcm", F.to_bytes(F.photograph(_rgb(1, 1))), expect=(1, 1)))
    return cases


# --- crafted ---------------------------------------------------------------------------------------

def _with(ds: Dataset, **attributes: Any) -> Dataset:
    import copy

    out = copy.deepcopy(ds)
    for key, value in attributes.items():
        if value is None:
            if key in out:
                delattr(out, key)
        else:
            setattr(out, key, value)
    return out


def _bytes(ds: Dataset) -> bytes:
    """``ds`` written whatever its values (pydicom's write checks would stop hostile ones)."""
    old = config.settings.writing_validation_mode
    config.settings.writing_validation_mode = config.IGNORE
    try:
        return F.to_bytes(ds)
    finally:
        config.settings.writing_validation_mode = old


def _explicit(tag: int, vr: bytes, value: bytes, length: int | None = None) -> bytes:
    """One explicit-VR little-endian element (lengths may lie)."""
    group, elem = tag >> 16, tag & 0xFFFF
    n = len(value) if length is None else length
    if vr in (b"OB", b"OW", b"SQ", b"UN", b"UT", b"OF"):
        return struct.pack("<HH", group, elem) + vr + b"\0\0" + struct.pack("<I", n) + value
    return struct.pack("<HH", group, elem) + vr + struct.pack("<H", n & 0xFFFF) + value


def _meta(syntax: str = ExplicitVRLittleEndian) -> bytes:
    uid = syntax.encode() + (b"\0" if len(syntax) % 2 else b"")
    body = _explicit(0x00020010, b"UI", uid)
    return _MAGIC + _explicit(0x00020000, b"UL", struct.pack("<I", len(body))) + body


def _nested_sequences(depth: int) -> bytes:
    """A Referenced Image Sequence nested ``depth`` deep, undefined lengths all the way down, never closed."""
    one = struct.pack("<HH", 0x0008, 0x1140) + b"SQ\0\0" + b"\xff\xff\xff\xff" + b"\xfe\xff\x00\xe0\xff\xff\xff\xff"
    return _meta() + one * depth


def _deflate_bomb(megabytes: int) -> bytes:
    """A deflated dataset that inflates to ``megabytes`` MB of one huge element."""
    body = _explicit(0x00091010, b"OB", b"", length=megabytes << 20) + b"\0" * (megabytes << 20)
    packer = zlib.compressobj(1, zlib.DEFLATED, -15)
    return _meta(DeflatedExplicitVRLittleEndian) + packer.compress(body) + packer.flush()


def dicom_crafted_cases() -> list[Case]:
    """Hand-made hostile DICOM files."""
    rgb = _rgb(16, 16)
    base = F.photograph(rgb)
    jls = F.with_transfer_syntax(F.photograph(_rgb(64, 64)), JPEGLSLossless)
    j2k = F.with_transfer_syntax(F.photograph(_rgb(64, 64)), JPEG2000Lossless)
    raw_as_jpeg = _with(base)
    raw_as_jpeg.PixelData = encapsulate([rgb.tobytes()])
    raw_as_jpeg["PixelData"].VR = "OB"
    raw_as_jpeg.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    raw_as_rle = _with(raw_as_jpeg)
    raw_as_rle.file_meta.TransferSyntaxUID = RLELossless
    implicit_lies = _with(base)
    implicit_lies.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian  # header says implicit, data is explicit
    good = F.to_bytes(base)
    header_end = good.index(b"\xe0\x7f\x10\x00")  # (7FE0,0010) Pixel Data
    out = [
        Case("dcm_empty", ".dcm", b"", must_refuse=True),
        Case("dcm_magic_only", ".dcm", _MAGIC, must_refuse=True),
        Case("dcm_magic_then_zeros", "", _MAGIC + b"\0" * 300, must_refuse=True),
        Case("dcm_magic_then_noise", ".dcm", _MAGIC + random.Random(3).randbytes(2000), must_refuse=True),
        Case("dcm_meta_only", ".dcm", _meta(), must_refuse=True),
        Case("dcm_cut_in_header", ".dcm", good[:header_end // 2], must_refuse=True),
        Case("dcm_cut_before_pixels", ".dcm", good[:header_end], must_refuse=True),
        Case("dcm_cut_in_pixels", ".dcm", good[:header_end + 40], must_refuse=True),
        Case("dcm_no_pixel_data", ".dcm", _bytes(_with(base, PixelData=None)), must_refuse=True),
        Case("dcm_30000x30000", ".dcm", _bytes(_with(base, Rows=30000, Columns=30000)), must_refuse=True),
        Case("dcm_65535x65535", ".dcm", _bytes(_with(base, Rows=65535, Columns=65535)), must_refuse=True),
        Case("dcm_12000x12000_no_data", ".dcm", _bytes(_with(base, Rows=12000, Columns=12000)), must_refuse=True),
        Case("dcm_zero_rows", ".dcm", _bytes(_with(base, Rows=0)), must_refuse=True),
        Case("dcm_no_rows", ".dcm", _bytes(_with(base, Rows=None)), must_refuse=True),
        Case("dcm_frames_2e9", ".dcm", _bytes(_with(base, NumberOfFrames=2_000_000_000))),
        Case("dcm_frames_zero", ".dcm", _bytes(_with(base, NumberOfFrames=0))),
        Case("dcm_frames_negative", ".dcm", _bytes(_with(base, NumberOfFrames=-5))),
        Case("dcm_frames_text", ".dcm", _bytes(_with(base, NumberOfFrames=9999)).replace(b"9999", b"many")),
        Case("dcm_bits_0", ".dcm", _bytes(_with(base, BitsAllocated=0)), must_refuse=True),
        Case("dcm_bits_64", ".dcm", _bytes(_with(base, BitsAllocated=64, BitsStored=64)), must_refuse=True),
        Case("dcm_bits_stored_over", ".dcm", _bytes(_with(base, BitsStored=20)), must_refuse=True),
        Case("dcm_samples_2", ".dcm", _bytes(_with(base, SamplesPerPixel=2)), must_refuse=True),
        Case("dcm_samples_0", ".dcm", _bytes(_with(base, SamplesPerPixel=0)), must_refuse=True),
        Case("dcm_photometric_junk", ".dcm", _bytes(_with(base, PhotometricInterpretation="ABC")), must_refuse=True),
        Case("dcm_palette_without_lut", ".dcm", _bytes(_with(F.photograph(rgb[..., 0].copy()),
                                                             PhotometricInterpretation="PALETTE COLOR")),
             must_refuse=True),
        Case("dcm_raw_as_jpeg", ".dcm", _bytes(raw_as_jpeg), must_refuse=True),
        Case("dcm_raw_as_rle", ".dcm", _bytes(raw_as_rle), must_refuse=True),
        Case("dcm_explicit_read_as_implicit", ".dcm", _bytes(implicit_lies)),
        Case("dcm_big_endian_liar", ".dcm", good.replace(b"1.2.840.10008.1.2.1\0", b"1.2.840.10008.1.2.2\0")),
        Case("dcm_jpegls_larger_than_header", ".dcm", _bytes(_with(jls, Rows=16, Columns=16)), must_refuse=True),
        Case("dcm_j2k_larger_than_header", ".dcm", _bytes(_with(j2k, Rows=16, Columns=16)), must_refuse=True),
        Case("dcm_jpegls_8000_no_data", ".dcm", _jls_sof(jls, 8000, 8000), must_refuse=True),
        Case("dcm_jpegls_sof_60000", ".dcm", _jls_sof(jls, 60000, 60000, keep_header=True), must_refuse=True),
        Case("dcm_nested_sequences_5000", ".dcm", _nested_sequences(5000), must_refuse=True),
        Case("dcm_sequence_never_closed", ".dcm",
             good[:header_end] + struct.pack("<HH", 0x0008, 0x1140) + b"SQ\0\0\xff\xff\xff\xff" + b"\0" * 64,
             must_refuse=True),
        Case("dcm_item_length_huge", ".dcm", _bytes(_with(base, ReferencedImageSequence=Sequence([Dataset()])))
             .replace(b"\xfe\xff\x00\xe0\x00\x00\x00\x00", b"\xfe\xff\x00\xe0\xf0\xff\xff\xff", 1)),
        Case("dcm_element_longer_than_file", ".dcm", _meta() + _explicit(0x00100010, b"OB", b"ab", 0x7FFFFFF0),
             must_refuse=True),
        Case("dcm_unknown_vr", ".dcm", _meta() + b"\x10\x00\x10\x00ZZ\x04\x00abcd" + good[header_end:]),
        Case("dcm_deflate_bomb_100mb", ".dcm", _deflate_bomb(100), must_refuse=True),
        Case("dcm_dicomdir", ".dcm", _bytes(_with(base, SOPClassUID=UID("1.2.840.10008.1.3.10"))), must_refuse=True),
        Case("dcm_seg", ".dcm", _bytes(_with(base, SOPClassUID=UID("1.2.840.10008.5.1.4.1.1.66.4"))),
             must_refuse=True),
        Case("png_disguised_as_dcm", ".dcm", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, must_refuse=True),
    ]
    return out


def _jls_sof(ds: Dataset, rows: int, columns: int, keep_header: bool = False) -> bytes:
    """A JPEG-LS file whose SOF55 claims rows × columns (and its DICOM header too, unless ``keep_header``)."""
    from pydicom.encaps import get_frame

    frame = bytearray(get_frame(ds.PixelData, 0))
    at = frame.index(b"\xff\xf7")
    frame[at + 5:at + 9] = struct.pack(">HH", rows & 0xFFFF, columns & 0xFFFF)
    out = _with(ds)
    out.PixelData = encapsulate([bytes(frame)])
    if not keep_header:
        out.Rows, out.Columns = rows, columns
    return _bytes(out)


# --- mutants ---------------------------------------------------------------------------------------

_HOSTILE = {
    "Rows": (0, 1, 2, 255, 4096, 12000, 30000, 65535),
    "Columns": (0, 1, 3, 255, 4096, 12000, 30000, 65535),
    "BitsAllocated": (0, 1, 7, 8, 12, 16, 32, 64),
    "BitsStored": (0, 1, 7, 8, 12, 16, 17, 32),
    "HighBit": (0, 7, 15, 31),
    "SamplesPerPixel": (0, 1, 2, 3, 4, 255),
    "PixelRepresentation": (0, 1, 2),
    "PlanarConfiguration": (0, 1, 2),
    "NumberOfFrames": (0, 1, 2, 3, 1000, 2_147_483_647, -1),
    "PhotometricInterpretation": ("MONOCHROME1", "MONOCHROME2", "RGB", "YBR_FULL", "YBR_FULL_422", "PALETTE COLOR",
                                  "YBR_ICT", "HSV", ""),
}
_SYNTAXES = (ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian, RLELossless, JPEGBaseline8Bit,
             JPEG2000Lossless, JPEGLSLossless, UID("1.2.840.10008.1.2.4.70"), UID("1.2.3.4"))


def _attribute_mutant(ds: Dataset, rng: random.Random) -> tuple[bytes, str]:
    out = _with(ds)
    done = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        what = rng.choice((*_HOSTILE, "TransferSyntaxUID", "PixelData", "delete"))
        if what == "TransferSyntaxUID":
            out.file_meta.TransferSyntaxUID = rng.choice(_SYNTAXES)
        elif what == "PixelData" and "PixelData" in out:
            data = bytes(out.PixelData)
            out.PixelData = data[:rng.randrange(len(data) + 1)] if rng.random() < 0.7 else data * 2
        elif what == "delete":
            victim = rng.choice(["Rows", "Columns", "BitsAllocated", "SamplesPerPixel", "PhotometricInterpretation",
                                 "PixelData", "SOPClassUID", "NumberOfFrames"])
            if victim in out:
                delattr(out, victim)
        elif what in _HOSTILE:
            setattr(out, what, rng.choice(_HOSTILE[what]))
        done.append(what)
    try:
        return _bytes(out), "attr:" + "+".join(done)
    except Exception:  # noqa: BLE001 - some combinations cannot even be written: mutate bytes instead
        return _byte_mutant(F.to_bytes(ds), rng)


def _byte_mutant(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """The image corpus's mutations, applied past the preamble (where nothing is read) most of the time."""
    if len(data) > 132 and rng.random() < 0.8:
        body, how = mutate(data[132:], rng)
        return data[:132] + body, "bytes:" + how
    body, how = mutate(data, rng)
    return body, "bytes:" + how


def dicom_corpus(total: int, seed: int = 0, include_base: bool = True) -> Iterator[Case]:
    """Seeds, crafted files, then mutants of both until ``total`` cases (deterministic for ``seed``);
    ``include_base=False``: mutants only."""
    rng = random.Random(seed)
    base = dicom_seed_cases() + dicom_seed_cases(5, 3) + dicom_crafted_cases()
    count = 0
    for case in base if include_base else ():
        if count >= total:
            return
        yield case
        count += 1
    datasets = [ds for _, ds in _seed_datasets(12, 10)]
    # the two cases that are slow by design (a deflate bomb, an 8000x8000 decode) are not multiplied
    parents = [c for c in base if c.data and "bomb" not in c.name and "8000" not in c.name]
    while count < total:
        if rng.random() < 0.4:
            data, how = _attribute_mutant(rng.choice(datasets), rng)
            suffix = ".dcm"
        else:
            parent = rng.choice(parents)
            data, how = _byte_mutant(parent.data, rng)
            suffix = parent.suffix
        yield Case(f"dcm_mutant~{count}:{how}", suffix, data)
        count += 1
