"""``python -m nasbench.cli``: the same as the ``nasbench`` command."""

from nasbench.cli import main

main()
