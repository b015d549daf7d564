#!/usr/bin/env python3
"""Peer benchmark: SpiffWorkflow 3.2.0 running bench/five-tasks.bpmn.

Usage: spiff_bench.py [N]   (default 2000)

For each of N instances, sequentially: create the workflow, do_engine_steps,
then for every READY user task: run it, do_engine_steps, and serialise the
whole workflow state to a JSON string (kept in memory only, as a durable
engine would have to write it), until the workflow is completed.

Prints: peer=spiffworkflow instances=<N> seconds=<s> instances_per_s=<x>
"""

import os
import sys
import time

from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.util.task import TaskState

HERE = os.path.dirname(os.path.abspath(__file__))
BPMN = os.path.join(HERE, "..", "five-tasks.bpmn")
PROCESS_ID = "five-tasks"
USER_TASKS = 5


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000

    # Parsing happens once, outside the timed loop (like a cached deployment).
    parser = BpmnParser()
    parser.add_bpmn_file(BPMN)
    spec = parser.get_spec(PROCESS_ID)
    serializer = BpmnWorkflowSerializer()

    started = time.perf_counter()
    for _ in range(n):
        wf = BpmnWorkflow(spec)
        wf.do_engine_steps()
        state = serializer.serialize_json(wf)
        done = 0
        while not wf.is_completed():
            ready = wf.get_tasks(state=TaskState.READY, manual=True)
            if not ready:
                raise RuntimeError("workflow stuck: no ready user task and not completed")
            for task in ready:
                task.run()
                wf.do_engine_steps()
                state = serializer.serialize_json(wf)
                done += 1
        if done != USER_TASKS:
            raise RuntimeError(f"expected {USER_TASKS} user tasks, ran {done}")
    seconds = time.perf_counter() - started

    print(
        f"peer=spiffworkflow instances={n} seconds={seconds:.3f} "
        f"instances_per_s={n / seconds:.1f}"
    )
    print(f"# spiffworkflow last state JSON {len(state)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
