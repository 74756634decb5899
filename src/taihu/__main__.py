"""Allow `python -m taihu`."""

from taihu.cli import main

main()
