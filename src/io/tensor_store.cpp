#include "modeldna/io/tensor_store.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include "byte_reader.h"
#include "modeldna/core/error.h"
#include "modeldna/io/dequantize.h"

namespace modeldna::io {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "modeldna assumes a little-endian host");

namespace detail {

std::string quote(std::string_view name) {
  constexpr std::size_t kMax = 80;
  std::string out = "'" + std::string(name.substr(0, kMax));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out + (name.size() > kMax ? "...'" : "'");
}

}  // namespace detail

namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Elements per slice along `axis` and the slice count, for per-channel scales.
struct AxisStep {
  int64_t inner = 1;  // product of the dimensions after the axis
  int64_t size = 1;   // the axis length
};

AxisStep axis_step(const TensorInfo& t, int64_t axis) {
  AxisStep step;
  if (axis < 0) return step;
  step.size = t.shape[static_cast<std::size_t>(axis)];
  for (std::size_t d = static_cast<std::size_t>(axis) + 1; d < t.shape.size(); ++d) step.inner *= t.shape[d];
  return step;
}

}  // namespace

std::string_view format_name(Format format) {
  switch (format) {
    case Format::Safetensors: return "safetensors";
    case Format::PyTorch: return "pytorch";
    case Format::GGUF: return "gguf";
    case Format::ONNX: return "onnx";
    case Format::TFLite: return "tflite";
    case Format::TFJS: return "tfjs";
    case Format::Keras: return "keras";
  }
  throw InternalError("invalid Format value");
}

std::optional<Format> parse_format(std::string_view name) {
  for (Format f : {Format::Safetensors, Format::PyTorch, Format::GGUF, Format::ONNX, Format::TFLite, Format::TFJS, Format::Keras})
    if (format_name(f) == name) return f;
  return std::nullopt;
}

std::string_view layout_name(Layout layout) {
  switch (layout) {
    case Layout::Unknown: return "-";
    case Layout::OI: return "OI";
    case Layout::IO: return "IO";
    case Layout::OIHW: return "OIHW";
    case Layout::OHWI: return "OHWI";
    case Layout::HWIO: return "HWIO";
    case Layout::IHWO: return "1HWO";
    case Layout::HWCM: return "HWCM";
    case Layout::HWOI: return "HWOI";
    case Layout::IOHW: return "IOHW";
  }
  throw InternalError("invalid Layout value");
}

std::vector<int> canonical_axes(Layout layout, std::size_t rank) {
  switch (layout) {
    case Layout::OI: return rank == 2 ? std::vector<int>{0, 1} : std::vector<int>{};
    case Layout::IO: return rank == 2 ? std::vector<int>{1, 0} : std::vector<int>{};
    case Layout::OIHW: return rank >= 3 ? [&] {
        std::vector<int> axes(rank);
        for (std::size_t i = 0; i < rank; ++i) axes[i] = static_cast<int>(i);
        return axes;
      }() : std::vector<int>{};
    case Layout::OHWI: return rank == 4 ? std::vector<int>{0, 3, 1, 2} : std::vector<int>{};
    case Layout::HWIO: return rank == 4 ? std::vector<int>{3, 2, 0, 1} : std::vector<int>{};
    case Layout::IHWO: return rank == 4 ? std::vector<int>{3, 0, 1, 2} : std::vector<int>{};
    case Layout::HWCM: return rank == 4 ? std::vector<int>{2, 3, 0, 1} : std::vector<int>{};
    case Layout::HWOI: return rank == 4 ? std::vector<int>{2, 3, 0, 1} : std::vector<int>{};
    case Layout::IOHW: return rank >= 3 ? [&] {
        std::vector<int> axes(rank);
        for (std::size_t i = 0; i < rank; ++i) axes[i] = static_cast<int>(i);
        std::swap(axes[0], axes[1]);
        return axes;
      }() : std::vector<int>{};
    case Layout::Unknown: return {};
  }
  return {};
}

std::string_view role_name(Role role) {
  switch (role) {
    case Role::Unknown: return "-";
    case Role::Weight: return "weight";
    case Role::Bias: return "bias";
    case Role::NormScale: return "norm-scale";
    case Role::NormShift: return "norm-shift";
    case Role::RunningStat: return "running-stat";
    case Role::Embedding: return "embedding";
    case Role::QuantParam: return "quant-param";
    case Role::Constant: return "constant";
    case Role::Optimizer: return "optimizer";
  }
  throw InternalError("invalid Role value");
}

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;  // checked by add_tensor
  return n;
}

