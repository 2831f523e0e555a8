"""A broken ``cmd:`` driver: the example driver with one realistic bug.

A port author "normalises" each assembled tool call by parsing its arguments and dumping them
again (``json.dumps(json.loads(arguments))``). That changes whitespace, escapes and key
spelling, so the arguments are no longer byte for byte what the server sent: LLM-TC-1 (and the
fragmentation property LLM-TC-2) must catch it.

Run as ``cmd:python tests/integration/reserializing_driver.py``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "llm_driver.py"


def _load_example() -> Any:
    spec = importlib.util.spec_from_file_location("llm_driver", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _normalised(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments))
    except ValueError:
        return arguments


def main() -> int:
    driver = _load_example()
    finish = driver.ToolCalls.finish

    def finish_normalised(self: Any) -> list[dict[str, str]]:
        return [{**call, "arguments": _normalised(call["arguments"])} for call in finish(self)]

    driver.ToolCalls.finish = finish_normalised
    return driver.main()


if __name__ == "__main__":
    sys.exit(main())
