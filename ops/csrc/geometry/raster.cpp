#include "raster.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "interrupt.h"

namespace geoconv {

namespace {

// ceil and floor of a value already clamped to int range: baseline x86-64
// has no rounding instruction, and std::ceil's emulation took a tenth of the
// raster's time in a profile.
inline int ceil_int(double v) {
  const int i = static_cast<int>(v);
  return i + (i < v);
}
inline int floor_int(double v) {
  const int i = static_cast<int>(v);
  return i - (i > v);
}

// v as an int in [lo, hi] (NaN gives lo), converted only once in range: a
// double outside int's range has no defined conversion.
inline int clamp_to_int(double v, int lo, int hi) {
  if (!(v >= lo)) return lo;
  return v <= hi ? static_cast<int>(v) : hi;
}

// The triangle's edges, set up once for all its rows.
struct Edges {
  double ax[3], ay[3], bx[3], dx[3], inv_dy[3];
  bool flat[3];

  explicit Edges(const double* p[3]) {
    for (int k = 0; k < 3; ++k) {
      const double *a = p[k], *b = p[(k + 1) % 3];
      ax[k] = a[0], ay[k] = a[1], bx[k] = b[0], dx[k] = b[0] - a[0];
      const double dy = b[1] - a[1];
      flat[k] = std::abs(dy) < 1e-9;
      inv_dy[k] = flat[k] ? 0.0 : 1.0 / dy;
    }
  }
};

// Narrows [c0, c1] to the columns of row y that may hold samples inside the
// triangle: the span of its edges at height y, widened by a margin far above
// the inside test's tolerance and any rounding here, so the exact test below
// still decides every sample (the numpy twin tests the whole bounding box).
void row_span(const Edges& e, double y, double offset, int& c0, int& c1) {
  double xl = std::numeric_limits<double>::infinity(), xr = -xl;
  for (int k = 0; k < 3; ++k) {
    if (e.flat[k]) {
      if (std::abs(y - e.ay[k]) < 1e-3) {
        xl = std::min({xl, e.ax[k], e.bx[k]});
        xr = std::max({xr, e.ax[k], e.bx[k]});
      }
      continue;
    }
    double t = (y - e.ay[k]) * e.inv_dy[k];
    if (t < -1e-3 || t > 1 + 1e-3) continue;
    t = std::min(std::max(t, 0.0), 1.0);
    const double x = e.ax[k] + t * e.dx[k];
    xl = std::min(xl, x);
    xr = std::max(xr, x);
  }
  if (!(xl <= xr)) return;  // keep the bounding box's columns
  // Clamped to [c0 - 1, c1 + 1] first, which leaves the result unchanged.
  const double lo = c0 - 1.0, hi = c1 + 1.0;
  c0 = std::max(c0, ceil_int(std::min(std::max(xl - offset - 0.01, lo), hi)));
  c1 = std::min(c1, floor_int(std::min(std::max(xr - offset + 0.01, lo), hi)));
}

}  // namespace

void rasterize(const Mesh& m, int h, int w, double offset, Raster& out, bool with_points) {
  const size_t n = static_cast<size_t>(h) * w;
  out.h = h;
  out.w = w;
  out.tri.allocate(n);
  int32_t* tri_of = out.tri.data();
  for (size_t pix = 0; pix < n; ++pix) tri_of[pix] = -1;
  // With points, barycentrics are scratch read only where a triangle won;
  // without, they are the output and zero off the surface.
  Buffer<float> scratch;
  float* bary;
  if (with_points) {
    out.bary.clear();
    scratch.allocate(n * 3);
    bary = scratch.data();
  } else {
    out.bary.assign(n * 3, 0.f);
    bary = out.bary.data();
  }
  // Depths are read only where a triangle already won (tri >= 0); an empty
  // sample takes any z > -inf, as a buffer cleared to -inf would.
  Buffer<double> zbuf;
  zbuf.allocate(n);
  double* zb = zbuf.data();
  for (int t = 0; t < m.nf; ++t) {
    const int32_t* tri = m.face(t);
    const double *p0 = m.vert(tri[0]), *p1 = m.vert(tri[1]), *p2 = m.vert(tri[2]);
    // Locals, so that the stores below cannot be taken to alias the mesh.
    const double x0 = p0[0], y0 = p0[1], z0 = p0[2];
    const double x1 = p1[0], y1 = p1[1], z1 = p1[2];
    const double x2 = p2[0], y2 = p2[1], z2 = p2[2];
    double det = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0);
    if (!(std::abs(det) > 1e-12)) continue;
    double inv = 1.0 / det;
    double xmin = std::min({x0, x1, x2}) - offset;
    double xmax = std::max({x0, x1, x2}) - offset;
    double ymin = std::min({y0, y1, y2}) - offset;
    double ymax = std::max({y0, y1, y2}) - offset;
    // The bounding box clipped to the grid; a triangle beyond it gives an
    // empty range (first > last) whatever its coordinates.
    int bc0 = clamp_to_int(std::ceil(xmin), 0, w);
    int bc1 = clamp_to_int(std::floor(xmax), -1, w - 1);
    int r0 = clamp_to_int(std::ceil(ymin), 0, h);
    int r1 = clamp_to_int(std::floor(ymax), -1, h - 1);
    const double* p[3] = {p0, p1, p2};
    const Edges edges(p);
    for (int r = r0; r <= r1; ++r) {
      poll_interrupt();
      double y = r + offset;
      int c0 = bc0, c1 = bc1;
      row_span(edges, y, offset, c0, c1);
      for (int c = c0; c <= c1; ++c) {
        double x = c + offset;
        double l1 = ((x - x0) * (y2 - y0) - (x2 - x0) * (y - y0)) * inv;
        double l2 = ((x1 - x0) * (y - y0) - (x - x0) * (y1 - y0)) * inv;
        double l0 = 1.0 - l1 - l2;
        if (l0 < -1e-9 || l1 < -1e-9 || l2 < -1e-9) continue;
        double z = l0 * z0 + l1 * z1 + l2 * z2;
        size_t pix = static_cast<size_t>(r) * w + c;
        const int32_t held = tri_of[pix];
        if (held < 0 ? z > -kInf : (z > zb[pix] || (z == zb[pix] && t < held))) {
          zb[pix] = z;
          tri_of[pix] = t;
          bary[3 * pix] = static_cast<float>(l0);
          bary[3 * pix + 1] = static_cast<float>(l1);
          bary[3 * pix + 2] = static_cast<float>(l2);
        }
      }
    }
  }
  if (!with_points) return;
  // Every sample is written here, NaN off the surface.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  out.x.allocate(n);
  out.y.allocate(n);
  out.z.allocate(n);
  double* axis[3] = {out.x.data(), out.y.data(), out.z.data()};
  for (size_t pix = 0; pix < n; ++pix) {
    int t = tri_of[pix];
    if (t < 0) {
      for (int d = 0; d < 3; ++d) axis[d][pix] = nan;
      continue;
    }
    const int32_t* tri = m.face(t);
    const double b0 = bary[3 * pix], b1 = bary[3 * pix + 1], b2 = bary[3 * pix + 2];
    const double *v0 = m.vert(tri[0]), *v1 = m.vert(tri[1]), *v2 = m.vert(tri[2]);
    for (int d = 0; d < 3; ++d) {
      double s = 0;
      s += b0 * v0[d];
      s += b1 * v1[d];
      s += b2 * v2[d];
      axis[d][pix] = s;
    }
  }
}

}  // namespace geoconv
