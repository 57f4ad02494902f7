"""What every data script shares: a bad input ends with one line naming the problem and its fix, exit status 2."""

import sys


def run(main) -> None:
    try:
        sys.exit(main())
    except (ValueError, OSError) as err:  # OSError: a missing or existing file, a read-only or full disk
        print(f"{sys.argv[0].rsplit('/', 1)[-1]}: error: {err}", file=sys.stderr)
        sys.exit(2)
