from careconnect.cli import main

raise SystemExit(main())
