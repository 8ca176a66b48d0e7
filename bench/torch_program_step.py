"""What bench/torch_clip.py and bench/torch_glom.py share: the thread settings (made on import,
before torch loads), loading a network of Patchbay's PyTorch export, and the learning-rate
schedules of src/runtime/training/schedule.ts.

Import this module before torch: OpenBLAS sizes its own thread pool when it loads, whatever
torch.set_num_threads says later.
"""

import importlib.util
import math
import os
import sys


def _threads_from_argv() -> str:
    argv = sys.argv[1:]
    return argv[argv.index("--threads") + 1] if "--threads" in argv[:-1] else "2"


os.environ.setdefault("OPENBLAS_NUM_THREADS", _threads_from_argv())
os.environ.setdefault("OMP_NUM_THREADS", _threads_from_argv())


def load_network(module_dir: str, network: str):
    """networks/<network>/model.py of the export, as its own module (create_model(), INPUTS, OUTPUTS)."""
    spec = importlib.util.spec_from_file_location(f"patchbay_network_{network}", os.path.join(module_dir, "networks", network, "model.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def learning_rate_at(schedule: str, peak: float, warmup: int, step: int, total: int) -> float:
    """src/runtime/training/schedule.ts's learningRateAt."""
    t = 1.0 if total <= 1 else min(1.0, step / (total - 1))
    if schedule == "constant":
        return peak
    if schedule == "cosine":
        return 0.5 * peak * (1 + math.cos(math.pi * t))
    if schedule == "onecycle":
        if t <= 0.3:
            return peak * (0.04 + 0.96 * (t / 0.3))
        u = (t - 0.3) / 0.7
        return peak * 1e-4 + 0.5 * (peak - peak * 1e-4) * (1 + math.cos(math.pi * u))
    warm = min(warmup, total)
    if step < warm:
        return peak * (step + 1) / warm
    u = 1.0 if total - warm <= 1 else (step - warm) / (total - warm - 1)
    return 0.5 * peak * (1 + math.cos(math.pi * min(1.0, u)))
