// z-buffered rasterisation of a mesh at image points (c + offset, r + offset);
// the arithmetic follows geoconv_mm/geodesic/raster.py so both give the same
// triangles and barycentrics.
#pragma once

#include <cstdint>
#include <vector>

#include "mesh.h"

namespace geoconv {

struct Raster {
  int h = 0, w = 0;
  std::vector<int32_t> tri;  // (h, w), -1 off the surface
  std::vector<float> bary;   // (h, w, 3)
  // Surface point of each sample (NaN off the surface), one plane per axis so
  // that step lengths vectorise.
  std::vector<double> x, y, z;
};

void rasterize(const Mesh& m, int h, int w, double offset, Raster& out,
               bool with_points = true);

}  // namespace geoconv
