"""Every kind of bad checkpoint is refused by the CLI in one clean line: exit 1, ``error: <file>: <reason>``,
with a reason written for people (no pickle opcode numbers, zip-reader internals, torch warnings or tracebacks).

The kinds follow tests/core/test_checkpoint_hostile.py: code payloads, foreign formats, damaged and truncated
files in both torch formats, wrong contents."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from core.cli import main
from tests.core.test_checkpoint_hostile import _Exec, _good_dict, _Touch

REPO = Path(__file__).resolve().parents[2]

NOT_TORCH = "not a readable PyTorch checkpoint: the file was not written by torch.save (or its beginning is damaged)"
DAMAGED = "not a readable PyTorch checkpoint: the file is damaged or truncated (copy or save it again)"
CODE = "refused to load: the file contains Python objects that could run code ({}); only plain weights are accepted"


def _saved(obj: object, legacy: bool = False) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf, _use_new_zipfile_serialization=not legacy)
    return buf.getvalue()


def _storage_key_changed() -> bytes:
    """A legacy file whose tensor names a storage that is not in it (torch raises AssertionError)."""
    data = _saved({"w": torch.zeros(3)}, legacy=True)
    key = re.findall(rb"\d{12,}", data)[0]
    at = data.index(key)
    return data[:at] + bytes([key[0] ^ 1]) + data[at + 1:]


def _with_code(payload: type, legacy: bool) -> Callable[[Path], bytes]:
    def build(tmp: Path) -> bytes:
        return _saved({**_good_dict(), "extra": payload(tmp / "pwned.txt")}, legacy)
    return build


def _bad_weight(value: float) -> bytes:
    d = _good_dict()
    d["model"]["out_conv.0.bias"][0] = value
    return _saved(d)


#: name -> (file bytes, from the folder it is written in; the reason the CLI must give after "error: <file>: ")
KINDS: dict[str, tuple[Callable[[Path], bytes], str]] = {
    "text starting 'he' (was ': 101')": (lambda _: b"hello, not a checkpoint\n", NOT_TORCH),
    "text (was 'Unsupported operand 110')": (lambda _: b"not a checkpoint at all", NOT_TORCH),
    "JSON": (lambda _: b'{"weights": [1, 2, 3]}', NOT_TORCH),
    "random bytes": (lambda _: bytes(range(256)) * 4, NOT_TORCH),
    "odd pickle protocol (torch warned)": (lambda _: b"\x80\x05junk and more junk", NOT_TORCH),
    "PNG image": (lambda _: b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "not a readable PyTorch checkpoint: it is a PNG image"),
    "safetensors": (lambda _: b"\x08\x00\x00\x00\x00\x00\x00\x00{\"a\": 1}",
                    "not a readable PyTorch checkpoint: it is a safetensors file"),
    "zip without torch data": (lambda _: _zip_of_text(), DAMAGED),
    "zip checkpoint cut to 10 bytes": (lambda _: _saved(_good_dict())[:10], DAMAGED),
    "zip checkpoint cut in half": (lambda _: _cut(_saved(_good_dict()), 0.5), DAMAGED),
    "legacy checkpoint cut": (lambda _: _cut(_saved(_good_dict(), legacy=True), 0.6), DAMAGED),
    "legacy storage key changed (was a traceback)": (lambda _: _storage_key_changed(), DAMAGED),
    "os.system in a zip checkpoint": (_with_code(_Touch, legacy=False), CODE.format("posix.system")),
    "exec in a legacy checkpoint": (_with_code(_Exec, legacy=True), CODE.format("exec")),
    "a list": (lambda _: _saved([1, 2, 3]), "not a checkpoint (found a list)"),
    "infinite weight": (lambda _: _bad_weight(float("inf")),
                        "weights contain NaN or infinite values (in 'out_conv.0.bias')"),
    "empty": (lambda _: b"", "file is empty"),
}


def _cut(data: bytes, keep: float) -> bytes:
    return data[: int(len(data) * keep)]


def _zip_of_text() -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("notes.txt", "hello")
    return buf.getvalue()


@pytest.fixture
def image(tmp_path: Path) -> Path:
    from PIL import Image

    from tests.conftest import synthetic_fundus

    Image.fromarray(synthetic_fundus(40, 48)).save(tmp_path / "eye.png")
    return tmp_path / "eye.png"


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_of_bad_checkpoint_is_one_clean_line(kind: str, tmp_path: Path, image: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    build, reason = KINDS[kind]
    model = tmp_path / "model.pt"
    model.write_bytes(build(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch's warnings about a damaged file are not for the user
        rc = main(["segment", str(image), "-o", str(tmp_path / "out"), "--model", str(model), "--device", "cpu"])
    captured = capsys.readouterr()
    assert rc == 1
    assert captured.err == f"error: {model}: {reason}\n"
    assert not (tmp_path / "pwned.txt").exists(), "the checkpoint's code ran"
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("kind", ["text starting 'he' (was ': 101')", "odd pickle protocol (torch warned)",
                                  "legacy storage key changed (was a traceback)"])
def test_a_real_process_prints_only_that_line(kind: str, tmp_path: Path) -> None:
    build, reason = KINDS[kind]
    model = tmp_path / "model.pt"
    model.write_bytes(build(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "core", "info", "--model", str(model)], capture_output=True,
                          text=True, timeout=120, cwd=REPO, env={**os.environ, "PYTHONWARNINGS": "default"})
    assert (proc.returncode, proc.stderr) == (1, f"error: {model}: {reason}\n")
