"""A second look at a doubtful detection: the face enlarged on a crop of its own, as it is and turned.

CenterFace scores faces it was trained on (upright, 20 px and more) far above anything else, but a face
tilted by 30 degrees or only 15 px wide scores about as low as the strongest non-face on the evaluation
set (``python -m tools.thresholds``). The two part on a second look: the detection's surroundings
cut out at twice the box's longer side, scaled to :data:`CROP_PX` (the face then about 64 px wide) and
searched again upright and turned by +-30 degrees. Faces then score as faces do, while non-faces stay
low (figures in evaluation/README.md).

Cost: three searches of a 128 x 128 picture, each a small fraction of a 1080p frame's search.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnxruntime
from PIL import Image

from detectors.centerface import find_faces

#: Side (px) of the picture searched; a multiple of 32, as CenterFace requires.
CROP_PX = 128
#: The crop's side over the detection's longer side: the face with its head and shoulders around it.
CONTEXT = 2.0
#: Turns (degrees, counter-clockwise) the crop is searched at.
ANGLES = (0.0, 30.0, -30.0)
# Turned pictures are cut from a wider one (1.5 x the crop), so that no corner is left empty by the turn.
_MARGIN = 1.5
# The face looked at must be the one in the middle: detections whose centre is farther from the crop's
# centre than this fraction of its side are other faces.
_CENTRE_TOLERANCE = 0.25
# Detections on the crop are kept down to here; the caller compares the best one with its threshold.
_FLOOR = 0.05


def second_look(session: onnxruntime.InferenceSession, picture: Image.Image, box: Sequence[float]) -> float:
    """CenterFace's best probability (0..1) for a face centred where ``box`` (x1, y1, x2, y2 in ``picture``'s
    pixels) is, on the enlarged crop as it is and turned by each of :data:`ANGLES`; 0.0 for none."""
    x1, y1, x2, y2 = box
    centre_x, centre_y = (x1 + x2) / 2, (y1 + y2) / 2
    half = max(x2 - x1, y2 - y1) * CONTEXT * _MARGIN / 2
    wide = round(CROP_PX * _MARGIN)
    # Pillow fills what lies past the picture's border with black, as the padding of the first look does.
    region = picture.crop(
        (round(centre_x - half), round(centre_y - half), round(centre_x + half), round(centre_y + half))
    ).resize((wide, wide), Image.Resampling.BILINEAR)
    offset = (wide - CROP_PX) // 2
    best = 0.0
    for angle in ANGLES:
        turned = region.rotate(angle, Image.Resampling.BILINEAR) if angle else region
        crop = np.asarray(turned.crop((offset, offset, offset + CROP_PX, offset + CROP_PX)))
        found = find_faces(session, crop, _FLOOR)
        centres = (found.boxes[:, :2] + found.boxes[:, 2:]) / 2
        central = np.all(np.abs(centres - CROP_PX / 2) < CROP_PX * _CENTRE_TOLERANCE, axis=1)
        best = max(best, float(found.scores[central].max(initial=0.0)))
    return best
