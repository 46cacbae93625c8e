# SPDX-License-Identifier: GPL-2.0
"""pyrun.py MODULE [ARGS...]: run selftests/MODULE.py's main() as an imported module.

Python compiles a script it runs directly on every start (espx_pkt.py: about a second under
emulation), but loads an imported module from its bytecode, which the selftests' Makefile
compiles on the host before the VM boots (the guest sees the checkout read-only).
"""
import importlib
import sys

MOD = importlib.import_module(sys.argv[1])
sys.argv = [sys.argv[1] + '.py'] + sys.argv[2:]
sys.exit(MOD.main())
