"""Cost of decoding one 1-row V2 request (JSON and binary), for comparing two checkouts.

    .venv/bin/python bench/codec_1row.py                      # this checkout
    PYTHONPATH=/tmp/before .venv/bin/python bench/codec_1row.py  # another (git worktree)

Prints the median of 7 repeats of 20,000 decodes, in microseconds per request. The server's
1-row path is this decode, the run and the encode; only the decode changed with typed values.
"""

from __future__ import annotations

import json
import statistics
import struct
import timeit

import hub.server.v2_codec as codec

ROW = [5.1, 3.5, 1.4, 0.2]
JSON_BODY = json.dumps(
    {"id": "r1", "inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 4], "data": ROW}]}
).encode()
HEADER = json.dumps(
    {
        "inputs": [
            {
                "name": "input",
                "datatype": "FP32",
                "shape": [1, 4],
                "parameters": {"binary_data_size": 16},
            }
        ]
    }
).encode()
BINARY_BODY = HEADER + struct.pack("<4f", *ROW)
INT_BODY = json.dumps(
    {"inputs": [{"name": "ids", "datatype": "INT64", "shape": [1, 8], "data": list(range(8))}]}
).encode()


def per_request_us(stmt) -> float:  # type: ignore[no-untyped-def]
    runs = timeit.repeat(stmt, number=20_000, repeat=7)
    return statistics.median(runs) / 20_000 * 1e6


if __name__ == "__main__":
    print(f"module: {codec.__file__}")
    print(f"json FP32 [1,4]:   {per_request_us(lambda: codec.decode_request(JSON_BODY)):.2f} us")
    print(f"json INT64 [1,8]:  {per_request_us(lambda: codec.decode_request(INT_BODY)):.2f} us")
    print(
        "binary FP32 [1,4]: "
        f"{per_request_us(lambda: codec.decode_request(BINARY_BODY, str(len(HEADER)))):.2f} us"
    )
