"""balloontop: what a Linux guest's memory balloon is doing, read from inside the guest.

The core (everything outside ``balloontop.tui``) never imports Textual: readers and
parsers are pure functions of file text, each balloon driver has its own module with
``detect`` and ``read``, and the sampler turns one reading of a root into an immutable
``Sample``.
"""

__version__ = "0.1.0"
