"""The design note's workflow: hand test generation to an agent, run the other stages
meanwhile, collect the verified tests at the end.

    python3 examples/workflow.py internal/calc/calc.go

With HANDOFF_SERVER and HANDOFF_TOKEN set it uses that server; otherwise the
local handoff command. It prints a JSON summary of the result on its last line.
"""

import asyncio
import json
import sys

from handoff_client import OpenHandsTestGenerator


async def refactor() -> str:
    await asyncio.sleep(0.2)  # stands for the refactoring stage
    print("refactoring done", flush=True)
    return "refactored"


async def deploy_checks() -> str:
    await asyncio.sleep(0.2)  # stands for the staging deploy checks
    print("deploy checks done", flush=True)
    return "deployed"


async def main(module_path: str) -> int:
    generator = OpenHandsTestGenerator.from_env()  # reads HANDOFF_SERVER, HANDOFF_TOKEN
    task_id = await generator.submit_test_generation_task(module_path, output_path=None, coverage_threshold=80)
    print(f"submitted {task_id}", flush=True)

    # The agent works while the other stages run.
    status = await generator.get_task_status(task_id)
    print(f"task {task_id[-8:]} is {status['status']}", flush=True)
    await asyncio.gather(refactor(), deploy_checks())

    try:
        results = await generator.get_test_generation_results(task_id, timeout=300, poll_interval=2.0)
    except TimeoutError:
        print(f"task {task_id} is still running; collect it later", flush=True)
        return 1
    print(json.dumps({"task_id": task_id, "success": results["success"], "coverage": results["coverage"],
                      "files": results["files"], "apply": results["apply"]}))
    return 0 if results["success"] else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "internal/calc/calc.go")))
