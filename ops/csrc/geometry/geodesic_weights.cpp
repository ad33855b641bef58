// Fast geodesic weights (Eq. 4) from a face mesh: the C++ twin of the numpy
// implementation in geoconv_mm/geodesic/weights.py (same algorithm, same rules; see
// that module's docstring). Single-threaded on purpose: the data pipeline runs one
// frame per worker process.
//
// Where the work is shared: all layers of one parity of in_stride read one
// raster (odd: samples at pixel centres, even: at pixel corners), and every
// unit grid step of a raster is lifted once per direction, in a table that all
// layers' segments sum over (a stride-16 tap is 16 table entries). With unit
// stride a tap pair is also the mirrored pair of its tap's cell, computed once.
#include <torch/extension.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <numeric>
#include <type_traits>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "fast_exp.h"
#include "interrupt.h"
#include "mesh.h"
#include "raster.h"
#include "simd.h"

using namespace geoconv;

void geoconv::poll_interrupt() {
  // Only with the GIL (the bindings below hold it): signal handlers run in
  // Python.
  if (PyGILState_Check() && PyErr_CheckSignals() != 0) throw py::error_already_set();
}

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

inline int mod(int a, int b) { return ((a % b) + b) % b; }

// out[c] = |P(c + off) - P(c)| for c in [c0, c1), P = (x, y, z): NaN where
// an end has no point; IEEE sqrt, so vector and scalar loops give the same
// bits.
void step_lengths(const double* x, const double* y, const double* z, int64_t off, int64_t c0,
                  int64_t c1, double* out) {
  int64_t c = have_avx2() ? step_lengths_avx2(x, y, z, off, c0, c1, out) : c0;
#if defined(__SSE2__)
  for (; c + 2 <= c1; c += 2) {
    const int64_t b = c + off;
    __m128d ex = _mm_sub_pd(_mm_loadu_pd(x + b), _mm_loadu_pd(x + c));
    __m128d ey = _mm_sub_pd(_mm_loadu_pd(y + b), _mm_loadu_pd(y + c));
    __m128d ez = _mm_sub_pd(_mm_loadu_pd(z + b), _mm_loadu_pd(z + c));
    __m128d s2 = _mm_add_pd(_mm_add_pd(_mm_mul_pd(ex, ex), _mm_mul_pd(ey, ey)), _mm_mul_pd(ez, ez));
    _mm_storeu_pd(out + c, _mm_sqrt_pd(s2));
  }
#endif
  for (; c < c1; ++c) {
    const int64_t b = c + off;
    double ex = x[b] - x[c], ey = y[b] - y[c], ez = z[b] - z[c];
    out[c] = std::sqrt(ex * ex + ey * ey + ez * ez);
  }
}

// A raster and its lifted unit steps: table (dr, dc) holds, at sample p, the
// 3D length of the step p -> p + (dr, dc); NaN where an end has no surface
// point (or lies outside the grid), -1 where the two triangles are not linked.
//
// A layer of in_stride S reads a table only on the lines through its cell
// centres, samples (r, c) with dr * c - dc * r = (dr - dc) * half (mod S),
// half = (S - 1) / 2, as centres sit at half (mod S) and taps S apart. With
// every reader declared by `plan`, a table is exact on those lines only:
// elsewhere its rows are NaN and its link marks may be missing.
class Grid {
 public:
  Raster r;

  // Declares that a layer of in_stride S will read table (dr, dc).
  void plan(int dr, int dc, int S) {
    const int half = (S - 1) / 2;
    for (const auto& u : users_)
      if (u.dr == dr && u.dc == dc && u.S == S && u.half == half) return;
    users_.push_back({dr, dc, S, half});
  }

  const double* steps(const Mesh& m, LinkCache& links, int dr, int dc) {
    for (const auto& t : tables_)
      if (t.dr == dr && t.dc == dc) return t.len.data();
    tables_.push_back({dr, dc, {}});
    auto& len = tables_.back().len;
    const int h = r.h, w = r.w;
    // Entries whose step leaves the grid are NaN; the rest are written below,
    // so only those margins are filled.
    len.allocate(static_cast<size_t>(h) * w);
    const int c0 = std::max(0, -dc), c1 = w - std::max(0, dc);
    for (int row = 0; row < h; ++row) {
      double* o = len.data() + static_cast<int64_t>(row) * w;
      if (row + dr >= h) {
        std::fill(o, o + w, kNaN);
        continue;
      }
      std::fill(o, o + c0, kNaN);
      std::fill(o + c1, o + w, kNaN);
    }
    const int64_t off = static_cast<int64_t>(dr) * w + dc;
    const double *x = r.x.data(), *y = r.y.data(), *z = r.z.data();
    const Runs& runs = triangle_runs();
    const int32_t* across = m.topo->across.data();
    for (int row = 0; row + dr < h; ++row) {
      poll_interrupt();
      const int64_t base = static_cast<int64_t>(row) * w;
      double* out = len.data() + base;
      int start, period;
      lines_of_row(dr, dc, row, start, period);
      if (period == 0) {
        std::fill(out + c0, out + c1, kNaN);
        continue;
      }
      const int32_t *col_a = runs.col.data() + runs.ptr[row], *tri_a = runs.tri.data() + runs.ptr[row];
      const int32_t *col_b = runs.col.data() + runs.ptr[row + dr], *tri_b = runs.tri.data() + runs.ptr[row + dr];
      // Lengths first, over the row's spans of steps that start on the
      // surface; a step from an empty sample is NaN without computing it,
      // and most samples of a face crop are empty...
      int first_a = 0;  // the run of row a holding column c0
      while (col_a[first_a + 1] <= c0) ++first_a;
      for (int c = c0, k = first_a; c < c1; ++k) {
        const bool on = tri_a[k] >= 0;
        int e = col_a[k + 1];
        while (e < c1 && (tri_a[k + 1] >= 0) == on) e = col_a[++k + 1];
        e = std::min(e, c1);
        if (on)
          step_lengths(x, y, z, off, base + c, base + e, len.data());
        else
          std::fill(out + c, out + e, kNaN);
        c = e;
      }
      // ...then the link rule. The triangle pair of a step is constant
      // between the run boundaries of the two rows it joins, so the rule is
      // asked once per such segment instead of once per sample; a row that
      // only some lines cross is marked at those lines' samples.
      int i = first_a, j = 0;
      while (col_b[j + 1] - dc <= c0) ++j;
      for (int c = c0; c < c1;) {
        const int end_a = col_a[i + 1], end_b = col_b[j + 1] - dc;
        const int end = std::min({end_a, end_b, c1});
        const int ta = tri_a[i], tb = tri_b[j];
        // Whether the pair needs the full rule: on the surface, different,
        // and not across an edge (as links() would first test). Evaluated
        // without branches, as the answer changes from segment to segment
        // too irregularly to predict.
        const int32_t* ac = across + 3 * static_cast<int64_t>(std::max(ta, 0));
        const bool open = (ta != tb) & (ta >= 0) & (tb >= 0) & (ac[0] != tb) & (ac[1] != tb) & (ac[2] != tb);
        if (open && !links(ta, tb)) {
          for (int q = period > 1 ? c + mod(start - c, period) : c; q < end; q += period) out[q] = -1.0;
        }
        c = end;
        i += end_a == end;
        j += end_b == end;
      }
    }
    return len.data();
  }

