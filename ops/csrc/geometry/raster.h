// z-buffered rasterisation of a mesh at image points (c + offset, r + offset);
// the arithmetic follows geoconv_mm/geodesic/raster.py so both give the same
// triangles and barycentrics.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "mesh.h"

namespace geoconv {

// An array left uninitialised on allocation: every sample of a raster is
// written once, so value-initialising (a memset) would only add work.
template <typename T>
class Buffer {
 public:
  void allocate(size_t n) {
    if (n != n_) p_.reset(new T[n]), n_ = n;
  }
  T* data() { return p_.get(); }
  const T* data() const { return p_.get(); }
  T& operator[](size_t i) { return p_[i]; }
  const T& operator[](size_t i) const { return p_[i]; }
  size_t size() const { return n_; }

 private:
  std::unique_ptr<T[]> p_;
  size_t n_ = 0;
};

struct Raster {
  int h = 0, w = 0;
  Buffer<int32_t> tri;     // (h, w), -1 off the surface
  std::vector<float> bary; // (h, w, 3), only without points (else empty)
  // Surface point of each sample (NaN off the surface), one plane per axis so
  // that step lengths vectorise.
  Buffer<double> x, y, z;
};

void rasterize(const Mesh& m, int h, int w, double offset, Raster& out,
               bool with_points = true);

}  // namespace geoconv
