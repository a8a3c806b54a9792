"""Conformance of the SunCo emulator to the official OpenAPI spec (given by path; never bundled or fetched).

`python -m simulator conformance --spec PATH [--url URL]` runs every operation of the spec with valid and
invalid requests against a live emulator (its own on a free loopback port unless `--url` is given) and
validates each response against the spec.
"""