 private:
  // The columns of `row` that table (dr, dc) is read at: c = start (mod
  // period); period 1 for all, 0 for none.
  void lines_of_row(int dr, int dc, int row, int& start, int& period) const {
    start = 0;
    period = 1;
    bool any = false, row_read = false;
    for (const auto& u : users_) {
      if (u.dr != dr || u.dc != dc) continue;
      if (u.S == 1 || dr > 1) return;
      any = true;
      if (dr == 0) {  // a row of the table is one line
        row_read |= mod(row - u.half, u.S) == 0;
        continue;
      }
      // dr = 1: the line through (row, c) has c = dc * row + (1 - dc) * half.
      const int a = mod(dc * row + (1 - dc) * u.half, u.S);
      if (period == 1 && start == 0 && !row_read) {
        period = u.S, start = a, row_read = true;
      } else if (period % u.S == 0 && mod(start - a, u.S) == 0) {
        period = u.S, start = a;  // a class that holds the one so far
      } else if (!(u.S % period == 0 && mod(a - start, period) == 0)) {
        period = 1, start = 0;  // two disjoint classes: the whole row
        return;
      }
    }
    if (!any) return;  // undeclared readers: the whole table
    if (dr == 0) period = row_read ? 1 : 0, start = 0;
  }

  // Maximal runs of one triangle (or of -1) along each raster row, as CSR:
  // row r's runs are ptr[r] .. ptr[r + 1] - 2, run k covering columns
  // [col[k], col[k + 1]); each row ends in a sentinel whose col is w.
  struct Runs {
    std::vector<int32_t> ptr;
    Buffer<int32_t> col, tri;
  };

  const Runs& triangle_runs() {
    if (!runs_.ptr.empty()) return runs_;
    const int h = r.h, w = r.w;
    const int32_t* t = r.tri.data();
    // At most one run per sample plus a sentinel per row. Every sample's
    // column is written and kept only where a run starts: no branch on the
    // raster's content.
    runs_.col.allocate(static_cast<size_t>(h) * (w + 1));
    runs_.tri.allocate(static_cast<size_t>(h) * (w + 1));
    int32_t *col = runs_.col.data(), *tri = runs_.tri.data();
    runs_.ptr.assign(1, 0);
    int32_t n = 0;
    for (int row = 0; row < h; ++row) {
      const int32_t* tr = t + static_cast<int64_t>(row) * w;
      col[n] = 0, tri[n] = tr[0], ++n;
      for (int c = 1; c < w; ++c) {
        col[n] = c, tri[n] = tr[c];
        n += tr[c] != tr[c - 1];
      }
      col[n] = w, tri[n] = -1, ++n;
      runs_.ptr.push_back(n);
    }
    return runs_;
  }

  struct Table {
    int dr, dc;
    Buffer<double> len;
  };
  struct User {
    int dr, dc, S, half;
  };
  std::vector<Table> tables_;
  std::vector<User> users_;
  Runs runs_;
};

struct Layer {
  int S, kh, kw, sh, sw, ph, pw, dh, dw;
  int hout, wout, K, ci;
  std::vector<double> deu, denom;

  // Offset, in output cells, of tap k's cell from the centre's.
  int tap_dy(int k) const { return (k / kw - kh / 2) * dh; }
  int tap_dx(int k) const { return (k % kw - kw / 2) * dw; }
};

// A tap pair whose straight segment leaves the surface: resolved through the
// vertex graph.
struct Pending {
  int layer, tap;
  int64_t cell;    // y * w_out + x
  int64_t pc, pq;  // raster samples of centre and tap
  int mirror_tap;  // the same pair seen from the tap's cell, or -1
  int64_t mirror_cell;
};

