"""The one place where errors become a message and an exit code.

Tasks (through ``dbstack.tasks._task``) and the standalone tools call
:func:`guarded`; nothing else catches :class:`~dbstack.errors.DbstackError`
to print it.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import TypeVar

from .errors import DbstackError

T = TypeVar("T")


def debug_enabled() -> bool:
    """invoke's -d (enables DEBUG logging) or DBSTACK_DEBUG=1; the standalone tools pass --debug."""
    if os.environ.get("DBSTACK_DEBUG", "") not in ("", "0"):
        return True
    return logging.getLogger("invoke").isEnabledFor(logging.DEBUG)


def guarded(fn: Callable[[], T], *, debug: bool | None = None) -> int:
    """Run fn; return 0, or print the error once and return its exit code."""
    from .settings import mask_secrets

    debug = debug_enabled() if debug is None else debug
    try:
        fn()
        return 0
    except DbstackError as exc:
        if exc.output:
            sys.stdout.write(mask_secrets(exc.output))
            sys.stdout.flush()
        if debug:
            import traceback

            traceback.print_exc()
        # Every message may quote a URL or DSN: masked here, whatever raised it.
        print(f"Error: {mask_secrets(exc.render())}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug of ours: still one message unless debugging
        if debug:
            raise
        print(
            f"Error: unexpected {type(exc).__name__}: {mask_secrets(str(exc))}\n"
            "  hint: re-run with `inv -d …` (or DBSTACK_DEBUG=1, or --debug for migrate/genmigrate) "
            "for a traceback and report it",
            file=sys.stderr,
        )
        return 1
