"""Optic disc: found on fundus-like images, "not found" (with a reason) where there is none, zone geometry."""

from __future__ import annotations

import numpy as np
import pytest

from core.io.datasets import DATA_ENV, DRIONS_FOLDER, default_data_root, find_drions, load_disc_mask
from core.io.images import read_image
from core.measure.optic_disc import DiscNotFound, OpticDisc, find_optic_disc, zone, zone_radii


def fundus_with_disc(
    h: int = 400, w: int = 420, disc: tuple[float, float] | None = (300, 190), diameter: float = 60,
    vessels: bool = True, seed: int = 0,
) -> np.ndarray:
    """An RGB 'fundus': orange FOV on black, darker towards its rim, grainy; with ``disc`` a pale spot of
    ``diameter`` px at (x, y), and dark vessels that leave it in arcs (or, without a disc, cross the field)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cy, cx, r = h / 2, w / 2, 0.47 * min(h, w)
    rho = np.hypot(yy - cy, xx - cx) / r
    img = np.zeros((h, w, 3), np.float32)
    img[:] = (190, 85, 40)
    img *= (1 - 0.35 * rho ** 2)[..., None]
    if disc is not None:
        dx, dy = disc
        d = np.hypot(xx - dx, yy - dy)
        pale = np.clip((diameter / 2 + 1.5 - d) / 3, 0, 1)  # a margin about 3 px wide
        img += pale[..., None] * np.array([55, 90, 70], np.float32)
        origin = (dx, dy)
    else:
        origin = (cx + 1.6 * r, cy)  # vessels of a disc far outside the field
    ox, oy = origin
    vessel = np.zeros((h, w), bool)
    for k, bend in enumerate((-0.9, -0.5, -0.2, 0.2, 0.5, 0.9)):
        t = np.linspace(0, 1.6 * r, 400)
        angle = np.pi + bend * 1.2 + 0.25 * bend * t / r  # leave towards the macula side, curving
        width = 3.5 if k in (0, 5) else 2.5
        for x, y in zip(ox + t * np.cos(angle), oy + t * np.sin(angle), strict=True):
            vessel |= (xx - x) ** 2 + (yy - y) ** 2 <= width ** 2
    img[vessel] *= 0.7
    if not vessels:
        img[:] = img.mean(axis=(0, 1))
    img += rng.normal(0, 3, img.shape)
    img[rho > 1] = 4
    return np.clip(img, 0, 255).astype(np.uint8)


def test_a_pale_disc_beside_the_fov_edge_is_found_within_a_tenth_of_its_diameter():
    image = fundus_with_disc(disc=(330, 200), diameter=60)
    disc = find_optic_disc(image)
    assert isinstance(disc, OpticDisc), disc
    assert np.hypot(disc.x - 330, disc.y - 200) <= 0.1 * 60
    assert 0.85 * 60 <= disc.diameter <= 1.15 * 60
    assert disc.method == "detector" and 0 < disc.score <= 1


def test_a_disc_in_the_middle_of_a_larger_image_is_found():
    """Disc-centred photograph, another size: the search scales with the FOV."""
    image = fundus_with_disc(h=700, w=760, disc=(380, 350), diameter=110, seed=1)
    disc = find_optic_disc(image)
    assert isinstance(disc, OpticDisc), disc
    assert np.hypot(disc.x - 380, disc.y - 350) <= 0.1 * 110
    assert 0.85 * 110 <= disc.diameter <= 1.15 * 110


def test_the_given_fov_is_used_and_must_match_the_image():
    image = fundus_with_disc()
    fov = np.zeros(image.shape[:2], bool)
    fov[10:-10, 10:-10] = True
    assert isinstance(find_optic_disc(image, fov), OpticDisc)
    with pytest.raises(ValueError, match="FOV mask"):
        find_optic_disc(image, fov[:-1])


@pytest.mark.parametrize("case", ["flat", "vessels without a disc"])
def test_a_field_without_a_disc_is_not_found_rather_than_guessed(case: str):
    image = fundus_with_disc(disc=None, vessels=case != "flat")
    result = find_optic_disc(image)
    assert isinstance(result, DiscNotFound), result
    assert result.reason


@pytest.mark.parametrize(("image", "words"), [
    (np.zeros((300, 300, 3), np.uint8), "too dark"),
    (np.full((40, 50, 3), 120, np.uint8), "too small"),
])
def test_empty_or_tiny_images_say_why(image: np.ndarray, words: str):
    result = find_optic_disc(image)
    assert isinstance(result, DiscNotFound) and words in result.reason


def test_gray_and_16_bit_images_are_accepted():
    rgb = fundus_with_disc()
    gray16 = (rgb.astype(np.uint16).sum(axis=2) * 80).astype(np.uint16)
    disc = find_optic_disc(gray16)
    assert isinstance(disc, OpticDisc), disc
    assert np.hypot(disc.x - 300, disc.y - 190) <= 0.2 * 60


def test_zone_b_and_c_are_measured_from_the_disc_margin_in_disc_diameters():
    disc = OpticDisc(100.0, 80.0, 40.0)  # radius 20: margin 20 px from the centre
    b, c = zone(disc, "B"), zone(disc, "c")
    assert (b.inner, b.outer) == (40.0, 60.0)  # 0.5–1 DD from the margin: 20+20 .. 20+40
    assert (c.inner, c.outer) == (40.0, 100.0)  # 0.5–2 DD: 20+20 .. 20+80
    assert zone_radii(disc) == {"A": (20.0, 40.0), "B": (40.0, 60.0), "C": (40.0, 100.0)}
    assert b.contains(100 + 50, 80) and not b.contains(100 + 30, 80) and not b.contains(100, 80 + 60)
    mask = b.mask((200, 250))
    expected = np.pi * (60 ** 2 - 40 ** 2)
    assert abs(mask.sum() - expected) / expected < 0.02
    with pytest.raises(ValueError, match="unknown zone"):
        zone(disc, "D")


def test_a_disc_moved_or_resized_by_hand_says_so_and_survives_the_sidecar():
    found = OpticDisc(10.5, 20.25, 30.0, 0.8, "detector")
    moved = found.moved(12.0, 22.0).resized(33.0)
    assert (moved.x, moved.y, moved.diameter, moved.method, moved.score) == (12.0, 22.0, 33.0, "hand", 1.0)
    assert OpticDisc.from_dict(found.as_dict()) == found
    with pytest.raises(ValueError, match="diameter"):
        OpticDisc.from_dict({"x": 1, "y": 2})
    with pytest.raises(ValueError, match="positive diameter"):
        OpticDisc(1, 2, 0)
    with pytest.raises(ValueError, match="method"):
        OpticDisc(1, 2, 3, method="guess")


def _drions_root():
    root = default_data_root()
    if root is None or not (root / DRIONS_FOLDER).is_dir():
        pytest.skip(f"set {DATA_ENV} to the dataset pool holding {DRIONS_FOLDER}/ to run this test")
    return root / DRIONS_FOLDER


def test_discs_of_a_few_drions_training_photographs_overlap_their_manual_masks():
    """Real analogue photographs (training split only: the test split is for the benchmark)."""
    files = find_drions(_drions_root(), "training")
    assert len(files) == 90
    for f in files[::18]:
        mask = load_disc_mask(f.disc)
        disc = find_optic_disc(read_image(f.image))
        assert isinstance(disc, OpticDisc), f"{f.name}: {disc}"
        yy, xx = np.ogrid[: mask.shape[0], : mask.shape[1]]
        circle = (xx - disc.x) ** 2 + (yy - disc.y) ** 2 <= disc.radius ** 2
        dice = 2 * (circle & mask).sum() / (circle.sum() + mask.sum())
        assert dice > 0.7, f"{f.name}: Dice {dice:.2f}"


def test_drions_finder_pairs_each_listed_image_with_its_disc_mask(tmp_path):
    from core.io.images import write_image

    (tmp_path / "images").mkdir()
    (tmp_path / "od").mkdir()
    mask = np.zeros((40, 60), np.uint8)
    mask[10:20, 20:35] = 250  # JPEG masks are not exactly 0/255
    mask[0, 0] = 100
    for name in ("image_001.jpg", "image_002.jpg"):
        write_image(tmp_path / "images" / name, np.full((40, 60, 3), 90, np.uint8))
        write_image(tmp_path / "od" / name, mask)
    (tmp_path / "split-train.txt").write_text("image_001.jpg\n")
    (tmp_path / "split-test.txt").write_text("image_002.jpg\n\n")
    [train] = find_drions(tmp_path, "training")
    [test] = find_drions(tmp_path, "test")
    assert (train.name, test.name) == ("image_001", "image_002")
    disc = load_disc_mask(test.disc)
    assert disc.dtype == bool and 140 <= disc.sum() <= 160 and not disc[0, 0]
    (tmp_path / "od" / "image_002.jpg").unlink()
    with pytest.raises(FileNotFoundError, match="image_002"):
        find_drions(tmp_path, "test")