Mesh make_mesh(const torch::Tensor& vertices, const torch::Tensor& faces) {
  TORCH_CHECK(vertices.dim() == 2 && vertices.size(1) == 3 && vertices.scalar_type() == torch::kFloat64 &&
                  vertices.is_contiguous(),
              "vertices must be a contiguous (V, 3) float64 tensor");
  TORCH_CHECK(faces.dim() == 2 && faces.size(1) == 3 && faces.scalar_type() == torch::kInt32 &&
                  faces.is_contiguous(),
              "faces must be a contiguous (F, 3) int32 tensor");
  TORCH_CHECK(vertices.size(0) < std::numeric_limits<int32_t>::max() &&
                  faces.size(0) < std::numeric_limits<int32_t>::max() / 3,
              "mesh too large: ", vertices.size(0), " vertices, ", faces.size(0), " faces");
  Mesh m;
  m.nv = static_cast<int>(vertices.size(0));
  m.nf = static_cast<int>(faces.size(0));
  m.v = vertices.data_ptr<double>();
  m.f = faces.data_ptr<int32_t>();
  for (int64_t i = 0; i < 3 * static_cast<int64_t>(m.nf); ++i)
    TORCH_CHECK(m.f[i] >= 0 && m.f[i] < m.nv, "face index out of range");
  // Whatever reaches the raster must be rasterisable: finite coordinates
  // within kMaxCoordinate (the test is false for NaN).
  for (int64_t i = 0; i < 3 * static_cast<int64_t>(m.nv); ++i)
    TORCH_CHECK(std::abs(m.v[i]) <= kMaxCoordinate, "vertex coordinate ", m.v[i], " of vertex ", i / 3,
                " is not finite or beyond +-", kMaxCoordinate, " px");
  return m;
}

void check_image_size(int64_t h, int64_t w) {
  TORCH_CHECK(h >= 1 && w >= 1 && h <= kMaxImageSide && w <= kMaxImageSide, "image size (", h, ", ", w,
              ") must lie in [1, ", kMaxImageSide, "]");
}

Layer make_layer(const int64_t* q, int64_t h, int64_t w, bool hierarchy_compensation) {
  Layer L;
  L.S = static_cast<int>(q[0]), L.kh = static_cast<int>(q[1]), L.kw = static_cast<int>(q[2]);
  L.sh = static_cast<int>(q[3]), L.sw = static_cast<int>(q[4]), L.ph = static_cast<int>(q[5]);
  L.pw = static_cast<int>(q[6]), L.dh = static_cast<int>(q[7]), L.dw = static_cast<int>(q[8]);
  TORCH_CHECK(L.S >= 1 && L.sh >= 1 && L.sw >= 1 && L.dh >= 1 && L.dw >= 1 && L.ph >= 0 && L.pw >= 0,
              "in_stride, stride and dilation must be >= 1, padding >= 0");
  TORCH_CHECK(L.kh % 2 == 1 && L.kw % 2 == 1, "geodesic weights need odd kernels");
  TORCH_CHECK(h % L.S == 0 && w % L.S == 0, "image size not divisible by in_stride");
  const int hin = static_cast<int>(h / L.S), win = static_cast<int>(w / L.S);
  L.hout = (hin + 2 * L.ph - L.dh * (L.kh - 1) - 1) / L.sh + 1;
  L.wout = (win + 2 * L.pw - L.dw * (L.kw - 1) - 1) / L.sw + 1;
  TORCH_CHECK(L.hout > 0 && L.wout > 0, "empty output");
  L.K = L.kh * L.kw;
  L.ci = L.K / 2;
  L.deu.resize(L.K);
  L.denom.resize(L.K);
  for (int i = 0; i < L.kh; ++i)
    for (int j = 0; j < L.kw; ++j) {
      double a = static_cast<double>((i - L.kh / 2) * L.dh), b = static_cast<double>((j - L.kw / 2) * L.dw);
      L.deu[i * L.kw + j] = L.S * std::sqrt(a * a + b * b);
      L.denom[i * L.kw + j] = hierarchy_compensation ? L.deu[i * L.kw + j] : 1.0;
    }
  return L;
}

