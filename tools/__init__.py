"""Development tools: not part of the service, not copied into the image.

The FaceCloud emulator (:mod:`tools.emulator`, :mod:`tools.emulator_faces`), the previous local detector kept to
be measured against (:mod:`tools.hog`), the accuracy check over the labelled photos (:mod:`tools.evaluate`,
:mod:`tools.variants`, :mod:`tools.photos`) and the sweeps that chose the local detector's constants
(:mod:`tools.thresholds`, :mod:`tools.box_fit`). They run from the source tree (tests, bench, ``python -m
tools.…``); they may import the runtime packages, never the reverse (pyproject.toml's import contracts).
docker-compose.yml's optional ``emulator`` service mounts this folder from the checkout into the service's image.
"""
