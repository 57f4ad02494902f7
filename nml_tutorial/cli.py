"""Command line: ``nml-tutorial sweep --preset quick``, ``nml-tutorial claims results.csv``, ``nml-tutorial book``
(also ``python -m nml_tutorial``)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from . import claim_text, claims, presets, reference_runs, results, sweep, viz, zoo
from .config import ALL_METHODS, OBJECTIVES, PROTOCOLS


def _sweep(args) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    swept = sweep.run_sweep(args.preset, seeds=args.seeds, noise_ratios=args.noise, methods=args.methods,
                            protocols=args.protocols, cache_dir=args.cache, out_dir=args.out, device=args.device,
                            progress=not args.no_progress, objective=args.objective, arch=args.arch,
                            pretrain_data=args.pretrain_data, noise_type=args.noise_type, data_root=args.data_root)
    out, table = Path(args.out), swept.table
    objective = table["objective"].iloc[0]  # the preset's, unless --objective chose
    protocol = table["protocol"].iloc[0]  # the figures show the first protocol the sweep ran
    figures = {"accuracy_vs_noise": viz.accuracy_vs_noise(table, protocol=protocol),
               "spectra": viz.spectra(swept.spectra, protocol=protocol),
               "sve_lsvr_vs_noise": viz.sve_lsvr_vs_noise(table, protocol=protocol),
               "methods": viz.method_comparison(table, protocol=protocol)}
    written = [path for name, fig in figures.items() for path in viz.save_figure(fig, out / name, png=not args.no_png)]
    for protocol, method in dict.fromkeys(zip(table["protocol"], table["method"])):
        print(f"\n{method} ({protocol} protocol): top-1 accuracy (%) by pre-training noise (%)")
        print(results.summary_table(table, method, protocol=protocol).to_string())
    print("\nclaims of the study in this table:\n"
          + claim_text.format_claims(claims.claim_table(table, objective=objective), objective))
    print(f"\nwrote {out / 'results.csv'}, {out / 'spectra.csv'} and {len(written)} figure files"
          f" in {time.perf_counter() - started:.0f} s")
    return 0


def _pretrain(args) -> int:
    from .pretrain import pretrain_supervised
    from .runtime import init_distributed, is_main_process, rank_and_world

    device = init_distributed(args.device)
    preset = presets.get_preset(args.preset, arch=args.arch, pretrain_data=args.pretrain_data,
                                noise_type=args.noise_type, data_root=args.data_root)
    if preset.objective != "supervised":
        raise ValueError(f"nml-tutorial pretrain trains supervised runs; preset {preset.name!r} is for "
                         f"{preset.objective!r}: run it with nml-tutorial sweep")
    run = pretrain_supervised(preset.run_config(args.noise, args.seed), cache_dir=args.cache, device=device,
                              progress=not args.no_progress and is_main_process())
    if is_main_process():
        last = run.history[-1] if run.history else {}
        print(f"{run.source}: {run.folder} ({rank_and_world()[1]} process(es), {len(run.history)} epochs, "
              f"last loss {last.get('loss', float('nan')):.4f})")
    return 0


PRESET_HELP = f"a preset name ({', '.join(sorted(presets.PRESETS))}) or a preset file (.json)"
DATA_ROOT_HELP = ("the folder a full-scale preset (imagenette, imagenet100, imagenet1k) reads, laid out by "
                  "data_scripts/ as docs/full-scale.md shows")
DEFAULT_RESULTS = "results/quick/results.csv"  # what `nml-tutorial sweep` writes by default


def _claims(args) -> int:
    if args.reference and args.results is not None:
        raise ValueError("give a sweep's results.csv or --reference (the committed 8 seeds), not both")
    if (args.detail or args.supporting) and not args.markdown:
        raise ValueError("--detail and --supporting shape the markdown table: add --markdown")
    rows = reference_runs.reference_results() if args.reference else results.read_table(args.results or DEFAULT_RESULTS)
    table = claims.claim_table(rows, objective=args.objective)
    shown = table if args.supporting else table[table["primary"]]
    print(claim_text.claims_markdown(shown, detail=args.detail or args.supporting, objective=args.objective)
          if args.markdown
          else claim_text.format_claims(table, args.objective))
    if args.out:
        results.write_table(table, args.out)
        print(f"\nwrote {args.out}")
    return 0


def _notebooks(args) -> int:
    from .series import run_series, summary

    parameters = _parameters(args.parameters) if args.parameters else {}
    if args.retrain:
        parameters["RETRAIN"] = True
    missing = [p for p in args.paths if not Path(p).is_file()]
    if missing:
        raise FileNotFoundError(f"no notebook at {missing[0]}")
    results = run_series(args.out, cache_dir=args.cache, only=args.only, folder=args.dir, parameters=parameters,
                         paths=args.paths)
    print(f"\n{summary(results)}\nfigures in {Path(args.out) / 'figures'}")
    return 0 if all(r.status == "ok" for r in results) else 1


def _book(args) -> int:
    from .book import build_book

    started = time.perf_counter()
    index = build_book(args.notebooks, args.out)
    pages = len(list(index.parent.glob("*.html")))
    print(f"wrote {pages} pages in {time.perf_counter() - started:.1f} s; open {index} in a browser")
    return 0


def _slides(args) -> int:
    from .slides import build_slides

    deck = build_slides(args.notebooks, args.out)
    print(f"wrote {deck} ({deck.stat().st_size / 1e6:.1f} MB, no network needed); open it in a browser, arrow keys "
          "move between slides")
    return 0


def _parameters(path) -> dict:
    """A --parameters file: one JSON object of notebook parameter names to values."""
    path, example = Path(path), '{"SEEDS": [0, 1], "NOISE_RATIOS": [0.0, 0.3]}'
    if not path.is_file():
        raise FileNotFoundError(f"no parameters file at {path}; write one holding a JSON object, e.g. {example}")
    try:
        parameters = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not JSON ({err}); write one JSON object, e.g. {example}") from err
    if not isinstance(parameters, dict):
        raise ValueError(f"{path} holds a {type(parameters).__name__}, not a JSON object; write one, e.g. {example}")
    return parameters


def _batch(args) -> int:
    from . import batch

    grid = batch.load_grid(args.grid)
    if args.jobs:
        grid.jobs = args.jobs
    if args.dry_run:
        print(batch.describe(grid))
        return 0
    table = batch.run_grid(grid)
    states = [c.state for c in grid.cells]
    print(f"{states.count('done')} of {len(states)} cells done; {len(table)} metric rows in "
          f"{grid.out / 'metrics.csv'}, report in {grid.out / 'report.html'}")
    return 0 if all(s == "done" for s in states) else 1


def _zoo(args) -> int:
    def train_run(objective, ratio, cache_dir):
        return sweep.zoo_run(objective, ratio, cache_dir, device=args.device, progress=not args.no_progress)

    out = zoo.build(train_run, args.out)
    for run in zoo.manifest(out)["runs"]:
        size = sum((out / name).stat().st_size for name in run["files"]) / 1e6
        print(f"{run['objective']:<10} noise {run['noise_ratio']:.0%}  {run['key']}  {size:.1f} MB")
    print(f"wrote the model zoo to {out}")
    return 0


def _json_dict(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"not JSON ({err}); quote it: '{{\"name\": \"memmap\", ...}}'") from err
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object of load_dataset arguments")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nml-tutorial", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sweep_cmd = sub.add_parser("sweep",
                               help="pre-train at several noise ratios, probe ID and OOD, write table + figure")
    sweep_cmd.add_argument("--preset", default="quick", help=PRESET_HELP)
    sweep_cmd.add_argument("--objective", choices=OBJECTIVES,
                           help="supervised (label noise) or clip (caption noise, tiny open_clip model); default: the "
                                "preset's own (a named preset: supervised)")
    sweep_cmd.add_argument("--seeds", type=int, nargs="+", help="override the preset's seeds, e.g. --seeds 0 1 2")
    sweep_cmd.add_argument("--noise", type=float, nargs="+", help="override the noise ratios (fractions in [0, 1])")
    sweep_cmd.add_argument("--arch", help="pre-trained model: resnet_small, resnet18, resnet50; with --objective clip "
                           "an open_clip config (RN50, ViT-B-16: 224-px images)")
    sweep_cmd.add_argument("--pretrain-data", type=_json_dict, metavar="JSON",
                           help='pre-training data as load_dataset arguments, e.g. \'{"name": "memmap", "root": '
                           '"data/in100-64", "noisy_labels": "noisy/flip_{ratio:g}_seed{seed}.npy"}\'')
    sweep_cmd.add_argument("--noise-type", help="symmetric, pair, uniform, or file (labels from --pretrain-data's "
                           "noisy_labels)")
    sweep_cmd.add_argument("--data-root", help=DATA_ROOT_HELP)
    sweep_cmd.add_argument("--methods", nargs="+", help=f"override the methods, from {', '.join(ALL_METHODS)}")
    sweep_cmd.add_argument("--protocols", nargs="+", choices=PROTOCOLS,
                       help="evaluation protocols (default both): tuned, and the study's own")
    sweep_cmd.add_argument("--out", default="results/quick", help="folder for results.csv and figures")
    sweep_cmd.add_argument("--cache", default=".cache", help="folder of cached runs, features and probe rows")
    sweep_cmd.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    sweep_cmd.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    sweep_cmd.add_argument("--no-progress", action="store_true", help="no progress bars (batch runs)")
    sweep_cmd.add_argument("--no-png", action="store_true", help="write HTML figures only")
    sweep_cmd.set_defaults(func=_sweep)
    pre = sub.add_parser("pretrain",
                         help="pre-train one run of a preset (under torchrun: on every GPU, or gloo on CPUs)")
    pre.add_argument("--preset", default="quick", help=PRESET_HELP)
    pre.add_argument("--noise", type=float, default=0.0, help="the noise ratio, a fraction in [0, 1]")
    pre.add_argument("--seed", type=int, default=0)
    pre.add_argument("--arch", help="resnet_small, resnet18 or resnet50")
    pre.add_argument("--pretrain-data", type=_json_dict, metavar="JSON", help="as for sweep")
    pre.add_argument("--noise-type", help="symmetric, pair, uniform, or file")
    pre.add_argument("--data-root", help=DATA_ROOT_HELP)
    pre.add_argument("--cache", default=".cache", help="folder of cached runs (shared with sweep)")
    pre.add_argument("--device", default="auto", help="auto, cpu, cuda (torchrun: one GPU per process)")
    pre.add_argument("--no-progress", action="store_true")
    pre.set_defaults(func=_pretrain)
    books = sub.add_parser("notebooks", help="execute the notebook series (quick parameters) with papermill")
    books.add_argument("paths", nargs="*", help="notebooks to run instead of the series (any .ipynb with a "
                       "parameters cell)")
    books.add_argument("--out", default="results/notebooks", help="folder for executed notebooks and figures")
    books.add_argument("--cache", default=".cache", help="folder of cached runs, shared with `sweep`")
    books.add_argument("--only", nargs="+", help="notebook name prefixes, e.g. --only 00 03")
    books.add_argument("--dir", help="folder of the notebooks (default: the source checkout's notebooks/)")
    books.add_argument("--retrain", action="store_true",
                       help="train the pre-trained models here instead of starting from the model zoo")
    books.add_argument("--parameters", help="a JSON file of parameter values for every notebook run")
    books.set_defaults(func=_notebooks)
    book = sub.add_parser("book", help="render the executed series (make run) as a static web book")
    book.add_argument("--notebooks", default="results/notebooks", help="folder of executed notebooks (make run's)")
    book.add_argument("--out", default="results/book", help="folder for the book's pages")
    book.set_defaults(func=_book)
    deck = sub.add_parser("slides", help="an offline slide deck of the executed series (make run) for a class")
    deck.add_argument("--notebooks", default="results/notebooks", help="folder of executed notebooks (make run's)")
    deck.add_argument("--out", default="results/slides.html", help="the deck: one self-contained HTML file")
    deck.set_defaults(func=_slides)
    grid = sub.add_parser("batch", help="run a notebook (papermill) or the sweep over a parameter grid (GRID.yaml)")
    grid.add_argument("grid", help="the grid file: notebook or sweep, out, parameters, grid, jobs")
    grid.add_argument("--dry-run", action="store_true", help="list the cells and their commands; run nothing")
    grid.add_argument("--jobs", type=int, help="cells at once (default: the file's, else one per GPU, else 1)")
    grid.set_defaults(func=_batch)
    zoo_cmd = sub.add_parser("zoo", help="train the model zoo the notebooks start from (the quick preset's runs)")
    zoo_cmd.add_argument("action", choices=["build"], help="build: train every zoo run afresh and write the zoo")
    zoo_cmd.add_argument("--out", default=str(zoo.ZOO_DIR), help="the zoo folder (default: the package's own)")
    zoo_cmd.add_argument("--device", default="cpu", help="cpu (the zoo is trained in fp32 on a CPU), cuda, ...")
    zoo_cmd.add_argument("--no-progress", action="store_true", help="no progress bars")
    zoo_cmd.set_defaults(func=_zoo)
    claim = sub.add_parser("claims", help="the study's claims in a results table: effects, t intervals, verdicts")
    claim.add_argument("results", nargs="?", help=f"a sweep's results.csv (default {DEFAULT_RESULTS})")
    claim.add_argument("--reference", action="store_true", help="the committed 8 reference seeds of the quick preset")
    claim.add_argument("--markdown", action="store_true", help="the primary measures as a markdown table (README)")
    claim.add_argument("--detail", action="store_true",
                       help="with --markdown: p, seeds needed and state of each measure, the verdicts and the "
                            "protocols' contrasts (docs/quick-results.md)")
    claim.add_argument("--supporting", action="store_true", help="with --markdown: the supporting rows too")
    claim.add_argument("--objective", default="supervised", choices=OBJECTIVES)
    claim.add_argument("--out", help="also write the claim table as CSV here")
    claim.set_defaults(func=_claims)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, OSError) as err:  # OSError: a missing file, a read-only or full disk
        print(f"nml-tutorial: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