// Lifted-segment distances of one layer (NaN without a surface point); pairs
// that leave the surface are queued in `pending`. Tap-major: one tap's grid
// offset, step table and walk length are fixed over all cells. With unit
// stride, Eq. 4 takes a later tap's weight from its mirror's and never reads
// its distance where the mirror exists, so those entries are only written
// when `all_taps` (the distances are returned).
void lifted_distances(const Mesh& m, LinkCache& links, Grid& g, const Layer& L, int layer,
                      bool all_taps, double* D, std::vector<Pending>& pending) {
  const int h = g.r.h, w = g.r.w, K = L.K, ci = L.ci, cy = L.kh / 2, cx = L.kw / 2;
  const int hout = L.hout, wout = L.wout;
  const int64_t plane = static_cast<int64_t>(hout) * wout;
  const bool unit_stride = L.sh == 1 && L.sw == 1;
  const int half = (L.S - 1) / 2;
  const int32_t* tri = g.r.tri.data();
  // Raster sample of each cell's centre, or -1 without a surface point.
  Buffer<int64_t> centre;  // every cell is written below
  centre.allocate(plane);
  std::vector<int> row_of(hout), col_of(wout);
  for (int y = 0; y < hout; ++y) row_of[y] = (y * L.sh - L.ph + cy * L.dh) * L.S + half;
  for (int x = 0; x < wout; ++x) col_of[x] = (x * L.sw - L.pw + cx * L.dw) * L.S + half;
  // Cells whose centre column lies in the grid: x in [cx_in0, cx_in1).
  int cx_in0 = wout, cx_in1 = 0;
  for (int x = 0; x < wout; ++x)
    if (col_of[x] >= 0 && col_of[x] < w) cx_in0 = std::min(cx_in0, x), cx_in1 = x + 1;
  double* Dc = D + ci * plane;
  for (int y = 0; y < hout; ++y)
    for (int x = 0; x < wout; ++x) {
      const int r = row_of[y], c = col_of[x];
      int64_t p = -1;
      if (r >= 0 && r < h && c >= 0 && c < w && tri[static_cast<int64_t>(r) * w + c] >= 0)
        p = static_cast<int64_t>(r) * w + c;
      centre[static_cast<int64_t>(y) * wout + x] = p;
      Dc[static_cast<int64_t>(y) * wout + x] = p >= 0 ? 0.0 : kNaN;
    }
  // Taps before the centre first: with unit stride they also fill their
  // mirror, the pair (cell + offset, K-1-k), so later taps only do the cells
  // whose mirror lies outside the output.
  for (int k = 0; k < K; ++k) {
    if (k == ci) continue;
    const int dy = L.tap_dy(k), dx = L.tap_dx(k);
    const int dr = dy * L.S, dc = dx * L.S;                 // sample offset centre -> tap
    const int64_t goff = static_cast<int64_t>(dr) * w + dc;
    const int n = std::gcd(std::abs(dr), std::abs(dc));
    const int ur = dr / n, uc = dc / n;
    const int64_t su = static_cast<int64_t>(ur) * w + uc;
    const bool forward = ur > 0 || (ur == 0 && uc > 0);
    const double* len = forward ? g.steps(m, links, ur, uc) : g.steps(m, links, -ur, -uc);
    const int64_t read = forward ? 0 : su;  // table entry of the step leaving sample p
    double* Dk = D + k * plane;
    double* Dm = D + (K - 1 - k) * plane;
    // Cells whose tap sample lies in the grid: x in [gx0, gx1).
    int gx0 = wout, gx1 = 0;
    for (int x = 0; x < wout; ++x)
      if (col_of[x] + dc >= 0 && col_of[x] + dc < w) gx0 = std::min(gx0, x), gx1 = x + 1;
    // Cells whose mirror lies in the output: x in [mx0, mx1).
    const int mx0 = std::max(0, -dx), mx1 = std::min(wout, wout - dx);
    const int64_t moff = static_cast<int64_t>(dy) * wout + dx;
    // One-step taps with consecutive cells on consecutive samples (in_stride
    // and stride 1): a row of distances is a row of the step table. Cells in
    // [ax0, ax1) have their centre and tap sample in the grid.
    const bool direct = n == 1 && L.S == 1 && L.sw == 1;
    const bool avx2 = have_avx2();
    const int ax0 = std::max({gx0, cx_in0, 0}), ax1 = std::min(gx1, cx_in1);
    for (int y = 0; y < hout; ++y) {
      poll_interrupt();
      const int gr = row_of[y] + dr;
      const bool row_in = gr >= 0 && gr < h;
      const bool row_mirror = unit_stride && y + dy >= 0 && y + dy < hout;
      const int64_t row = static_cast<int64_t>(y) * wout;
      // One cell; `mirrored` is a template argument so that each run of
      // cells below is a loop without that test.
      auto cell_at = [&](int x, auto mirrored_tag) {
        constexpr bool mirrored = decltype(mirrored_tag)::value;
        const int64_t cell = row + x;
        const int64_t p0 = centre[cell];
        double value = kNaN;
        if (p0 >= 0 && row_in && x >= gx0 && x < gx1) {
          bool broken;
          if (n == 1) {  // NaN: the tap has no surface point
            value = len[p0 + read];
            broken = value < 0;
          } else {
            double sum = 0;
            int64_t p = p0;
            int s = 0;
            for (; s < n; ++s) {
              const double l = len[p + read];
              if (!(l >= 0)) break;
              sum += l;
              p += su;
            }
            value = s == n ? sum : kNaN;
            broken = s < n && tri[p0 + goff] >= 0;
          }
          if (broken) {
            value = kNaN;
            pending.push_back({layer, k, cell, p0, p0 + goff, mirrored ? K - 1 - k : -1,
                               cell + moff});
          }
        }
        Dk[cell] = value;
        if (mirrored && all_taps) Dm[cell + moff] = value;
      };
      // Cells [x0, x1) of a direct tap: copy the table row; a broken step
      // (-1) becomes NaN here and is queued in a second pass, as it is rare.
      const bool live = row_in && row_of[y] >= 0 && row_of[y] < h;
      const int64_t src = static_cast<int64_t>(live ? row_of[y] : 0) * w + col_of[0] + read;
      auto run = [&](int x0, int x1, auto mirrored_tag) {
        constexpr bool mirrored = decltype(mirrored_tag)::value;
        if (!direct) {
          for (int x = x0; x < x1; ++x) cell_at(x, mirrored_tag);
          return;
        }
        const int a = live ? std::clamp(ax0, x0, x1) : x1, b = live ? std::clamp(ax1, a, x1) : x1;
        double* dk = Dk + row;
        double* dm = Dm + row + moff;
        const double* l = len + src;
        const bool both = mirrored && all_taps;
        for (int x = x0; x < a; ++x) {
          dk[x] = kNaN;
          if (both) dm[x] = kNaN;
        }
        bool broken = false;
        int x = a;
        if (avx2) x = copy_steps_avx2(l, a, b, dk, both ? dm : nullptr, &broken);
        for (; x < b; ++x) {
          const double v = l[x];
          broken |= v < 0;
          const double out = v < 0 ? kNaN : v;
          dk[x] = out;
          if (both) dm[x] = out;
        }
        for (int x = b; x < x1; ++x) {
          dk[x] = kNaN;
          if (both) dm[x] = kNaN;
        }
        if (broken)
          for (int x = a; x < b; ++x)
            if (l[x] < 0) {
              const int64_t p0 = centre[row + x];
              pending.push_back({layer, k, row + x, p0, p0 + goff, mirrored ? K - 1 - k : -1,
                                 row + x + moff});
            }
      };
      using plain = std::false_type;
      using mirror = std::true_type;
      if (!row_mirror || mx0 >= mx1) {
        run(0, wout, plain{});
        continue;
      }
      // Cells in [mx0, mx1) have their mirror in the output: taps after the
      // centre were filled there by their mirror tap.
      run(0, mx0, plain{});
      if (k < ci) run(mx0, mx1, mirror{});
      run(mx1, wout, plain{});
    }
  }
}

