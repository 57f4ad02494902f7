"""An offline slide deck for a 90-minute class: ``nml-tutorial slides``, ``make slides``.

One self-contained HTML file: the study's own evidence in words (its protocol, claims and method, no numbers from
its tables), then the figures the executed series wrote (``make run``), each with one take-away sentence. The PNGs
are embedded, so the file opens from a USB stick with no network; the arrow keys (or a click) move between slides,
and printing gives one slide per page for handouts.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from .atomic import atomic_write_text
from .claim_text import STUDY_REPORTS
from .claims import CLAIMS

STUDY = "Chen et al., Understanding and Mitigating the Label Noise in Pre-training on Downstream Tasks (ICLR 2024; " \
        "TPAMI 2025, Impact of Noisy Supervision in Foundation Model Learning)"

# The study's own evidence, in words: (title, bullet points)
STUDY_SLIDES = [
    ("What the study did", [
        "Pre-trained ResNet-50 on ImageNet-1K with 0, 5, 10, 20 and 30 % of the labels flipped uniformly at random",
        "Pre-trained CLIP (ResNet-50, ViT-B-16) on YFCC15M and CC12M with 0-30 % of the captions swapped",
        "Froze each encoder and fitted a linear probe: 14 in-domain datasets (CIFAR-10/100, Flowers, Food, Pets, "
        "Cars, Aircraft, DTD, STL10, Caltech101, EuroSAT, ...)",
        "Out of domain: DomainNet (probe on one domain, test on the others) and ImageNet-V2, -Sketch, -R and -A",
        "The probe: AdamW, learning rate 0.01, weight decay 1e-4, batch 64, 30 epochs, cosine schedule"]),
    ("What the study reports", [f"{claim}: {STUDY_REPORTS[claim]}" for claim in CLAIMS]),
    ("The study's explanation: the singular-value spectrum", [
        "Features F (M x D) of a downstream set, singular values σ, shares p = σ / Σσ",
        "SVE = −Σ pᵢ log pᵢ rises with noise: more directions in use, read as good for in-domain transfer",
        "LSVR = −log p₁ rises with noise: the dominant direction loses its share, read as bad under shift",
        "Its Figure 3 plots both against the noise ratio"]),
    ("The study's repair: NMTune", [
        "Keep the pre-trained encoder frozen (black box); learn z = s ⊙ MLP(f) + f and a linear classifier on z",
        "Loss = cross-entropy + 1.0 · MSE(z, f) + 0.04 · covariance of z − 0.001 · share of the top singular values",
        "MSE keeps the pre-trained knowledge; the covariance term decorrelates dimensions; the last term restores the "
        "dominant directions' share",
        "Reported against the linear probe and an MLP head, in-domain and out of domain; also in a "
        "parameter-efficient form that tunes the backbone"]),
]

# The series' figures (stem written by `make run`, title, take-away): number-free, true of every run of the series
FIGURE_SLIDES = [
    ("00_paper_vs_here", "The study against this package",
     "Per claim: what the study reports, this package's interval over the 8 reference seeds, and its verdict."),
    ("01_noise_matrix", "The noise",
     "Symmetric noise keeps 1 − r of each class on the diagonal and spreads r evenly over the other classes."),
    ("02_training_curves", "The regime: does the model memorise?",
     "The compact model fits only a few per cent of its flipped labels: noise removes signal instead of being "
     "memorised, unlike the study's converged ResNet-50s."),
    ("00_accuracy_vs_noise", "C1 and C2: accuracy against noise",
     "Thin lines are the 8 reference seeds: read one run's rise or fall at 5-10 % noise against their "
     "spread."),
    ("04_spectra", "C3: the spectrum flattens",
     "Divided by the clean model's shares, the first directions lose share and the tail gains it."),
    ("00_sve_lsvr_vs_noise", "C3 in two numbers",
     "Over the 8 reference seeds SVE and LSVR of the in-domain features rise with noise, as the study found."),
    ("04_umap", "The same features in two dimensions",
     "Clean and noisy features of the same images; crosses mark the images whose label was flipped."),
    ("05_methods", "C4: NMTune against the probe and the heads",
     "Compare NMTune with the strongest baseline, not the weakest: the claim is about beating both."),
    ("05_methods_pe", "C4, parameter-efficient",
     "Tuning the last block changes the encoder itself; read it beside the frozen encoder's probe."),
    ("06_zero_shot_vs_noise", "The same story for CLIP",
     "Swapped captions in contrastive pre-training, read by zero-shot classification."),
]

STYLE = """<style>
body { margin: 0; font: 22px/1.4 system-ui, sans-serif; background: #222; }
section { display: none; box-sizing: border-box; width: 100vw; height: 100vh; padding: 3vh 4vw; background: #fff; }
section.shown { display: flex; flex-direction: column; }
h1 { font-size: 34px; margin: 0 0 2vh; } h2 { font-size: 30px; margin: 0 0 1.5vh; }
section img { flex: 1; min-height: 0; object-fit: contain; }
.take { font-size: 22px; margin-top: 1.5vh; color: #333; } .where { color: #777; font-size: 16px; }
li { margin: 1.2vh 0; } footer { margin-top: auto; color: #999; font-size: 14px; }
@media print { body { background: #fff; } section { display: flex !important; page-break-after: always; } }
</style>"""

SCRIPT = """<script>
const slides = document.querySelectorAll("section"); let at = 0;
function show(i) { at = Math.max(0, Math.min(slides.length - 1, i));
  slides.forEach((s, k) => s.classList.toggle("shown", k === at)); }
document.addEventListener("keydown", e => {
  if (["ArrowRight", "PageDown", " "].includes(e.key)) show(at + 1);
  if (["ArrowLeft", "PageUp"].includes(e.key)) show(at - 1); });
document.addEventListener("click", e => show(at + (e.clientX > innerWidth / 3 ? 1 : -1)));
show(0);
</script>"""


def _text_slide(title: str, points: list[str]) -> str:
    items = "".join(f"<li>{html.escape(p)}</li>" for p in points)
    return f"<section><h2>{html.escape(title)}</h2><ul>{items}</ul><footer>{html.escape(STUDY)}</footer></section>"


def _figure_slide(title: str, png: Path, take_away: str) -> str:
    data = base64.b64encode(png.read_bytes()).decode("ascii")
    return (f"<section><h2>{html.escape(title)}</h2><img alt='{html.escape(png.stem)}' "
            f"src='data:image/png;base64,{data}'><div class='take'>{html.escape(take_away)}</div>"
            f"<div class='where'>{html.escape(png.stem)} · from the executed series</div></section>")


def build_slides(notebooks_dir, out) -> Path:
    """Write the deck to ``out`` (one HTML file) from the figures of the series executed into ``notebooks_dir``."""
    figures = Path(notebooks_dir) / "figures"
    missing = [stem for stem, _, _ in FIGURE_SLIDES if not (figures / f"{stem}.png").exists()]
    if missing:
        raise FileNotFoundError(f"{figures} lacks {len(missing)} of the slides' figures ({', '.join(missing)}): run "
                                "the series first (`make run`, or `nml-tutorial notebooks --out "
                                f"{notebooks_dir}`), with static figures on (NML_STATIC_FIGURES not 0)")
    title = ("<section><h1>Noisy labels in pre-training</h1><p>What label noise does to a model's feature space, "
             "in-domain and out of domain, and how NMTune repairs it without touching the pre-trained weights.</p>"
             f"<p class='where'>{html.escape(STUDY)}</p><p class='where'>Arrow keys or a click move between "
             "slides; print for handouts.</p></section>")
    slides = [title, *(_text_slide(t, points) for t, points in STUDY_SLIDES),
              *(_figure_slide(t, figures / f"{stem}.png", take) for stem, t, take in FIGURE_SLIDES),
              _figure_slide("What showed at this scale, and what did not", figures / "00_paper_vs_here.png",
                            "Which of the study's scale would you need to see C1? (docs/teaching.md, the last ask)")]
    page = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Noisy labels in pre-training"
            f"</title>{STYLE}</head><body>{''.join(slides)}{SCRIPT}</body></html>")
    return atomic_write_text(page, out)
