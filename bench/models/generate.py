#!/usr/bin/python3
"""The benchmark's own models (not test fixtures): `npm run bench -- embeddings` scores with them.

    /usr/bin/python3 bench/models/generate.py

Needs onnx + numpy (Debian: python3-onnx python3-numpy). Writes
  bench/models/embedding-head/{model.onnx,bento.yaml}
embedding-head: a linear classification head over a 768-float sentence embedding (the width of
BERT-base, all-mpnet-base-v2 and the like), as people put on top of embeddings computed
upstream: logits = emb @ W + b, softmax in the manifest. Its weights are seeded random numbers,
not trained: the benchmark measures reading 768 floats a row and the model call, not accuracy.
Deterministic: rerunning gives the same bytes on the same onnx version (1.12).
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
WIDTH = 768
LABELS = ["negative", "neutral", "positive"]


def embedding_head():
    bundle = os.path.join(HERE, "embedding-head")
    os.makedirs(bundle, exist_ok=True)
    rng = np.random.default_rng(768)
    w = (rng.standard_normal((WIDTH, len(LABELS))) / np.sqrt(WIDTH)).astype(np.float32)
    b = (rng.standard_normal(len(LABELS)) * 0.1).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["emb", "W"], ["scores"]), helper.make_node("Add", ["scores", "b"], ["logits"])],
        "embedding-head",
        [helper.make_tensor_value_info("emb", TensorProto.FLOAT, ["batch", WIDTH])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", len(LABELS)])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="bento-batch bench/models/generate.py")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, os.path.join(bundle, "model.onnx"))
    with open(os.path.join(bundle, "bento.yaml"), "w") as f:
        f.write(f"""bento: 1
name: embedding-head
version: "1.0.0"
description: Linear 3-class head over a {WIDTH}-float embedding column (benchmark model, seeded weights, not trained)
model: model.onnx
batch:
  max_size: 4096
inputs:
  - tensor: emb
    dtype: float32
    shape: [batch, {WIDTH}]
    columns: [emb]
outputs:
  - tensor: logits
    activation: softmax
    labels: [{", ".join(LABELS)}]
    columns:
      label: sentiment
      score: sentiment_score
""")


if __name__ == "__main__":
    embedding_head()
    print("done")
