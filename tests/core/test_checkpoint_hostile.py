"""Hostile checkpoints beyond tests/core/test_checkpoint.py: other pickle payloads and formats, Inf weights,
mutated files, and the CLI refusing them end to end. Nothing in a checkpoint may run."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from core.cli import main
from core.errors import CheckpointError
from core.ml.checkpoint import load_checkpoint, model_checkpoint, save_checkpoint
from core.ml.model import UNet
from core.ml.preprocessing import Preprocessing
from tests.conftest import synthetic_fundus
from tests.fuzz_corpus import mutate

PRE = Preprocessing((0.5, 0.4, 0.3), (0.2, 0.2, 0.1))


class _Touch:
    """Unpickling runs ``os.system('touch <target>')``: a payload that would create a file."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


class _Exec:
    """Unpickling runs ``exec(...)`` writing a file."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (exec, (f"open({str(self.target)!r}, 'w').write('pwned')",))


def _good_dict() -> dict:
    torch.manual_seed(0)
    return model_checkpoint(UNet(base_c=4), PRE).to_dict()


@pytest.mark.parametrize("payload", [_Touch, _Exec], ids=["os.system", "exec"])
@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy-format"])
@pytest.mark.parametrize("where", ["top", "metrics", "weights"])
def test_code_in_any_corner_of_a_checkpoint_is_refused_and_never_runs(tmp_path: Path, payload, legacy: bool,
                                                                         where: str):
    victim = tmp_path / "pwned.txt"
    d = _good_dict()
    if where == "top":
        d["extra"] = payload(victim)
    elif where == "metrics":
        d["metrics"] = {"validation": payload(victim)}
    else:
        d["model"] = {**d["model"], "in_conv.0.weight": payload(victim)}
    path = tmp_path / "evil.pt"
    torch.save(d, path, _use_new_zipfile_serialization=not legacy)

    with pytest.raises(CheckpointError, match="refused") as info:
        load_checkpoint(path)

    assert not victim.exists(), "the pickled code ran"
    assert str(path) in str(info.value)


@pytest.mark.parametrize("value", [float("inf"), float("-inf")])
def test_infinite_weights_are_refused(tmp_path: Path, value: float):
    d = _good_dict()
    d["model"]["out_conv.0.bias"][0] = value
    torch.save(d, tmp_path / "inf.pt")
    with pytest.raises(CheckpointError, match="NaN or infinite.*out_conv.0.bias"):
        load_checkpoint(tmp_path / "inf.pt")


def test_a_checkpoint_of_another_architecture_is_refused(tmp_path: Path):
    """A real network that is not this UNet (a small ResNet-like stack) under the project's own format."""
    other = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.Linear(8, 2))
    torch.save({**_good_dict(), "model": other.state_dict()}, tmp_path / "resnet.pt")
    with pytest.raises(CheckpointError, match="do not fit"):
        load_checkpoint(tmp_path / "resnet.pt")
    torch.save(other.state_dict(), tmp_path / "bare.pt")
    with pytest.raises(CheckpointError, match="not a UNet"):
        load_checkpoint(tmp_path / "bare.pt")


def test_mutated_checkpoints_load_or_are_refused_clearly(tmp_path: Path):
    """150 byte-level mutants (truncations, flips, insertions...) of a valid file: CheckpointError or a usable model."""
    torch.manual_seed(0)
    good = save_checkpoint(model_checkpoint(UNet(base_c=4), PRE), tmp_path / "good.pt").read_bytes()
    rng = random.Random(0)
    outcomes = {"loaded": 0, "refused": 0}
    for i in range(150):
        data, how = mutate(good, rng)
        path = tmp_path / f"m{i % 5}.pt"
        path.write_bytes(data)
        try:
            ckpt = load_checkpoint(path)
        except CheckpointError as exc:
            assert str(path) in str(exc), how
            outcomes["refused"] += 1
        else:
            model = ckpt.build_model()
            with torch.inference_mode():
                out = model(torch.rand(1, 3, 32, 32))["out"]
            assert out.shape == (1, 2, 32, 32) and bool(torch.isfinite(out).all()), how
            outcomes["loaded"] += 1
    assert outcomes["refused"] > 40, outcomes


def _evil(tmp_path: Path) -> tuple[Path, Path]:
    victim = tmp_path / "pwned.txt"
    path = tmp_path / "evil.pt"
    torch.save({**_good_dict(), "extra": _Touch(victim)}, path)
    return path, victim


def test_the_cli_refuses_a_checkpoint_with_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    evil, victim = _evil(tmp_path)
    from PIL import Image

    Image.fromarray(synthetic_fundus(40, 48)).save(tmp_path / "eye.png")
    rc = main(["segment", str(tmp_path / "eye.png"), "-o", str(tmp_path / "out"), "--model", str(evil)])
    err = capsys.readouterr().err
    assert rc == 1
    assert err.startswith(f"error: {evil}: refused to load") and "Traceback" not in err
    assert not victim.exists()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_python_m_core_info_refuses_a_checkpoint_with_code(tmp_path: Path):
    evil, victim = _evil(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "core", "info", "--model", str(evil)], capture_output=True,
                          text=True, timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 1
    assert "refused to load" in proc.stderr and "Traceback" not in proc.stderr
    assert not victim.exists()
