// TEMPORARY (development only, replaced by the part-2 readers before commit).
#include "readers.h"
#include "modeldna/core/error.h"
namespace modeldna::io::detail {
TensorStore read_onnx(std::shared_ptr<const Blob> f) { throw FormatError(f->path(), "ONNX not yet"); }
TensorStore read_tflite(std::shared_ptr<const Blob> f) { throw FormatError(f->path(), "TFLite not yet"); }
TensorStore read_tfjs(const std::string& p) { throw FormatError(p, "tfjs not yet"); }
TensorStore read_keras_h5(std::shared_ptr<const Blob> f) { throw FormatError(f->path(), "keras not yet"); }
TensorStore read_keras_zip(std::shared_ptr<const Blob> f) { throw FormatError(f->path(), "keras not yet"); }
}
