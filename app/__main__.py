"""`python -m app` is the same as the `steward` command."""

from app.cli import main

raise SystemExit(main())