// Around holes and boundaries: shortest path through the vertices,
// min over corners a of tri(p), b of tri(q) of |p - a| + G(a, b) + |b - q|.
void around_distances(const Mesh& m, const std::vector<Layer>& layers, const std::vector<int>& grid_of,
                      Grid* grids, const std::vector<Pending>& pending, double ratio_cap,
                      const double* gext, std::vector<double*>& dists) {
  const int nv = m.nv;
  // Sources: corners of the centres' triangles, each searched up to the
  // largest ratio cap of its pairs, for the corners of its pairs' tap triangles.
  std::vector<double> limit(nv, -1.0);
  std::vector<int32_t> count(nv + 1, 0);
  for (const auto& p : pending) {
    const Raster& r = grids[grid_of[p.layer]].r;
    const int32_t* t1 = m.face(r.tri[p.pc]);
    const double lim = ratio_cap * layers[p.layer].denom[p.tap];
    for (int k = 0; k < 3; ++k) {
      limit[t1[k]] = std::max(limit[t1[k]], lim);
      count[t1[k]] += 3;
    }
  }
  std::vector<int32_t> start(nv + 1, 0);
  for (int a = 0; a < nv; ++a) start[a + 1] = start[a] + count[a];
  std::vector<int32_t> targets(start[nv]);
  std::vector<int32_t> fill(start.begin(), start.end() - 1);
  for (const auto& p : pending) {
    const Raster& r = grids[grid_of[p.layer]].r;
    const int32_t* t1 = m.face(r.tri[p.pc]);
    const int32_t* t2 = m.face(r.tri[p.pq]);
    for (int k = 0; k < 3; ++k)
      for (int j = 0; j < 3; ++j) targets[fill[t1[k]]++] = t2[j];
  }
  // Distinct targets per source, then one bounded search per source. G(a, b)
  // of a searched pair is at row[a][b]; other entries are never read.
  std::vector<int32_t> stamp(nv, -1), n_targets(nv, 0), slot(nv, -1);
  int n_sources = 0;
  for (int a = 0; a < nv; ++a) {
    if (limit[a] < 0) continue;
    int32_t* tg = targets.data() + start[a];
    int n = 0;
    for (int i = 0; i < start[a + 1] - start[a]; ++i)
      if (stamp[tg[i]] != a) stamp[tg[i]] = a, tg[n++] = tg[i];
    n_targets[a] = n;
    if (!gext) slot[a] = n_sources++;
  }
  std::unique_ptr<double[]> rows(gext ? nullptr : new double[static_cast<size_t>(n_sources) * nv]);
  if (!gext) {
    Dijkstra search(m);
    std::vector<double> found;
    for (int a = 0; a < nv; ++a) {
      if (slot[a] < 0) continue;
      poll_interrupt();
      const int32_t* tg = targets.data() + start[a];
      found.resize(n_targets[a]);
      search.run(a, limit[a], tg, n_targets[a], found.data());
      double* row = rows.get() + static_cast<size_t>(slot[a]) * nv;
      for (int i = 0; i < n_targets[a]; ++i) row[tg[i]] = found[i];
    }
  }
  auto G = [&](int a, int b) {
    return gext ? gext[static_cast<int64_t>(a) * nv + b]
                : rows[static_cast<size_t>(slot[a]) * nv + b];
  };
  auto d3 = [](double ax, double ay, double az, const double* b) {
    double x = ax - b[0], y = ay - b[1], z = az - b[2];
    return std::sqrt(x * x + y * y + z * z);
  };
  for (const auto& p : pending) {
    const Raster& r = grids[grid_of[p.layer]].r;
    const int t1 = r.tri[p.pc], t2 = r.tri[p.pq];
    const double px = r.x[p.pc], py = r.y[p.pc], pz = r.z[p.pc];
    const double qx = r.x[p.pq], qy = r.y[p.pq], qz = r.z[p.pq];
    double best = kInf;
    if (t1 == t2) {
      double x = px - qx, y = py - qy, z = pz - qz;
      best = std::sqrt(x * x + y * y + z * z);
    }
    const int32_t *f1 = m.face(t1), *f2 = m.face(t2);
    double qb[3];
    for (int j = 0; j < 3; ++j) qb[j] = d3(qx, qy, qz, m.vert(f2[j]));
    for (int i = 0; i < 3; ++i) {
      const double pa = d3(px, py, pz, m.vert(f1[i]));
      for (int j = 0; j < 3; ++j) best = std::min(best, pa + G(f1[i], f2[j]) + qb[j]);
    }
    const Layer& L = layers[p.layer];
    const int64_t plane = static_cast<int64_t>(L.hout) * L.wout;
    double* D = dists[p.layer];
    D[p.tap * plane + p.cell] = best;
    if (p.mirror_tap >= 0) D[p.mirror_tap * plane + p.mirror_cell] = best;
  }
}

