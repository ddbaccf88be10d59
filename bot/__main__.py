"""`python -m bot` is the same as the `steward` command."""

from bot.cli import main

raise SystemExit(main())
