"""The no-sandbox baseline of the benchmarks: a policy run by a plain python3, no jail, no IPC.

Usage: baseline_policy.py MODE CODE_DIR SETTINGS_FILE PARAMETERS_FILE INPUT_JSON [CALLS]
  once  import function.py, build AIOSv1PolicyRule, eval once, print the output (cold start)
  loop  as once, then CALLS evals each on a fresh instance (what the worker does for stateless
        calls), timed one by one in-process; prints {"samples_ns": [...]}
  hold  as once, print "ready", then wait for stdin to close (so its memory can be measured)
Kept free of imports the policy does not need, so `once` times the policy, not the driver.
"""
import sys

# Like the jailed worker: the policy is compiled from source, no __pycache__ in its dir.
sys.dont_write_bytecode = True

import json  # noqa: E402  (requests imports it anyway)


def main():
    mode, code_dir, settings_file, parameters_file, input_text = sys.argv[1:6]
    with open(settings_file) as f:
        settings_text = f.read()
    with open(parameters_file) as f:
        parameters = json.load(f)
    input_data = json.loads(input_text)
    sys.path.insert(0, code_dir)
    import function

    # The policy logs its failed remote fetch; the worker captures that, we drop it.
    real_stdout, sys.stderr = sys.stdout, open("/dev/null", "w")
    instance = function.AIOSv1PolicyRule("bench", json.loads(settings_text), parameters)
    output = instance.eval(parameters, input_data, {})
    if mode == "once":
        print(json.dumps(output), file=real_stdout)
    elif mode == "hold":
        print("ready", file=real_stdout, flush=True)
        sys.stdin.read()
    elif mode == "loop":
        print(json.dumps(time_loop(function, settings_text, parameters, input_data,
                                  int(sys.argv[6]))), file=real_stdout)
    else:
        raise SystemExit("unknown mode " + mode)


def time_loop(function, settings_text, parameters, input_data, calls):
    """Per-call times of what one stateless eval costs in-process: fresh settings and
    instance (as the worker's fresh_instance=True does), then eval."""
    import time

    clock = time.perf_counter_ns
    cls = function.AIOSv1PolicyRule
    for _ in range(min(calls, 500)):  # warm-up, as the jailed runs get
        cls("bench", json.loads(settings_text), parameters).eval(parameters, input_data, {})
    samples = []
    for _ in range(calls):
        start = clock()
        cls("bench", json.loads(settings_text), parameters).eval(parameters, input_data, {})
        samples.append(clock() - start)
    return {"samples_ns": samples}


if __name__ == "__main__":
    main()
