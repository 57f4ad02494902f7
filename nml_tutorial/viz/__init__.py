"""Figures, their static files and the notebooks' widgets: ``viz.accuracy_vs_noise(table)``, ``viz.saved(fig, stem)``,
``viz.noise_explorer(data)``. Three rooms: :mod:`.figures` (plotly figures), :mod:`.export` (HTML and PNG files),
:mod:`.pictures` (one run's data and training), :mod:`.widgets` (sliders driving figures), :mod:`.summary` (the study
against this package); :mod:`.layout` holds what every figure shares.
"""

from .export import save_figure, saved
from .figures import accuracy_vs_noise, id_ood_curve, method_comparison, spectra, spectrum_at, sve_lsvr_vs_noise
from .layout import DOMAIN_COLOURS, METHOD_COLOURS
from .pictures import batch_report, image_grid, training_curves, transition_heatmap, umap_scatter
from .summary import paper_vs_here
from .widgets import noise_explorer, noise_sweep_explorer

__all__ = ["DOMAIN_COLOURS", "METHOD_COLOURS", "accuracy_vs_noise", "batch_report", "id_ood_curve", "image_grid",
           "method_comparison", "noise_explorer", "noise_sweep_explorer", "paper_vs_here", "save_figure", "saved",
           "spectra", "spectrum_at", "sve_lsvr_vs_noise", "training_curves", "transition_heatmap", "umap_scatter"]
