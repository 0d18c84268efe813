"""`python -m ml.simulate ...`"""

from ml.simulate.cli import main

raise SystemExit(main())
