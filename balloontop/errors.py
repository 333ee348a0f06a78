"""Exit codes and the errors that map to them (documented in ``--help`` and the README)."""

from __future__ import annotations

EXIT_FAILURE = 1  # anything else that went wrong
EXIT_USAGE = 2  # bad arguments or bad input
EXIT_NO_ROOT = 3  # the root does not exist or is not a directory

EXIT_CODES_HELP = """\
exit status:
  0  success
  1  any other failure
  2  bad arguments or bad input (for example a features string with other
     characters than 0 and 1, or an unknown device type)
  3  the root does not exist or is not a directory"""


class BalloontopError(Exception):
    """An error reported to the user as one line on stderr, with an exit code."""

    exit_code = EXIT_FAILURE


class UsageError(BalloontopError):
    exit_code = EXIT_USAGE


class RootError(BalloontopError):
    exit_code = EXIT_NO_ROOT
