"""The sample service: a small, real stand-in for a deployed app (Starlette, uvicorn, SQLite).

Install with the ``sample`` extra: ``pip install 'pytest-promotion[sample]'``.
"""
