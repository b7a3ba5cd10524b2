from gameday.cli.main import main

raise SystemExit(main())
