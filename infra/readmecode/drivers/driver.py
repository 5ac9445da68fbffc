"""Runs the README's Python block for infra/readmecode (see its package doc).

Reads one request a line on stdin and answers each with one line on stdout,
starting with "readmecode: ". It never prints a token, only fingerprints.

  load SECRET_ID API_URL  runs a fresh instance of the block (a new module),
                          with TOKEN_SECRET_ID=SECRET_ID
  get                     calls its adobe_token() again
"""
import hashlib
import importlib.util
import os
import sys

import boto3

BLOCK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "readme_block.py")


def fingerprint(s):
    return hashlib.sha256(s.encode()).hexdigest()[:16]


def reply(*fields):
    print("readmecode:", *fields, flush=True)


def load(n, secret_id):
    """Runs the block as a new module: its definitions, and its usage lines."""
    os.environ["TOKEN_SECRET_ID"] = secret_id
    spec = importlib.util.spec_from_file_location(f"readme_block_{n}", BLOCK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Load the SDK and its Secrets Manager model before saying ready, so that
# "load" times the block alone.
boto3.client("secretsmanager")
reply("ready")

block, loads = None, 0
for line in sys.stdin:
    request = line.split()
    try:
        if request[:1] == ["load"] and len(request) == 3:
            block, loads = None, loads + 1
            block = load(loads, request[1])
            headers = block.headers
            reply("ok", fingerprint(headers["Authorization"]), headers["x-api-key"])
        elif request == ["get"] and block is not None:
            access_token, client_id, _ = block.adobe_token()
            reply("ok", fingerprint(access_token), client_id)
        else:
            reply("error", f"unexpected request {line.strip()!r}")
    except Exception as e:  # the block's error is the answer
        reply("error", f"{type(e).__name__}: {e}".replace("\n", " "))
