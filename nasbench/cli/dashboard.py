"""``nasbench dashboard``: optuna-dashboard on a results database (Optuna keeps its studies there).

Every searched trial carries its architecture's canonical name, params, FLOPs (and latency) as user
attributes, its per-epoch validation accuracy as intermediate values, and infeasible candidates
their constraint, so the dashboard shows what ``nasbench status`` shows.
"""

from __future__ import annotations

from typing import Annotated

import typer

from nasbench.cli.console import DbOption, console, fail


def dashboard(
    db: DbOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8080,
) -> None:
    """Open optuna-dashboard on the results database (install: pip install 'nasbench[dashboard]')."""
    try:
        from optuna_dashboard import run_server
    except ImportError:
        fail("optuna-dashboard is not installed; install it with: pip install 'nasbench[dashboard]'.")
    from nasbench.store import default_url, mask_url, open_engine

    url = db or default_url()
    open_engine(url, create=False).dispose()  # a missing database is named, never created
    console.print(f"optuna-dashboard on http://{host}:{port}/ for {mask_url(url)} (Ctrl-C to stop)", highlight=False)
    run_server(url, host=host, port=port)