#if defined(__SSE2__)
// exp_nonpositive of four floats, the same operations as the scalar version.
inline __m128 exp_nonpositive4(__m128 x) {
  const __m128 magic = _mm_set1_ps(12582912.f);
  const __m128 n = _mm_sub_ps(_mm_add_ps(_mm_mul_ps(x, _mm_set1_ps(1.44269504f)), magic), magic);
  const __m128 f = _mm_sub_ps(_mm_sub_ps(x, _mm_mul_ps(n, _mm_set1_ps(0.693145751953125f))),
                              _mm_mul_ps(n, _mm_set1_ps(1.428606765330187e-06f)));
  __m128 p = _mm_set1_ps(1.f / 5040.f);
  p = _mm_add_ps(_mm_mul_ps(p, f), _mm_set1_ps(1.f / 720.f));
  p = _mm_add_ps(_mm_mul_ps(p, f), _mm_set1_ps(1.f / 120.f));
  p = _mm_add_ps(_mm_mul_ps(p, f), _mm_set1_ps(1.f / 24.f));
  p = _mm_add_ps(_mm_mul_ps(p, f), _mm_set1_ps(1.f / 6.f));
  p = _mm_add_ps(_mm_mul_ps(p, f), _mm_set1_ps(0.5f));
  p = _mm_add_ps(_mm_mul_ps(p, f), _mm_set1_ps(1.f));
  p = _mm_add_ps(_mm_mul_ps(p, f), _mm_set1_ps(1.f));
  const __m128i e = _mm_slli_epi32(_mm_add_epi32(_mm_cvttps_epi32(n), _mm_set1_epi32(127)), 23);
  return _mm_mul_ps(p, _mm_castsi128_ps(e));
}

// min(d / denom, cap), or `flat` where d is NaN: as the scalar expression.
inline __m128d ratio2(__m128d d, __m128d denom, __m128d cap, __m128d flat) {
  const __m128d nan = _mm_cmpunord_pd(d, d);
  const __m128d r = _mm_min_pd(_mm_div_pd(d, denom), cap);
  return _mm_or_pd(_mm_and_pd(nan, flat), _mm_andnot_pd(nan, r));
}
#endif

// e^-ratio of tap k over cells [c0, c1) of one output row set, ratio =
// min(D / denom, cap), or `flat` (D_eu's ratio) where D is NaN.
void exp_ratios(const double* d, double denom, double flat, double ratio_cap, int64_t c0,
                int64_t c1, float* e) {
  int64_t c = have_avx2() ? exp_ratios_avx2(d, denom, flat, ratio_cap, c0, c1, e) : c0;
#if defined(__SSE2__)
  const __m128d vden = _mm_set1_pd(denom), vcap = _mm_set1_pd(ratio_cap), vflat = _mm_set1_pd(flat);
  const __m128 sign = _mm_set1_ps(-0.f);
  for (; c + 4 <= c1; c += 4) {
    const __m128d r0 = ratio2(_mm_loadu_pd(d + c), vden, vcap, vflat);
    const __m128d r1 = ratio2(_mm_loadu_pd(d + c + 2), vden, vcap, vflat);
    const __m128 r = _mm_movelh_ps(_mm_cvtpd_ps(r0), _mm_cvtpd_ps(r1));
    _mm_storeu_ps(e + c, exp_nonpositive4(_mm_xor_ps(r, sign)));
  }
#endif
  for (; c < c1; ++c) {
    const double r = d[c] != d[c] ? flat : std::min(d[c] / denom, ratio_cap);
    e[c] = exp_nonpositive(-static_cast<float>(r));
  }
}

