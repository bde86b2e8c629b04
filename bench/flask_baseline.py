"""The original design's execution path, as a baseline for bench/http_bench.cpp: a Flask server
(Debian's python3-flask) that, per request, imports the policy's function.py, builds
AIOSv1PolicyRule and calls eval — no sandbox at all.

Usage: python3 flask_baseline.py PORT CODE_DIR SETTINGS_JSON PARAMETERS_JSON
"""
import importlib.util
import json
import logging
import os
import sys

from flask import Flask, jsonify, request

port, code_dir = int(sys.argv[1]), sys.argv[2]
settings, parameters = json.loads(sys.argv[3]), json.loads(sys.argv[4])
logging.getLogger("werkzeug").setLevel(logging.ERROR)
app = Flask(__name__)


@app.post("/execute_policy")
def execute_policy():
    body = request.get_json()
    spec = importlib.util.spec_from_file_location("function", os.path.join(code_dir, "function.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rule = module.AIOSv1PolicyRule("", settings, dict(parameters))
    output = rule.eval(rule.parameters, body.get("input_data"), None)
    return jsonify({"success": True, "data": output})


print("ready", flush=True)
app.run(host="127.0.0.1", port=port, threaded=True)
