"""Deliberately broken ``cmd:`` drivers for ``test_command_iut.py``.

``python broken_driver.py MODE [STATE_FILE]``. Each mode breaks the protocol of
``docs/iut-protocol.md`` in one way, and says so on stderr first, so a test can check that the
harness's error both names the problem and shows the driver's own words.

Modes that misbehave on ``llm.chat`` answer ``chat_context`` correctly (echoing the context),
so a test can show that the next operation runs on a fresh, working process.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

MODE = sys.argv[1]
STATE_FILE = sys.argv[2] if len(sys.argv) > 2 else None
END = [{"type": "llm.end", "t": 0.0, "error": None}]


def send(message: Any) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def log(text: str) -> None:
    print(f"[{MODE} pid {os.getpid()}] {text}", file=sys.stderr, flush=True)


def hello_capabilities() -> list[str]:
    if MODE == "bad-capability":
        return ["llm.chat", "llm.telepathy"]
    if MODE == "server-capability":
        return ["llm.server"]
    return ["llm.chat", "chat_context"]


def llm_chat(request_id: int) -> None:
    """The mode's answer to ``llm.chat``."""
    if MODE == "garbage":
        log("about to write garbage on stdout")
        sys.stdout.write("this is not json\n")
        sys.stdout.flush()
    elif MODE == "wrong-id":
        log("answering with the wrong id")
        send({"id": request_id + 98, "answer": {"events": END}})
    elif MODE == "stall-chat":
        log("stalling on llm.chat")
        time.sleep(3600)
    elif MODE == "error-reply":
        log("cannot express this request")
        send({"id": request_id, "error": {"message": "tool_choice 'required' is not supported"}})
    elif MODE == "bad-events":
        log("forgetting llm.end")
        events = [{"type": "llm.chunk", "t": 0.0, "id": "c1", "content": "hi", "tool_calls": []}]
        send({"id": request_id, "answer": {"events": events}})
    elif MODE == "array-reply":
        log("answering with an array")
        send([request_id, {"events": END}])
    elif MODE == "bare-reply":
        log("answering with neither answer nor error")
        send({"id": request_id})
    elif MODE == "crash-then-refuse":
        log("crashing in the middle of llm.chat")
        sys.exit(4)
    else:
        send({"id": request_id, "answer": {"events": END}})


def main() -> None:
    if MODE == "exit-in-hello":
        log("boom: missing configuration file")
        sys.exit(3)
    if MODE == "silent-hello":
        log("warming up, very slowly")
        time.sleep(3600)
    if MODE == "crash-then-refuse":
        assert STATE_FILE is not None
        if os.path.exists(STATE_FILE):
            log("refusing to start a second time")
            sys.exit(1)
        with open(STATE_FILE, "w") as marker:
            marker.write("started once\n")
    for line in sys.stdin:
        request = json.loads(line)
        request_id, op = request["id"], request["op"]
        if op == "hello" and MODE == "refuse-hello":
            log("no licence key found")
            send({"id": request_id, "error": {"message": "no licence key"}})
        elif op == "hello":
            answer = {"name": f"broken-{MODE}", "capabilities": hello_capabilities()}
            answer["protocol"] = 1 if MODE == "protocol-1" else 2
            send({"id": request_id, "answer": answer})
        elif op == "shutdown":
            if MODE == "deaf":
                log("ignoring shutdown")
                continue
            send({"id": request_id, "answer": {}})
            return
        elif op == "llm.chat":
            llm_chat(request_id)
        elif op == "chat_context":
            send({"id": request_id, "answer": {"ctx": request["request"]["ctx"]}})
    if MODE == "deaf":
        log("ignoring the end of stdin too")
        time.sleep(3600)


if __name__ == "__main__":
    main()