// Eq. 4 with the off-surface rule: g_k = (K-1) softmax_k(-min(D/denom, cap)),
// a tap without a surface point counting D = D_eu, a cell whose centre has
// none all ones. Ratios lie in [0, cap], so the softmax needs no max shift.
//
// Row by row, so that a row's terms, sums and weights stay in cache between
// the passes over them (a plane of a 224 layer is larger than L2). With unit
// stride a tap after the centre takes its terms from the mirrored tap of a
// row at or below it, whose terms are computed `lead` rows ahead and read
// before that row is normalised.
void eq4(const Layer& L, const double* D, double ratio_cap, float* W) {
  const int K = L.K, ci = L.ci, hout = L.hout, wout = L.wout;
  const int64_t plane = static_cast<int64_t>(hout) * wout;
  const bool unit_stride = L.sh == 1 && L.sw == 1;
  const bool avx2 = have_avx2();
  auto mirrored = [&](int k) { return unit_stride && k > ci; };
  int lead = 0;
  for (int k = 0; k < K; ++k)
    if (mirrored(k)) lead = std::max(lead, L.tap_dy(k));
  auto flat = [&](int k) { return std::min(L.deu[k] / L.denom[k], ratio_cap); };
  // e^-ratio of tap k over cells [c0, c1), held in W until the sum is known.
  auto terms = [&](int k, int64_t c0, int64_t c1) {
    exp_ratios(D + k * plane, L.denom[k], flat(k), ratio_cap, c0, c1, W + k * plane);
  };
  auto direct_row = [&](int y) {
    const int64_t row = static_cast<int64_t>(y) * wout;
    for (int k = 0; k < K; ++k)
      if (k != ci && !mirrored(k)) terms(k, row, row + wout);
  };
  // (cell, k) is the pair (cell + offset, K-1-k): same distance, same D_eu,
  // so the same value, already computed where that cell exists.
  auto mirrored_row = [&](int y) {
    const int64_t row = static_cast<int64_t>(y) * wout;
    for (int k = ci + 1; k < K; ++k) {
      if (!mirrored(k)) continue;
      const int dy = L.tap_dy(k), dx = L.tap_dx(k);
      const int x0 = std::max(0, -dx), x1 = std::min(wout, wout - dx);
      if (y + dy < 0 || y + dy >= hout || x0 >= x1) {
        terms(k, row, row + wout);
        continue;
      }
      const float* m = W + (K - 1 - k) * plane + row + static_cast<int64_t>(dy) * wout + dx;
      terms(k, row, row + x0);
      std::copy(m + x0, m + x1, W + k * plane + row + x0);
      terms(k, row + x1, row + wout);
    }
  };
  if (K == 1) {  // the centre alone
    std::fill(W, W + plane, 1.f);
    return;
  }
  Buffer<double> sum_buf;
  sum_buf.allocate(wout);
  double* sum = sum_buf.data();
  const double scale = static_cast<double>(K - 1);
  // Cells [c0, c0 + n), all with a centre on the surface: the terms become
  // (K-1) e_k / sum. The first tap's terms start the sums: 0 + e is e, bit
  // for bit.
  auto normalise = [&](int64_t c0, int n) {
    bool first = true;
    for (int k = 0; k < K; ++k) {
      if (k == ci) continue;
      const float* e = W + k * plane + c0;
      if (first) {
        for (int c = 0; c < n; ++c) sum[c] = static_cast<double>(e[c]);
        first = false;
        continue;
      }
      for (int64_t c = avx2 ? accumulate_avx2(e, n, sum) : 0; c < n; ++c) sum[c] += static_cast<double>(e[c]);
    }
    for (int c = 0; c < n; ++c) sum[c] = scale / sum[c];
    for (int k = 0; k < K; ++k) {
      float* wk = W + k * plane + c0;
      if (k == ci) {
        std::fill(wk, wk + n, 1.f);
        continue;
      }
      int64_t c = avx2 ? scale_weights_avx2(sum, n, wk) : 0;
#if defined(__SSE2__)
      for (; c + 4 <= n; c += 4) {
        const __m128 e = _mm_loadu_ps(wk + c);
        const __m128d s0 = _mm_loadu_pd(sum + c), s1 = _mm_loadu_pd(sum + c + 2);
        const __m128d w0 = _mm_mul_pd(_mm_cvtps_pd(e), s0), w1 = _mm_mul_pd(_mm_cvtps_pd(_mm_movehl_ps(e, e)), s1);
        _mm_storeu_ps(wk + c, _mm_movelh_ps(_mm_cvtpd_ps(w0), _mm_cvtpd_ps(w1)));
      }
#endif
      for (; c < n; ++c) wk[c] = static_cast<float>(static_cast<double>(wk[c]) * sum[c]);
    }
  };
  int ahead = 0;  // rows whose direct terms are computed
  for (int y = 0; y < hout; ++y) {
    poll_interrupt();
    for (; ahead < std::min(hout, y + lead + 1); ++ahead) direct_row(ahead);
    mirrored_row(y);
    // Cells whose centre has no surface point weigh every tap 1; they are
    // most cells of a face crop, and come in spans.
    const int64_t row = static_cast<int64_t>(y) * wout;
    const double* centre = D + ci * plane + row;
    for (int a = 0; a < wout;) {
      const bool on = centre[a] == centre[a];
      int b = a + 1;
      while (b < wout && (centre[b] == centre[b]) == on) ++b;
      if (on)
        normalise(row + a, b - a);
      else
        for (int k = 0; k < K; ++k) std::fill(W + k * plane + row + a, W + k * plane + row + b, 1.f);
      a = b;
    }
  }
}

}  // namespace

std::vector<torch::Tensor> rasterize_mesh(torch::Tensor vertices, torch::Tensor faces, int64_t h,
                                          int64_t w, double offset) {
  Mesh m = make_mesh(vertices, faces);
  check_image_size(h, w);
  TORCH_CHECK(std::abs(offset) <= kMaxCoordinate, "offset ", offset, " is not finite or beyond +-",
              kMaxCoordinate);
  Raster r;
  rasterize(m, static_cast<int>(h), static_cast<int>(w), offset, r, false);
  auto tri = torch::from_blob(r.tri.data(), {h, w}, torch::kInt32).clone();
  auto bary = torch::from_blob(r.bary.data(), {h, w, 3}, torch::kFloat32).clone();
  return {tri, bary};
}

