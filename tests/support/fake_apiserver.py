#!/usr/bin/env python3
"""The entry point of the fake Kubernetes API server: `python3 tests/support/fake_apiserver.py
--schema … [flags]` prints `PORT=<n>` and serves until stdin closes or SIGTERM.

The server itself is the package beside this file, tests/support/fake_apiserver/; its
__init__.py says what it models and what it does not, and lists its modules. The launchers
(tests/support/fake_apiserver.{h,cpp}, tests/unit/kubernetes/fake_apiserver_controllers_test.py)
run this file, so its path and flags stay as they were.
"""

import os
import sys

if __name__ == "__main__":
    # A package directory wins over a module file of the same name on one sys.path entry, so
    # with tests/support first on the path this imports the package, not this file.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from fake_apiserver.main import main
    main()
