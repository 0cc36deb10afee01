"""The benchmark harness: ``make bench`` (or ``python -m bench``) measures the service on its own stack.

It starts the FaceCloud emulator, the API and the workers on a database and a RabbitMQ vhost of its own
(``facetasks_bench``), runs the scenarios of ``bench.scenarios`` and writes ``bench/results/<timestamp>.json``
plus a PNG chart next to it.
"""
