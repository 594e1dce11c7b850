"""Where a run happened: the machine and the library versions, recorded beside every result.

A number measured in this book means little without the machine that produced it: the same
chapter takes seconds on one computer and minutes on another. ``make execute`` stores this
description in each notebook's metadata, and chapter 7 prints it beside its training times.
Standard library only, so any chapter can import it.
"""

from __future__ import annotations

import os
from typing import Any

#: Where the NVIDIA driver lists the GPUs it sees (one folder per GPU).
NVIDIA_GPUS = "/proc/driver/nvidia/gpus"


def machine_description() -> dict[str, Any]:
    """Where a run happened: processor, cores, memory, accelerators and library versions."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        memory_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        memory_gib = None
    versions = {}
    for package in ("tensorflow", "keras", "numpy", "jax"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            continue
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": memory_gib,
        "nvidia_gpus": len(os.listdir(NVIDIA_GPUS)) if os.path.isdir(NVIDIA_GPUS) else 0,
        "python": platform.python_version(),
        "packages": versions,
    }