// specs: (N, 9) int64 rows (in_stride, kh, kw, sh, sw, ph, pw, dh, dw).
// vertex_geodesics: (V, V) float64 to use around holes, or an empty tensor for the
// built-in refined-graph Dijkstra. face_patch / vertex_patch: filled-hole ids
// (empty when holes are open; see topology.fill_holes). Returns N weight tensors (K, H_out, W_out) float32,
// followed by N distance tensors (float64, NaN off the surface) if return_distances.
std::vector<torch::Tensor> geodesic_weights(torch::Tensor vertices, torch::Tensor faces, int64_t h,
                                            int64_t w, torch::Tensor specs,
                                            bool hierarchy_compensation, double ratio_cap,
                                            torch::Tensor vertex_geodesics, bool return_distances,
                                            torch::Tensor face_patch, torch::Tensor vertex_patch) {
  Mesh m = make_mesh(vertices, faces);
  check_image_size(h, w);
  torch::Tensor fp, vp;
  if (face_patch.numel() > 0) {
    fp = face_patch.contiguous();
    vp = vertex_patch.contiguous();
    TORCH_CHECK(fp.scalar_type() == torch::kInt32 && fp.numel() == m.nf && vp.scalar_type() == torch::kInt32 &&
                    vp.numel() == m.nv,
                "face_patch (F,) and vertex_patch (V,) must be int32");
    m.face_patch = fp.data_ptr<int32_t>();
    m.vertex_patch = vp.data_ptr<int32_t>();
  }
  TORCH_CHECK(specs.dim() == 2 && specs.size(1) == 9 && specs.scalar_type() == torch::kInt64,
              "specs must be (N, 9) int64");
  auto sp = specs.contiguous();
  const int64_t* s = sp.data_ptr<int64_t>();
  const int64_t n_specs = sp.size(0);
  const double* gext = nullptr;
  torch::Tensor gcont;
  if (vertex_geodesics.numel() > 0) {
    gcont = vertex_geodesics.contiguous();
    TORCH_CHECK(gcont.scalar_type() == torch::kFloat64 && gcont.dim() == 2 && gcont.size(0) == m.nv &&
                    gcont.size(1) == m.nv,
                "vertex_geodesics must be (V, V) float64");
    gext = gcont.data_ptr<double>();
  }
  std::vector<Layer> layers;
  for (int64_t si = 0; si < n_specs; ++si) layers.push_back(make_layer(s + 9 * si, h, w, hierarchy_compensation));

  const bool profile = std::getenv("GEOCONV_GEODESIC_PROFILE") != nullptr;
  auto clock = std::chrono::steady_clock::now();
  auto lap = [&](const char* what) {
    if (!profile) return;
    auto now = std::chrono::steady_clock::now();
    std::fprintf(stderr, "%s %.3f ms\n", what, std::chrono::duration<double, std::milli>(now - clock).count());
    clock = now;
  };
  m.topo = topology_of(m.f, m.nf, m.nv);
  lap("topology");

  Grid grids[2];
  bool have[2] = {false, false};
  std::vector<int> grid_of(n_specs);
  for (int64_t si = 0; si < n_specs; ++si) {
    const int gi = (layers[si].S % 2 == 0) ? 1 : 0;
    grid_of[si] = gi;
    if (!have[gi]) {
      rasterize(m, static_cast<int>(h), static_cast<int>(w), gi ? 0.5 : 0.0, grids[gi].r);
      have[gi] = true;
    }
  }
  lap("raster");

  // Every table's readers, before any table is built.
  for (int64_t si = 0; si < n_specs; ++si) {
    const Layer& L = layers[si];
    for (int k = 0; k < L.K; ++k) {
      if (k == L.ci) continue;
      const int dr = L.tap_dy(k) * L.S, dc = L.tap_dx(k) * L.S;
      const int n = std::gcd(std::abs(dr), std::abs(dc));
      const int ur = dr / n, uc = dc / n;
      const bool forward = ur > 0 || (ur == 0 && uc > 0);
      grids[grid_of[si]].plan(forward ? ur : -ur, forward ? uc : -uc, L.S);
    }
  }

  LinkCache links(m);
  std::vector<torch::Tensor> dist_tensors;
  std::vector<double*> dists;
  std::vector<Pending> pending;
  // Distances nobody asked for are scratch, kept per thread across calls: a
  // fresh buffer of a layer's size can be fresh pages, which the OS faults in
  // and zeroes again on every call.
  thread_local std::vector<Buffer<double>> scratch;
  if (scratch.size() < static_cast<size_t>(n_specs)) scratch.resize(n_specs);
  for (int64_t si = 0; si < n_specs; ++si) {
    const Layer& L = layers[si];
    const int64_t n = static_cast<int64_t>(L.K) * L.hout * L.wout;
    if (return_distances) {
      dist_tensors.push_back(torch::empty({L.K, L.hout, L.wout}, torch::kFloat64));
      dists.push_back(dist_tensors.back().data_ptr<double>());
    } else {
      scratch[si].allocate(static_cast<size_t>(n));
      dists.push_back(scratch[si].data());
    }
    lifted_distances(m, links, grids[grid_of[si]], L, static_cast<int>(si), return_distances, dists.back(),
                     pending);
  }
  lap("lifted");
  if (!pending.empty()) {
    if (!gext) build_graph(m);
    lap("graph");
    around_distances(m, layers, grid_of, grids, pending, ratio_cap, gext, dists);
  }
  lap("around");
  std::vector<torch::Tensor> out;
  for (int64_t si = 0; si < n_specs; ++si) {
    const Layer& L = layers[si];
    auto weights = torch::empty({L.K, L.hout, L.wout}, torch::kFloat32);
    eq4(L, dists[si], ratio_cap, weights.data_ptr<float>());
    out.push_back(weights);
  }
  lap("eq4");
  if (profile) std::fprintf(stderr, "pending %zu\n", pending.size());
  if (return_distances)
    for (auto& d : dist_tensors) out.push_back(d);
  return out;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "geoconv-mm geometry kernels: mesh rasterisation and geodesic weights";
  m.attr("max_coordinate") = kMaxCoordinate;
  m.attr("max_image_side") = kMaxImageSide;
  m.def("rasterize_mesh", &rasterize_mesh, "z-buffered triangle id and barycentrics",
        py::arg("vertices"), py::arg("faces"), py::arg("height"), py::arg("width"),
        py::arg("offset"));
  m.def("geodesic_weights", &geodesic_weights, "Eq. 4 geodesic weights of several layers",
        py::arg("vertices"), py::arg("faces"), py::arg("height"), py::arg("width"),
        py::arg("specs"), py::arg("hierarchy_compensation"), py::arg("ratio_cap"),
        py::arg("vertex_geodesics"), py::arg("return_distances"), py::arg("face_patch"),
        py::arg("vertex_patch"));
}
