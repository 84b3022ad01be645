"""handoff_client: hand unit-test generation to handoff from Python.

    from handoff_client import OpenHandsTestGenerator
    generator = OpenHandsTestGenerator.from_env()   # HANDOFF_SERVER, HANDOFF_TOKEN
    task_id = await generator.submit_test_generation_task("internal/calc/calc.go", coverage_threshold=80)
    results = await generator.get_test_generation_results(task_id, timeout=300)

With HANDOFF_SERVER set the client talks to ``handoff serve``; without it, it
runs the local ``handoff`` command. Standard library only.
"""

from .client import Client, OpenHandsTestGenerator, TestGenerator
from .errors import (AuthenticationError, ConflictError, HandoffError, InvalidRequestError, NotFoundError,
                     PayloadTooLargeError, PermissionDeniedError, RateLimitedError, UnavailableError, WaitTimeoutError)
from .snapshot import blob_id

__version__ = "0.1.0"

__all__ = [
    "Client", "TestGenerator", "OpenHandsTestGenerator", "blob_id",
    "HandoffError", "InvalidRequestError", "AuthenticationError", "PermissionDeniedError", "NotFoundError",
    "ConflictError", "PayloadTooLargeError", "RateLimitedError", "UnavailableError", "WaitTimeoutError",
]
