"""The CUDA GPUs this process can see, for ``device="cuda"`` (checked before any work, never guessed)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess

#: Seconds ``nvidia-smi -L`` may take before it counts as no answer.
NVIDIA_SMI_TIMEOUT_S = 10.0


def visible_cuda_gpus() -> tuple[int, str]:
    """How many CUDA GPUs this process may use, and how that was found (for the error when there are none)."""
    masked = os.environ.get("CUDA_VISIBLE_DEVICES")
    if masked is not None and masked.strip() in ("", "-1"):
        return 0, f"CUDA_VISIBLE_DEVICES={masked!r} hides every GPU"
    smi = shutil.which("nvidia-smi")
    if smi is not None:
        try:
            listed = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=NVIDIA_SMI_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired):
            listed = None
        if listed is not None and listed.returncode == 0:
            count = sum(1 for line in listed.stdout.splitlines() if line.startswith("GPU "))
            if masked is not None:
                count = min(count, len([d for d in masked.split(",") if d.strip()]))
            return count, "nvidia-smi -L lists none" if count == 0 else "nvidia-smi -L"
    if importlib.util.find_spec("torch") is not None:
        import torch

        count = torch.cuda.device_count()
        return count, "torch.cuda finds none" if count == 0 else "torch.cuda"
    return 0, "no nvidia-smi on PATH and no PyTorch to ask"


__all__ = ["visible_cuda_gpus"]
