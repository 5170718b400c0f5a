"""Export a trained model to a file another runtime loads: ONNX, preprocessing included.

`nnctl.export.onnx.export_onnx` is the entry of ``nnctl export``; the graph is built from
`graph` (a small builder over ``onnx.helper``), `preprocess` (raw values to the network's
features), `network` (the layers and the answers) and checked by `verify` in onnxruntime.
"""
