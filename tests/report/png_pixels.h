// Test-only: the pixels of an 8-bit RGB / RGBA PNG (what headless Chromium
// writes), to check a rendered page is not blank.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace modeldna::testing {

struct Image {
  uint32_t width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;  // row-major, `channels` bytes a pixel
};

inline uint32_t be32(const std::string& s, std::size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) | (uint32_t(uint8_t(s[at + 2])) << 8) |
         uint32_t(uint8_t(s[at + 3]));
}

inline Image read_png(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string f((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (f.size() < 8 || f.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) throw std::runtime_error(path + ": not a PNG");
  Image img;
  std::string idat;
  for (std::size_t at = 8; at + 8 <= f.size();) {
    const uint32_t length = be32(f, at);
    const std::string type = f.substr(at + 4, 4);
    if (type == "IHDR") {
      img.width = be32(f, at + 8);
      img.height = be32(f, at + 12);
      const int depth = uint8_t(f[at + 16]), color = uint8_t(f[at + 17]);
      if (depth != 8 || (color != 2 && color != 6)) throw std::runtime_error(path + ": not 8-bit RGB(A)");
      img.channels = color == 2 ? 3 : 4;
    } else if (type == "IDAT") {
      idat += f.substr(at + 8, length);
    }
    at += 12 + length;
  }
  const std::size_t stride = std::size_t(img.width) * img.channels;
  std::vector<uint8_t> raw((stride + 1) * img.height);
  uLongf size = static_cast<uLongf>(raw.size());
  if (uncompress(raw.data(), &size, reinterpret_cast<const Bytef*>(idat.data()), static_cast<uLong>(idat.size())) != Z_OK)
    throw std::runtime_error(path + ": bad image data");
  img.pixels.resize(stride * img.height);
  for (std::size_t y = 0; y < img.height; ++y) {
    const uint8_t filter = raw[y * (stride + 1)];
    const uint8_t* src = &raw[y * (stride + 1) + 1];
    uint8_t* row = &img.pixels[y * stride];
    const uint8_t* up = y ? &img.pixels[(y - 1) * stride] : nullptr;
    for (std::size_t x = 0; x < stride; ++x) {
      const int a = x >= img.channels ? row[x - img.channels] : 0, b = up ? up[x] : 0,
                c = (up && x >= img.channels) ? up[x - img.channels] : 0;
      int predictor = 0;
      switch (filter) {
        case 1: predictor = a; break;
        case 2: predictor = b; break;
        case 3: predictor = (a + b) / 2; break;
        case 4: {
          const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
          predictor = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c);
          break;
        }
        default: break;
      }
      row[x] = static_cast<uint8_t>(src[x] + predictor);
    }
  }
  return img;
}

}  // namespace modeldna::testing
