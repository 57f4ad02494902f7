"""NMTune on cached features against the authors' way: re-encoding two augmented views every step.

Same frozen encoder (the quick preset's clean pre-trained model, from the run cache or the model zoo),
same downstream data, same epochs and hyper-parameters, in one process. Prints the speed ratio
and both accuracies (in-domain photo, and the mean over the shifted domains). Target: >= 20x, accuracy
within 1 point.

    python bench/nmtune_cached.py [--epochs 40] [--cache .cache]
"""

import argparse
import torch

from nml_tutorial.experiments import build_probe_tasks, get_preset
from nml_tutorial.features import extract
from nml_tutorial.nmtune import train_head
from nml_tutorial.pretrain import pretrain_supervised
from nml_tutorial.runtime import cpu_capability
from timing import timed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--cache", default=".cache")
    args = parser.parse_args()
    preset = get_preset("quick", tasks=["downstream_classes"])
    run = pretrain_supervised({**preset["pretrain"], "noise_ratio": 0.0}, cache_dir=args.cache, progress=False,
                              zoo=True)  # the quick clean model: the model zoo ships it
    task = next(t for t in build_probe_tasks(preset) if t.name == "downstream_classes")
    tests = {d: (extract(run.model, ds.images), ds.labels) for d, ds in task.tests.items()}
    hp = {"epochs": args.epochs}

    def accuracies(tuned):
        acc = {d: tuned.accuracy(f, y) * 100 for d, (f, y) in tests.items()}
        return acc["photo"], sum(v for d, v in acc.items() if d != "photo") / (len(acc) - 1)

    cached, t_cached = timed(lambda: train_head("nmtune", extract(run.model, task.train.images),
                                                task.train.labels, hp))
    train_f = extract(run.model, task.train.images)
    views, t_views = timed(lambda: train_head("nmtune", train_f, task.train.labels, hp,
                                              views=(run.model, task.train.images)))
    print(f"{len(task.train)} training images, {args.epochs} epochs, CPU capability {cpu_capability()}, "
          f"{torch.get_num_threads()} threads")
    for name, tuned, seconds in (("re-encode two augmented views (baseline)", views, t_views),
                                 ("cached features (encode once)", cached, t_cached)):
        id_acc, ood_acc = accuracies(tuned)
        print(f"{name:<42} {seconds:7.2f} s  x{t_views / seconds:6.1f}   ID {id_acc:5.1f} %   OOD mean {ood_acc:5.1f} %")


if __name__ == "__main__":
    main()