bool TensorInfo::contiguous() const {
  if (strides.empty()) return true;
  int64_t expected = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    if (shape[i] != 1 && strides[i] != expected) return false;
    expected *= shape[i];
  }
  return true;
}

TensorStore::TensorStore(Format format, std::string path) : format_(format), path_(std::move(path)) {}

const TensorInfo* TensorStore::find(std::string_view name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

TensorInfo* TensorStore::mutable_find(std::string_view name) {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

uint32_t TensorStore::add_blob(std::shared_ptr<const Blob> blob) {
  MDNA_ASSERT(blob != nullptr, "add_blob: null blob");
  blobs_.push_back(std::move(blob));
  return static_cast<uint32_t>(blobs_.size() - 1);
}

void TensorStore::add_file(std::string path) {
  if (std::find(files_.begin(), files_.end(), path) == files_.end()) files_.push_back(std::move(path));
}

void TensorStore::add_tensor(TensorInfo t) {
  MDNA_ASSERT(t.blob < blobs_.size(), "add_tensor: tensor " + t.name + " names no blob");
  const Blob& blob = *blobs_[t.blob];
  auto fail = [&](const std::string& problem) {
    throw FormatError(blob.path(), "tensor " + detail::quote(t.name) + ": " + problem);
  };
  if (index_.count(t.name)) fail("duplicate tensor name");
  const auto numel = checked_numel(t.shape);
  if (!numel) fail("shape " + shape_text(t.shape) + " overflows the element count");
  if (t.strides.empty()) {
    const auto bytes = bytes_for(t.dtype, *numel);
    if (!bytes)
      fail(std::string(dtype_name(t.dtype)) + " shape " + shape_text(t.shape) + " is not a whole number of " +
           std::to_string(traits(t.dtype).block_elems) + "-value blocks");
    if (*bytes != t.size_bytes)
      fail(std::to_string(t.size_bytes) + " bytes given but " + std::string(dtype_name(t.dtype)) + " shape " +
           shape_text(t.shape) + " needs " + std::to_string(*bytes));
    if (is_block(t.dtype) && !t.shape.empty() && t.shape.back() % traits(t.dtype).block_elems != 0)
      fail("rows of " + std::to_string(t.shape.back()) + " values do not divide into " +
           std::to_string(traits(t.dtype).block_elems) + "-value blocks");
  } else {
    if (is_block(t.dtype)) fail("a block-quantized tensor cannot be strided");
    if (t.strides.size() != t.shape.size()) fail("strides and shape differ in rank");
    uint64_t last = 0;  // offset of the last element, in elements
    for (std::size_t i = 0; i < t.shape.size(); ++i) {
      if (t.strides[i] < 0) fail("negative stride");
      uint64_t step = 0;
      if (t.shape[i] > 0 && (__builtin_mul_overflow(static_cast<uint64_t>(t.shape[i] - 1),
                                                    static_cast<uint64_t>(t.strides[i]), &step) ||
                             __builtin_add_overflow(last, step, &last)))
        fail("strides overflow");
    }
    uint64_t needed = 0;
    if (*numel > 0 && (__builtin_add_overflow(last, uint64_t{1}, &needed) ||
                       __builtin_mul_overflow(needed, uint64_t{dtype_size(t.dtype)}, &needed)))
      fail("strides overflow");
    if (needed > t.size_bytes)
      fail("strides reach byte " + std::to_string(needed) + " of a " + std::to_string(t.size_bytes) +
           "-byte storage");
  }
  uint64_t end = 0;
  if (__builtin_add_overflow(t.offset, t.size_bytes, &end) || end > blob.size())
    fail("bytes [" + std::to_string(t.offset) + ", +" + std::to_string(t.size_bytes) + ") exceed the " +
         std::to_string(blob.size()) + "-byte " + (blob.path() == path_ ? "file" : "data"));
  check_quantization(t);
  index_.emplace(t.name, tensors_.size());
  tensors_.push_back(std::move(t));
}

void TensorStore::check_quantization(const TensorInfo& t) const {
  if (!t.quantization) return;
  auto fail = [&](const std::string& problem) {
    throw FormatError(blobs_[t.blob]->path(), "tensor " + detail::quote(t.name) + ": " + problem);
  };
  const auto& q = *t.quantization;
  const int64_t rank = static_cast<int64_t>(t.shape.size());
  if (q.axis < -1 || q.axis >= rank)
    fail("quantization axis " + std::to_string(q.axis) + " outside rank " + std::to_string(rank));
  const std::size_t expected = q.axis < 0 ? 1 : static_cast<std::size_t>(t.shape[static_cast<std::size_t>(q.axis)]);
  if (q.scale.size() != expected || q.zero_point.size() != expected || (!q.offset.empty() && q.offset.size() != expected))
    fail("quantization has " + std::to_string(q.scale.size()) + " scales for " + std::to_string(expected) + " slices");
  for (double s : q.scale)
    if (!std::isfinite(s)) fail("quantization scale is not finite");
  for (double z : q.zero_point)
    if (!std::isfinite(z)) fail("quantization zero point is not finite");
  for (double o : q.offset)
    if (!std::isfinite(o)) fail("quantization offset is not finite");
  if (traits(t.dtype).kind != DTypeKind::Integer) fail("affine quantization of a non-integer dtype");
}

void TensorStore::set_quantization(const std::string& name, AffineQuantization quantization) {
  TensorInfo* t = mutable_find(name);
  MDNA_ASSERT(t != nullptr, "set_quantization: no tensor " + name);
  TensorInfo candidate = *t;
  candidate.quantization = std::move(quantization);
  check_quantization(candidate);
  t->quantization = std::move(candidate.quantization);
}

void TensorStore::release(const TensorInfo& t) const {
  MDNA_ASSERT(t.blob < blobs_.size(), "release: tensor names no blob");
  blobs_[t.blob]->release(t.offset, t.size_bytes);
}

const std::byte* TensorStore::bytes(const TensorInfo& t) const {
  MDNA_ASSERT(t.blob < blobs_.size(), "bytes: tensor names no blob");
  return blobs_[t.blob]->data() + t.offset;
}

void TensorStore::read_f32(const TensorInfo& t, int64_t begin, int64_t count, float* out) const {
  MDNA_ASSERT(begin >= 0 && count >= 0 && begin + count <= t.numel(), "read_f32: slice outside " + t.name);
  if (count == 0) return;
  const std::byte* base = bytes(t);
  const auto& info = traits(t.dtype);
  if (info.kind == DTypeKind::Block) {
    // Dequantize whole blocks through a small buffer; copy the wanted part.
    const int64_t per = info.block_elems;
    std::array<float, 256 * 64> buffer;
    const int64_t blocks_per_pass = static_cast<int64_t>(buffer.size()) / per;
    int64_t position = begin;
    while (position < begin + count) {
      const int64_t block = position / per;
      const int64_t last_block = (begin + count - 1) / per;
      const int64_t blocks = std::min(blocks_per_pass, last_block - block + 1);
      to_f32(t.dtype, base + block * static_cast<int64_t>(info.block_bytes), static_cast<uint64_t>(blocks * per),
             buffer.data());
      const int64_t from = position - block * per;
      const int64_t take = std::min(blocks * per - from, begin + count - position);
      std::copy_n(buffer.data() + from, take, out + (position - begin));
      position += take;
    }
  } else if (t.contiguous()) {
    to_f32(t.dtype, base + static_cast<uint64_t>(begin) * info.block_bytes, static_cast<uint64_t>(count), out);
  } else {
    // Strided view: walk the logical index, one element at a time.
    const std::size_t rank = t.shape.size();
    std::vector<int64_t> index(rank, 0);
    int64_t rest = begin;
    for (std::size_t d = rank; d-- > 0;) {
      index[d] = rest % t.shape[d];
      rest /= t.shape[d];
    }
    for (int64_t i = 0; i < count; ++i) {
      int64_t element = 0;
      for (std::size_t d = 0; d < rank; ++d) element += index[d] * t.strides[d];
      to_f32(t.dtype, base + static_cast<uint64_t>(element) * info.block_bytes, 1, out + i);
      for (std::size_t d = rank; d-- > 0;) {
        if (++index[d] < t.shape[d]) break;
        index[d] = 0;
      }
    }
  }
  if (t.quantization) {
    const auto& q = *t.quantization;
    const AxisStep step = axis_step(t, q.axis);
    for (int64_t i = 0; i < count; ++i) {
      const std::size_t c = q.axis < 0 ? 0 : static_cast<std::size_t>(((begin + i) / step.inner) % step.size);
      double v = (static_cast<double>(out[i]) - q.zero_point[c]) * q.scale[c];
      if (!q.offset.empty()) v += q.offset[c];
      out[i] = static_cast<float>(v);
    }
  }
}

std::vector<float> TensorStore::read_f32(const TensorInfo& t) const {
  std::vector<float> out(static_cast<std::size_t>(t.numel()));
  read_f32(t, 0, t.numel(), out.data());
  return out;
}

std::vector<int64_t> TensorStore::read_i64(const TensorInfo& t) const {
  const auto kind = traits(t.dtype).kind;
  if (kind != DTypeKind::Integer && kind != DTypeKind::Bool)
    throw FormatError(path_, "tensor " + detail::quote(t.name) + " is " + std::string(dtype_name(t.dtype)) +
                                 ", not an integer tensor");
  const std::size_t size = dtype_size(t.dtype);
  const std::byte* base = bytes(t);
  std::vector<int64_t> out(static_cast<std::size_t>(t.numel()));
  const int64_t n = t.numel();
  const std::size_t rank = t.shape.size();
  std::vector<int64_t> index(rank, 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t element = i;
    if (!t.contiguous()) {
      element = 0;
      for (std::size_t d = 0; d < rank; ++d) element += index[d] * t.strides[d];
      for (std::size_t d = rank; d-- > 0;) {
        if (++index[d] < t.shape[d]) break;
        index[d] = 0;
      }
    }
    const std::byte* p = base + static_cast<uint64_t>(element) * size;
    int64_t v = 0;
    switch (t.dtype) {
      case DType::I64: { int64_t x; std::memcpy(&x, p, 8); v = x; break; }
      case DType::I32: { int32_t x; std::memcpy(&x, p, 4); v = x; break; }
      case DType::I16: { int16_t x; std::memcpy(&x, p, 2); v = x; break; }
      case DType::I8: v = static_cast<int8_t>(*p); break;
      case DType::U64: { uint64_t x; std::memcpy(&x, p, 8); v = static_cast<int64_t>(x); break; }
      case DType::U32: { uint32_t x; std::memcpy(&x, p, 4); v = x; break; }
      case DType::U16: { uint16_t x; std::memcpy(&x, p, 2); v = x; break; }
      case DType::U8: v = static_cast<uint8_t>(*p); break;
      case DType::BOOL: v = *p != std::byte{0}; break;
      default: throw InternalError("read_i64: unexpected dtype");
    }
    out[static_cast<std::size_t>(i)] = v;
  }
  return out;
}

namespace {

// Running sums over float values: blocks of 4,096 accumulate in float lanes
// (vectorised), then fold into doubles, so a billion values cost a fraction
// of a second and lose no precision that matters for a mean.
struct StatsAccumulator {
  double sum = 0, sum_sq = 0, sum_cube = 0, sum_fourth = 0;
  double min = INFINITY, max = -INFINITY;
  int64_t zeros = 0, non_finite = 0, finite = 0;

  void add(const float* v, int64_t n) {
    constexpr int64_t kBlock = 4096;
    for (int64_t begin = 0; begin < n; begin += kBlock) {
      const int64_t count = std::min(kBlock, n - begin);
      const float* x = v + begin;
      // Eight independent lanes: the compiler turns them into vector
      // instructions without reordering any one lane's additions.
      constexpr int kLanes = 8;
      float ls[kLanes] = {}, lsq[kLanes] = {}, lcu[kLanes] = {}, lfo[kLanes] = {}, llo[kLanes], lhi[kLanes];
      int32_t lz[kLanes] = {};
      for (int l = 0; l < kLanes; ++l) llo[l] = lhi[l] = x[0];
      int64_t i = 0;
      for (; i + kLanes <= count; i += kLanes)
        for (int l = 0; l < kLanes; ++l) {
          const float value = x[i + l];
          ls[l] += value;
          const float square = value * value;
          lsq[l] += square;
          lcu[l] += square * value;
          lfo[l] += square * square;
          llo[l] = value < llo[l] ? value : llo[l];
          lhi[l] = value > lhi[l] ? value : lhi[l];
          lz[l] += value == 0.0f;
        }
      float s = 0, sq = 0, cu = 0, fo = 0, lo = x[0], hi = x[0];
      int64_t z = 0;
      for (int l = 0; l < kLanes; ++l) {
        s += ls[l];
        sq += lsq[l];
        cu += lcu[l];
        fo += lfo[l];
        lo = std::min(lo, llo[l]);
        hi = std::max(hi, lhi[l]);
        z += lz[l];
      }
      for (; i < count; ++i) {
        s += x[i];
        sq += x[i] * x[i];
        cu += x[i] * x[i] * x[i];
        fo += x[i] * x[i] * x[i] * x[i];
        lo = std::min(lo, x[i]);
        hi = std::max(hi, x[i]);
        z += x[i] == 0.0f;
      }
      // A NaN can hide from min/max but never from the sums.
      if (std::isfinite(s) && std::isfinite(sq) && std::isfinite(fo)) {
        sum += s;
        sum_sq += sq;
        sum_cube += cu;
        sum_fourth += fo;
        min = std::min<double>(min, lo);
        max = std::max<double>(max, hi);
        zeros += z;
        finite += count;
        continue;
      }
      for (int64_t j = 0; j < count; ++j) {  // a block with NaN or infinity: one value at a time
        if (!std::isfinite(x[j])) {
          ++non_finite;
          continue;
        }
        ++finite;
        sum += x[j];
        const double square = static_cast<double>(x[j]) * x[j];
        sum_sq += square;
        sum_cube += square * x[j];
        sum_fourth += square * square;
        zeros += x[j] == 0.0f;
        min = std::min<double>(min, x[j]);
        max = std::max<double>(max, x[j]);
      }
    }
  }
};

}  // namespace

TensorStats tensor_stats(const TensorStore& store, const TensorInfo& t, int64_t chunk) {
  TensorStats s;
  const int64_t n = t.numel();
  if (n == 0) return s;
  StatsAccumulator acc;
  if (t.dtype == DType::F32 && t.contiguous() && !t.quantization &&
      reinterpret_cast<uintptr_t>(store.bytes(t)) % alignof(float) == 0) {
    // Read in place: no copy.
    acc.add(reinterpret_cast<const float*>(store.bytes(t)), n);
  } else {
    // Whole blocks per slice, so block-quantized tensors are decoded once.
    const int64_t block = traits(t.dtype).block_elems;
    chunk = std::max<int64_t>(block, chunk / block * block);
    std::vector<float> buffer(static_cast<std::size_t>(std::min(n, chunk)));
    for (int64_t begin = 0; begin < n; begin += chunk) {
      const int64_t count = std::min(chunk, n - begin);
      store.read_f32(t, begin, count, buffer.data());
      acc.add(buffer.data(), count);
    }
  }
  store.release(t);
  if (acc.finite > 0) {
    s.mean = acc.sum / static_cast<double>(acc.finite);
    const double n_finite = static_cast<double>(acc.finite), m = s.mean;
    const double variance = std::max(0.0, acc.sum_sq / n_finite - m * m);
    s.stddev = std::sqrt(variance);
    // The fourth central moment from raw moments (weights have mean ~ 0, so
    // the cancellation is mild).
    const double fourth = acc.sum_fourth / n_finite - 4 * m * acc.sum_cube / n_finite +
                          6 * m * m * acc.sum_sq / n_finite - 3 * m * m * m * m;
    s.kurtosis = variance > 0 ? std::max(0.0, fourth) / (variance * variance) : 0;
    s.min = acc.min;
    s.max = acc.max;
  }
  s.zeros = acc.zeros;
  s.non_finite = acc.non_finite;
  return s;
}

StoreSummary summarize(const TensorStore& store) {
  StoreSummary s;
  for (const auto& t : store.tensors()) {
    ++s.tensors;
    if (is_learned(t.role)) s.parameters += t.numel();
    s.bytes += t.size_bytes;
    ++s.dtypes[std::string(dtype_name(t.dtype))];
  }
  return s;
}

}  // namespace modeldna::io
