"""``python -m resnet_lib.tools.benchmark``: the command line of `resnet_lib.tools.benchmark.cli`."""

from resnet_lib.tools.benchmark.cli import main

main()
