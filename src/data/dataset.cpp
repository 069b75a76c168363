#include "modeldna/data/dataset.h"

#include <algorithm>

namespace modeldna::data {

Dataset Dataset::select(const torch::Tensor& indices) const {
  return {name, inputs.index_select(0, indices), labels.index_select(0, indices), num_classes};
}

Dataset Dataset::slice(int64_t begin, int64_t count) const {
  begin = std::clamp<int64_t>(begin, 0, size());
  const int64_t end = std::clamp<int64_t>(begin + count, begin, size());
  return {name, inputs.slice(0, begin, end), labels.slice(0, begin, end), num_classes};
}

Dataset to_dataset(const ImageSet& images, std::string name, int64_t num_classes) {
  const int64_t n = images.size();
  auto pixels = torch::from_blob(const_cast<uint8_t*>(images.pixels.data()),
                                 {n, 1, images.rows, images.cols}, torch::kUInt8);
  auto labels = torch::from_blob(const_cast<uint8_t*>(images.labels.data()), {n}, torch::kUInt8);
  // from_blob borrows; the conversions below copy into tensors we own.
  torch::Tensor inputs = pixels.to(torch::kFloat32).div_(127.5).sub_(1.0);
  return {std::move(name), inputs, labels.to(torch::kInt64), num_classes};
}

}  // namespace modeldna::data
