"""The offline slide deck (`nml-tutorial slides`): every slide's figure embedded, nothing fetched from a network,
the study's evidence in words, and a clear error when the series has not run. The real figures are read in
tests/test_notebooks.py (the deck built from the executed series)."""

import base64
import re

import pytest

from nml_tutorial.claim_text import STUDY_REPORTS
from nml_tutorial.claims import CLAIMS
from nml_tutorial.cli import main
from nml_tutorial.slides import FIGURE_SLIDES, STUDY_SLIDES, build_slides

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5Er"
                       "kJggg==")  # a 1x1 PNG


def fake_series(folder, skip=()):
    (folder / "figures").mkdir(parents=True)
    for stem, _, _ in FIGURE_SLIDES:
        if stem not in skip:
            (folder / "figures" / f"{stem}.png").write_bytes(PNG)
    return folder


def test_the_deck_embeds_every_figure_and_needs_no_network(tmp_path):
    deck = build_slides(fake_series(tmp_path / "series"), tmp_path / "slides.html").read_text()
    slides = re.findall(r"<section>.*?</section>", deck, flags=re.S)
    assert len(slides) == 1 + len(STUDY_SLIDES) + len(FIGURE_SLIDES) + 1  # title, study, figures, closing
    assert deck.count("data:image/png;base64,") == len(FIGURE_SLIDES) + 1
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", deck)  # no script, style or image from a network
    assert all(STUDY_REPORTS[c].split(" (")[0].replace("&", "&amp;") in deck for c in CLAIMS)


def test_a_missing_figure_names_it_and_the_command_that_makes_it(tmp_path):
    series = fake_series(tmp_path / "series", skip=("04_spectra",))
    with pytest.raises(FileNotFoundError, match=r"04_spectra.*make run"):
        build_slides(series, tmp_path / "slides.html")
    assert not (tmp_path / "slides.html").exists()


def test_the_cli_writes_the_deck(tmp_path, capsys):
    assert main(["slides", "--notebooks", str(fake_series(tmp_path / "s")), "--out", str(tmp_path / "d.html")]) == 0
    assert (tmp_path / "d.html").exists() and "no network needed" in capsys.readouterr().out
