"""The command line in a child process, timed from after its imports, for the playbook-bomb test and benchmark.

Run as ``python -c MEASURED_CLI TOOK_FILE MEMORY_BYTES ARGS...`` (MEMORY_BYTES 0: no cap). Its time and peak
memory (the kernel's high-water mark of the process's own memory, VmHWM, not wait4's, which also counts the
process it was forked from) go to TOOK_FILE as JSON, so the output stays the command's own.
"""

MEASURED_CLI = """
import json, resource, sys, time
if int(sys.argv[2]):
    resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[2]), int(sys.argv[2])))
import crisisdesk.cli, crisisdesk.services.playbooks
start = time.perf_counter()
try:
    code = crisisdesk.cli.main(sys.argv[3:])
finally:
    seconds = time.perf_counter() - start
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    with open(sys.argv[1], "w") as f:
        json.dump({"seconds": seconds, "peak_kib": peak}, f)
sys.exit(code)
"""
