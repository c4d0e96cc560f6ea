"""``nasbench doctor``: what this installation can see."""

from __future__ import annotations

import os
from typing import Any

from nasbench.core.provenance import package_versions
from nasbench.store.db import default_url, mask_url


def diagnose(db_url: str | None) -> dict[str, Any]:
    info: dict[str, Any] = {f"version {k}": v for k, v in package_versions().items()}
    info["cpus (os)"] = str(os.cpu_count())
    info.update(_ray_resources())
    info["data sets"] = _datasets()
    url = db_url or default_url()
    info["database"] = mask_url(url)
    info["database reachable"] = _reachable(url)
    return info


def _ray_resources() -> dict[str, str]:
    import torch

    out = {"torch cuda": f"{torch.cuda.is_available()} ({torch.cuda.device_count()} GPU)"}
    try:
        import ray

        from nasbench.search.runner import start_ray

        started = start_ray(None)
        res = ray.cluster_resources()
        out["ray CPUs"] = str(int(res.get("CPU", 0)))
        out["ray GPUs"] = str(int(res.get("GPU", 0)))
        if started:
            ray.shutdown()
    except Exception as e:
        out["ray"] = f"unavailable: {e}"
    return out


def _datasets() -> str:
    from nasbench.data.registry import dataset_names, load_dataset

    found = []
    for name in dataset_names():
        try:
            ds = load_dataset(name) if name in ("digits", "fashion_mnist") else None
        except Exception:
            found.append(f"{name} (not found)")
            continue
        if name == "mnist1d":
            import importlib.util

            have = importlib.util.find_spec("mnist1d") is not None
            found.append("mnist1d (generated locally)" if have else "mnist1d (package mnist1d not installed)")
        elif ds is None:
            found.append(f"{name} (needs a path)" if name in ("cifar10", "image_folder", "npz") else name)
        else:
            found.append(f"{name} ({len(ds.y)}+{len(ds.y_test) if ds.y_test is not None else 0} at {ds.source})")
    return "; ".join(found)


def _reachable(url: str) -> str:
    from nasbench.errors import StoreError
    from nasbench.store.db import open_engine

    try:
        open_engine(url, create=False)
        return "yes"
    except StoreError as e:
        return f"no: {e}"
