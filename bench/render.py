"""Render and lint every variant of every shipped playbook, and build its CAP.

Target: a whole message (every channel, two languages, plus CAP) in at most 20 ms.

    uv run python bench/render.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

from crisisdesk.app import playbook_service
from crisisdesk.domain.message_types import MESSAGE_TYPES, MODES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="times to render the whole library")
    args = parser.parse_args()

    service = playbook_service()
    start = time.perf_counter()
    library = service.load()
    load_s = time.perf_counter() - start
    assert not library.problems, library.problems

    whole, cap_only, validate_cap = [], [], []
    variants = 0
    for round_no in range(args.rounds):
        for pb_id in sorted(library.playbooks):
            for message_type in MESSAGE_TYPES:
                for mode in MODES:
                    t0 = time.perf_counter()
                    rendered = service.render(pb_id, message_type, None, {}, example_facts=True, mode=mode)
                    t1 = time.perf_counter()
                    xml = service.cap(rendered, ipaws=True, sender="oes@millcounty.example")  # the sample agency
                    t2 = time.perf_counter()
                    problems = service.check_cap(xml, ipaws=True)
                    t3 = time.perf_counter()
                    assert not problems, problems
                    if round_no:  # the first round warms template and schema caches
                        whole.append(t2 - t0)
                        cap_only.append(t2 - t1)
                        validate_cap.append(t3 - t2)
                    variants += sum(len(v) for v in rendered.variants.values())

    def ms(values: list[float], q: float) -> str:
        return f"{statistics.quantiles(values, n=100)[q - 1] * 1000:.2f}" if q < 100 else f"{max(values) * 1000:.2f}"

    print(f"machine: {platform.node()} {platform.machine()} Python {platform.python_version()}")
    print(f"library: {len(library.playbooks)} playbooks validated (rendering every template) in {load_s:.2f} s")
    print(f"messages measured: {len(whole)} (each: 13 channels x 2 languages, rendered and linted, plus CAP)")
    print(f"whole message: median {ms(whole, 50)} ms, p95 {ms(whole, 95)} ms, max {ms(whole, 100)} ms (target 20 ms)")
    print(f"  of which CAP build: median {ms(cap_only, 50)} ms")
    print(f"CAP schema + rules + IPAWS check: median {ms(validate_cap, 50)} ms")
    print(f"variants rendered in all rounds: {variants:,}")


if __name__ == "__main__":
    main()
