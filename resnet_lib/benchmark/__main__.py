"""``python -m resnet_lib.benchmark``: the command line of `resnet_lib.benchmark.cli`."""

from .cli import main

main()
