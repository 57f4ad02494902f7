"""A benchmark's printed lines into docs/benchmarks.md: ``--record`` replaces the script's own marked section there
with what it just measured, under the machine, CPU capability, torch version and date, so no measurement is copied
by hand."""

import platform
import sys
import time
from pathlib import Path

import torch

from nml_tutorial.atomic import atomic_write_text
from nml_tutorial.runtime import cpu_capability

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def machine() -> str:
    """This machine in one line: CPU model, cores, capability, GPU (if any), torch, date."""
    info = Path("/proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in (info.read_text().splitlines() if info.exists() else [])
             if line.startswith("model name")]
    cpu = names[0] if names else platform.processor() or "unknown CPU"
    gpu = f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return (f"{cpu}, {torch.get_num_threads()} threads, capability {cpu_capability()}{gpu}, torch "
            f"{torch.__version__}, {time.strftime('%Y-%m-%d')}")


class Recorder:
    """Prints each line as a benchmark measures it and keeps them; ``save()`` writes them to ``path`` under the
    heading of ``name`` between ``<!-- bench:name -->`` markers (added at the end the first time)."""

    def __init__(self, name: str, path: Path = DOCS):
        self.name, self.path, self.lines = name, Path(path), []

    def print(self, text: str = "") -> None:
        print(text, flush=True)
        self.lines.append(text)

    def save(self) -> Path:
        start, end = f"<!-- bench:{self.name} -->", f"<!-- /bench:{self.name} -->"
        command = " ".join(["python", *sys.argv])
        section = "\n".join([start, f"`{command}` on {machine()}:", "", "```", *self.lines, "```", end])
        text = self.path.read_text() if self.path.exists() else ""
        if start in text and end in text:
            text = text[:text.index(start)] + section + text[text.index(end) + len(end):]
        else:
            text = text.rstrip() + f"\n\n### `bench/{self.name}.py`\n\n{section}\n"
        atomic_write_text(text if text.endswith("\n") else text + "\n", self.path)
        return self.path
