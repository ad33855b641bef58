// Fast geodesic weights (Eq. 4) from a face mesh: the C++ twin of the numpy
// implementation in geoconv_mm/geodesic/weights.py (same algorithm, same rules; see
// that module's docstring). Single-threaded on purpose: the data pipeline runs one
// frame per worker process.
#include <torch/extension.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <cstdint>
#include <limits>
#include <queue>
#include <utility>
#include <vector>

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

struct Mesh {
  int nv = 0, nf = 0;
  const double* v = nullptr;
  const int32_t* f = nullptr;
  std::vector<uint8_t> boundary;  // per vertex: lies on a boundary loop
  const int32_t* face_patch = nullptr;    // per face: filled hole it belongs to, or -1
  const int32_t* vertex_patch = nullptr;  // per vertex: filled loop it lies on, or -1
  // Refined edge graph (CSR): mesh edges plus unfolded diagonals.
  std::vector<int> ptr, idx;
  std::vector<double> w;
  // Interior mesh edges (two faces), CSR.
  std::vector<int> eptr, eidx;

  const double* vert(int i) const { return v + 3 * static_cast<int64_t>(i); }
  const int32_t* face(int t) const { return f + 3 * static_cast<int64_t>(t); }

  // Same triangle, a shared edge, or a shared vertex off the boundary.
  bool connected(int a, int b) const {
    if (a == b) return true;
    const int32_t* fa = face(a);
    const int32_t* fb = face(b);
    int shared = 0;
    bool interior = false;
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j)
        if (fa[i] == fb[j]) {
          ++shared;
          if (!boundary[fa[i]]) interior = true;
        }
    if (shared >= 2 || interior) return true;
    // Triangles narrower than a grid step: a unit step may jump over one. Accept
    // triangles joined by an interior edge (never one across a hole).
    for (int i = 0; i < 3; ++i)
      for (int k = eptr[fa[i]]; k < eptr[fa[i] + 1]; ++k) {
        int nb = eidx[k];
        if (nb == fb[0] || nb == fb[1] || nb == fb[2]) return true;
      }
    return face_patch && (in_region(a, b) || in_region(b, a));
  }

  // a is a filled-hole face and b is in that hole's patch or touches its loop.
  bool in_region(int a, int b) const {
    int p = face_patch[a];
    if (p < 0) return false;
    if (face_patch[b] == p) return true;
    const int32_t* fb = face(b);
    return vertex_patch[fb[0]] == p || vertex_patch[fb[1]] == p || vertex_patch[fb[2]] == p;
  }
};

struct HalfEdge {
  int lo, hi, opposite;
};

void build_topology(Mesh& m) {
  std::vector<HalfEdge> edges;
  edges.reserve(3 * m.nf);
  for (int t = 0; t < m.nf; ++t) {
    const int32_t* tri = m.face(t);
    for (int k = 0; k < 3; ++k) {
      int a = tri[k], b = tri[(k + 1) % 3], c = tri[(k + 2) % 3];
      edges.push_back({std::min(a, b), std::max(a, b), c});
    }
  }
  std::sort(edges.begin(), edges.end(), [](const HalfEdge& x, const HalfEdge& y) {
    return x.lo != y.lo ? x.lo < y.lo : x.hi < y.hi;
  });
  m.boundary.assign(m.nv, 0);
  std::vector<std::vector<std::pair<int, double>>> adj(m.nv);
  std::vector<std::vector<int>> inner(m.nv);
  auto dist3 = [&](int a, int b) {
    const double* p = m.vert(a);
    const double* q = m.vert(b);
    double dx = p[0] - q[0], dy = p[1] - q[1], dz = p[2] - q[2];
    return std::sqrt(dx * dx + dy * dy + dz * dz);
  };
  auto add = [&](int a, int b, double len) {
    len = std::max(len, 1e-12);
    adj[a].push_back({b, len});
    adj[b].push_back({a, len});
  };
  size_t i = 0;
  while (i < edges.size()) {
    size_t j = i;
    while (j < edges.size() && edges[j].lo == edges[i].lo && edges[j].hi == edges[i].hi) ++j;
    int a = edges[i].lo, b = edges[i].hi;
    add(a, b, dist3(a, b));
    if (j - i == 2) {
      inner[a].push_back(b);
      inner[b].push_back(a);
    }
    if (j - i == 1) {
      m.boundary[a] = m.boundary[b] = 1;
    } else if (j - i == 2) {
      // Unfold (a, b, d) beside (a, b, c); keep c-d when it crosses ab inside.
      int c = edges[i].opposite, d = edges[i + 1].opposite;
      const double* pa = m.vert(a);
      double e[3], le = 0;
      for (int k = 0; k < 3; ++k) e[k] = m.vert(b)[k] - pa[k], le += e[k] * e[k];
      le = std::sqrt(le);
      if (le > 1e-12) {
        double pc[3], pd[3], xc = 0, xd = 0;
        for (int k = 0; k < 3; ++k) {
          e[k] /= le;
          pc[k] = m.vert(c)[k] - pa[k];
          pd[k] = m.vert(d)[k] - pa[k];
          xc += pc[k] * e[k];
          xd += pd[k] * e[k];
        }
        double yc = 0, yd = 0;
        for (int k = 0; k < 3; ++k) {
          double u = pc[k] - xc * e[k], s = pd[k] - xd * e[k];
          yc += u * u;
          yd += s * s;
        }
        yc = std::sqrt(yc);
        yd = -std::sqrt(yd);
        if (yc - yd > 1e-12) {
          double t = yc / (yc - yd);
          double xcross = xc + t * (xd - xc);
          if (xcross > 0 && xcross < le) add(c, d, std::hypot(xc - xd, yc - yd));
        }
      }
    }
    i = j;
  }
  m.eptr.assign(m.nv + 1, 0);
  for (int a = 0; a < m.nv; ++a) m.eptr[a + 1] = m.eptr[a] + static_cast<int>(inner[a].size());
  m.eidx.clear();
  for (int a = 0; a < m.nv; ++a) m.eidx.insert(m.eidx.end(), inner[a].begin(), inner[a].end());
  m.ptr.assign(m.nv + 1, 0);
  for (int a = 0; a < m.nv; ++a) m.ptr[a + 1] = m.ptr[a] + static_cast<int>(adj[a].size());
  m.idx.resize(m.ptr[m.nv]);
  m.w.resize(m.ptr[m.nv]);
  for (int a = 0; a < m.nv; ++a)
    for (size_t k = 0; k < adj[a].size(); ++k) {
      m.idx[m.ptr[a] + k] = adj[a][k].first;
      m.w[m.ptr[a] + k] = adj[a][k].second;
    }
}

// Dijkstra from one vertex until every target is settled or the distance passes
// `limit`; unsettled vertices keep +inf. `dist` must hold nv entries.
void dijkstra(const Mesh& m, int src, double limit, const std::vector<int>& targets,
              std::vector<uint8_t>& is_target, double* dist) {
  std::fill(dist, dist + m.nv, kInf);
  size_t left = 0;
  for (int t : targets)
    if (!is_target[t]) is_target[t] = 1, ++left;
  using Item = std::pair<double, int>;
  std::vector<Item> store;
  store.reserve(256);
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> heap(std::greater<Item>(),
                                                                        std::move(store));
  dist[src] = 0;
  heap.push({0.0, src});
  while (!heap.empty() && left > 0) {
    auto [d, a] = heap.top();
    heap.pop();
    if (d > dist[a]) continue;
    if (is_target[a]) is_target[a] = 0, --left;
    for (int k = m.ptr[a]; k < m.ptr[a + 1]; ++k) {
      double nd = d + m.w[k];
      int b = m.idx[k];
      if (nd < dist[b] && nd <= limit) {
        dist[b] = nd;
        heap.push({nd, b});
      }
    }
  }
  // Targets never reached (beyond the limit) stay +inf; vertices relaxed but not
  // settled hold upper bounds, which are only ever read for settled targets.
  for (int t : targets) is_target[t] = 0;
}

struct Raster {
  int h = 0, w = 0;
  std::vector<int32_t> tri;
  std::vector<float> bary;
  std::vector<double> pts;
};

// z-buffered rasterisation at image points (c + offset, r + offset); the arithmetic
// follows raster.py so both give the same triangles and barycentrics.
void rasterize(const Mesh& m, int h, int w, double offset, Raster& out) {
  out.h = h;
  out.w = w;
  out.tri.assign(static_cast<size_t>(h) * w, -1);
  out.bary.assign(static_cast<size_t>(h) * w * 3, 0.f);
  std::vector<double> zbuf(static_cast<size_t>(h) * w, -kInf);
  for (int t = 0; t < m.nf; ++t) {
    const int32_t* tri = m.face(t);
    const double *p0 = m.vert(tri[0]), *p1 = m.vert(tri[1]), *p2 = m.vert(tri[2]);
    double det = (p1[0] - p0[0]) * (p2[1] - p0[1]) - (p2[0] - p0[0]) * (p1[1] - p0[1]);
    if (!(std::abs(det) > 1e-12)) continue;
    double inv = 1.0 / det;
    double xmin = std::min({p0[0], p1[0], p2[0]}) - offset;
    double xmax = std::max({p0[0], p1[0], p2[0]}) - offset;
    double ymin = std::min({p0[1], p1[1], p2[1]}) - offset;
    double ymax = std::max({p0[1], p1[1], p2[1]}) - offset;
    int c0 = static_cast<int>(std::max(std::ceil(xmin), 0.0));
    int c1 = static_cast<int>(std::min(std::floor(xmax), static_cast<double>(w - 1)));
    int r0 = static_cast<int>(std::max(std::ceil(ymin), 0.0));
    int r1 = static_cast<int>(std::min(std::floor(ymax), static_cast<double>(h - 1)));
    for (int r = r0; r <= r1; ++r) {
      double y = r + offset;
      for (int c = c0; c <= c1; ++c) {
        double x = c + offset;
        double l1 = ((x - p0[0]) * (p2[1] - p0[1]) - (p2[0] - p0[0]) * (y - p0[1])) * inv;
        double l2 = ((p1[0] - p0[0]) * (y - p0[1]) - (x - p0[0]) * (p1[1] - p0[1])) * inv;
        double l0 = 1.0 - l1 - l2;
        if (l0 < -1e-9 || l1 < -1e-9 || l2 < -1e-9) continue;
        double z = l0 * p0[2] + l1 * p1[2] + l2 * p2[2];
        size_t pix = static_cast<size_t>(r) * w + c;
        if (z > zbuf[pix] || (z == zbuf[pix] && t < out.tri[pix])) {
          zbuf[pix] = z;
          out.tri[pix] = t;
          out.bary[3 * pix] = static_cast<float>(l0);
          out.bary[3 * pix + 1] = static_cast<float>(l1);
          out.bary[3 * pix + 2] = static_cast<float>(l2);
        }
      }
    }
  }
  out.pts.assign(static_cast<size_t>(h) * w * 3, std::numeric_limits<double>::quiet_NaN());
  for (size_t pix = 0; pix < out.tri.size(); ++pix) {
    int t = out.tri[pix];
    if (t < 0) continue;
    const int32_t* tri = m.face(t);
    for (int d = 0; d < 3; ++d) {
      double s = 0;
      for (int k = 0; k < 3; ++k) s += static_cast<double>(out.bary[3 * pix + k]) * m.vert(tri[k])[d];
      out.pts[3 * pix + d] = s;
    }
  }
}

struct Pending {
  int spec, tap;
  int64_t cell;          // y * w_out + x
  size_t pc, pq;         // raster pixels of centre and tap
  double limit;
  int mirror_tap;        // the same pair seen from the tap's cell, or -1
  int64_t mirror_cell;
};

int gcd_int(int a, int b) {
  a = std::abs(a);
  b = std::abs(b);
  while (b) {
    int t = a % b;
    a = b;
    b = t;
  }
  return a;
}

Mesh make_mesh(const torch::Tensor& vertices, const torch::Tensor& faces) {
  TORCH_CHECK(vertices.dim() == 2 && vertices.size(1) == 3 && vertices.scalar_type() == torch::kFloat64 &&
                  vertices.is_contiguous(),
              "vertices must be a contiguous (V, 3) float64 tensor");
  TORCH_CHECK(faces.dim() == 2 && faces.size(1) == 3 && faces.scalar_type() == torch::kInt32 &&
                  faces.is_contiguous(),
              "faces must be a contiguous (F, 3) int32 tensor");
  Mesh m;
  m.nv = static_cast<int>(vertices.size(0));
  m.nf = static_cast<int>(faces.size(0));
  m.v = vertices.data_ptr<double>();
  m.f = faces.data_ptr<int32_t>();
  for (int64_t i = 0; i < 3 * static_cast<int64_t>(m.nf); ++i)
    TORCH_CHECK(m.f[i] >= 0 && m.f[i] < m.nv, "face index out of range");
  return m;
}

}  // namespace

std::vector<torch::Tensor> rasterize_mesh(torch::Tensor vertices, torch::Tensor faces, int64_t h,
                                          int64_t w, double offset) {
  Mesh m = make_mesh(vertices, faces);
  Raster r;
  rasterize(m, static_cast<int>(h), static_cast<int>(w), offset, r);
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
  const bool external = vertex_geodesics.numel() > 0;
  const double* gext = nullptr;
  torch::Tensor gcont;
  if (external) {
    gcont = vertex_geodesics.contiguous();
    TORCH_CHECK(gcont.scalar_type() == torch::kFloat64 && gcont.dim() == 2 && gcont.size(0) == m.nv &&
                    gcont.size(1) == m.nv,
                "vertex_geodesics must be (V, V) float64");
    gext = gcont.data_ptr<double>();
  }
  const bool profile = std::getenv("GEOCONV_GEODESIC_PROFILE") != nullptr;
  auto clock = std::chrono::steady_clock::now();
  auto lap = [&](const char* what) {
    if (!profile) return;
    auto now = std::chrono::steady_clock::now();
    std::fprintf(stderr, "%s %.3f ms\n", what, std::chrono::duration<double, std::milli>(now - clock).count());
    clock = now;
  };
  build_topology(m);
  lap("topology");

  Raster grids[2];
  bool have[2] = {false, false};
  std::vector<torch::Tensor> dists;
  std::vector<Pending> pending;
  std::vector<std::vector<double>> deus;

  for (int64_t si = 0; si < n_specs; ++si) {
    const int64_t* q = s + 9 * si;
    int S = static_cast<int>(q[0]), kh = static_cast<int>(q[1]), kw = static_cast<int>(q[2]);
    int sh = static_cast<int>(q[3]), sw = static_cast<int>(q[4]), ph = static_cast<int>(q[5]);
    int pw = static_cast<int>(q[6]), dh = static_cast<int>(q[7]), dw = static_cast<int>(q[8]);
    TORCH_CHECK(kh % 2 == 1 && kw % 2 == 1, "geodesic weights need odd kernels");
    TORCH_CHECK(h % S == 0 && w % S == 0, "image size not divisible by in_stride");
    int hin = static_cast<int>(h / S), win = static_cast<int>(w / S);
    int hout = (hin + 2 * ph - dh * (kh - 1) - 1) / sh + 1;
    int wout = (win + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
    TORCH_CHECK(hout > 0 && wout > 0, "empty output");
    int gi = (S % 2 == 0) ? 1 : 0;
    if (!have[gi]) {
      rasterize(m, static_cast<int>(h), static_cast<int>(w), gi ? 0.5 : 0.0, grids[gi]);
      have[gi] = true;
    }
    const Raster& g = grids[gi];
    const int K = kh * kw, ci = K / 2, cy = kh / 2, cx = kw / 2;
    std::vector<double> deu(K), denom(K);
    for (int i = 0; i < kh; ++i)
      for (int j = 0; j < kw; ++j) {
        double a = static_cast<double>((i - cy) * dh), b = static_cast<double>((j - cx) * dw);
        deu[i * kw + j] = S * std::sqrt(a * a + b * b);
        denom[i * kw + j] = hierarchy_compensation ? deu[i * kw + j] : 1.0;
      }
    deus.push_back(denom);
    auto dist = torch::full({K, hout, wout}, std::numeric_limits<double>::quiet_NaN(),
                            torch::kFloat64);
    double* D = dist.data_ptr<double>();
    const int64_t plane = static_cast<int64_t>(hout) * wout;
    const bool unit_stride = sh == 1 && sw == 1;
    const int half = (S - 1) / 2;
    auto grid_index = [&](int u) { return u * S + half; };
    for (int y = 0; y < hout; ++y) {
      for (int x = 0; x < wout; ++x) {
        int64_t cell = static_cast<int64_t>(y) * wout + x;
        int gr0 = grid_index(y * sh - ph + cy * dh), gc0 = grid_index(x * sw - pw + cx * dw);
        if (gr0 < 0 || gr0 >= h || gc0 < 0 || gc0 >= w) continue;
        size_t p0 = static_cast<size_t>(gr0) * w + gc0;
        int t0 = g.tri[p0];
        if (t0 < 0) continue;
        D[ci * plane + cell] = 0.0;
        for (int i = 0; i < kh; ++i)
          for (int j = 0; j < kw; ++j) {
            int k = i * kw + j;
            if (k == ci) continue;
            // With unit stride the pair (cell, k) is also (cell + offset, K-1-k):
            // compute it once, from the cell owning the first half of the taps.
            int y2 = y + (i - cy) * dh, x2 = x + (j - cx) * dw;
            bool mirrored = unit_stride && y2 >= 0 && y2 < hout && x2 >= 0 && x2 < wout;
            if (mirrored && k > ci) continue;
            int gr = grid_index(y * sh - ph + i * dh), gc = grid_index(x * sw - pw + j * dw);
            if (gr < 0 || gr >= h || gc < 0 || gc >= w) continue;
            size_t p1 = static_cast<size_t>(gr) * w + gc;
            if (g.tri[p1] < 0) continue;
            int64_t cell2 = static_cast<int64_t>(y2) * wout + x2;
            int dr = gr - gr0, dc = gc - gc0, n = gcd_int(dr, dc);
            int ur = dr / n, uc = dc / n;
            double len = 0;
            bool ok = true;
            int r = gr0, c = gc0;
            size_t pa = p0;
            int ta = t0;
            for (int step = 0; step < n; ++step) {
              r += ur;
              c += uc;
              size_t pb = static_cast<size_t>(r) * w + c;
              int tb = g.tri[pb];
              if (tb < 0 || !m.connected(ta, tb)) {
                ok = false;
                break;
              }
              const double *a3 = &g.pts[3 * pa], *b3 = &g.pts[3 * pb];
              double ex = b3[0] - a3[0], ey = b3[1] - a3[1], ez = b3[2] - a3[2];
              len += std::sqrt(ex * ex + ey * ey + ez * ez);
              pa = pb;
              ta = tb;
            }
            if (ok) {
              D[k * plane + cell] = len;
              if (mirrored) D[(K - 1 - k) * plane + cell2] = len;
            } else {
              pending.push_back({static_cast<int>(si), k, cell, p0, p1, ratio_cap * denom[k],
                                 mirrored ? K - 1 - k : -1, cell2});
            }
          }
      }
    }
    dists.push_back(dist);
  }

  lap("lifted");
  // Around holes and boundaries: shortest path through the vertices.
  if (!pending.empty()) {
    std::vector<double> limit(m.nv, -1.0);
    std::vector<std::vector<int>> targets(m.nv);
    auto grid_of = [&](int si) -> const Raster& { return grids[(s[9 * si] % 2 == 0) ? 1 : 0]; };
    for (const auto& p : pending) {
      const Raster& g = grid_of(p.spec);
      const int32_t* t1 = m.face(g.tri[p.pc]);
      const int32_t* t2 = m.face(g.tri[p.pq]);
      for (int k = 0; k < 3; ++k) {
        limit[t1[k]] = std::max(limit[t1[k]], p.limit);
        for (int j = 0; j < 3; ++j) targets[t1[k]].push_back(t2[j]);
      }
    }
    std::vector<int> slot(m.nv, -1);
    int n_sources = 0;
    if (!external)
      for (int a = 0; a < m.nv; ++a)
        if (limit[a] >= 0) slot[a] = n_sources++;
    std::vector<double> rows(static_cast<size_t>(n_sources) * m.nv);
    std::vector<uint8_t> is_target(m.nv, 0);
    if (!external)
      for (int a = 0; a < m.nv; ++a)
        if (slot[a] >= 0) {
          auto& tg = targets[a];
          std::sort(tg.begin(), tg.end());
          tg.erase(std::unique(tg.begin(), tg.end()), tg.end());
          dijkstra(m, a, limit[a], tg, is_target, &rows[static_cast<size_t>(slot[a]) * m.nv]);
        }
    auto G = [&](int a, int b) {
      return external ? gext[static_cast<int64_t>(a) * m.nv + b]
                      : rows[static_cast<size_t>(slot[a]) * m.nv + b];
    };
    for (const auto& p : pending) {
      const Raster& g = grid_of(p.spec);
      int t1 = g.tri[p.pc], t2 = g.tri[p.pq];
      const double *P = &g.pts[3 * p.pc], *Q = &g.pts[3 * p.pq];
      auto d3 = [](const double* a, const double* b) {
        double x = a[0] - b[0], y = a[1] - b[1], z = a[2] - b[2];
        return std::sqrt(x * x + y * y + z * z);
      };
      double best = (t1 == t2) ? d3(P, Q) : kInf;
      const int32_t *f1 = m.face(t1), *f2 = m.face(t2);
      for (int i = 0; i < 3; ++i) {
        double pa = d3(P, m.vert(f1[i]));
        for (int j = 0; j < 3; ++j) {
          double cand = pa + G(f1[i], f2[j]) + d3(Q, m.vert(f2[j]));
          best = std::min(best, cand);
        }
      }
      double* D = dists[p.spec].data_ptr<double>();
      int64_t plane = dists[p.spec].size(1) * dists[p.spec].size(2);
      D[p.tap * plane + p.cell] = best;
      if (p.mirror_tap >= 0) D[p.mirror_tap * plane + p.mirror_cell] = best;
    }
  }

  lap("around");
  // Eq. 4 with the off-surface rule.
  std::vector<torch::Tensor> out;
  for (int64_t si = 0; si < n_specs; ++si) {
    const auto& dist = dists[si];
    const int K = static_cast<int>(dist.size(0)), ci = K / 2;
    const int64_t plane = dist.size(1) * dist.size(2);
    const double* D = dist.data_ptr<double>();
    const int64_t* q = s + 9 * si;
    const double S = static_cast<double>(q[0]);
    const int kh = static_cast<int>(q[1]), kw = static_cast<int>(q[2]);
    std::vector<double> deu(K);
    for (int i = 0; i < kh; ++i)
      for (int j = 0; j < kw; ++j) {
        double a = static_cast<double>((i - kh / 2) * q[7]), b = static_cast<double>((j - kw / 2) * q[8]);
        deu[i * kw + j] = S * std::sqrt(a * a + b * b);
      }
    const auto& denom = deus[si];
    auto weights = torch::ones({K, dist.size(1), dist.size(2)}, torch::kFloat32);
    float* W = weights.data_ptr<float>();
    std::vector<double> ratio(K);
    for (int64_t cell = 0; cell < plane; ++cell) {
      if (std::isnan(D[ci * plane + cell])) continue;
      double rmin = kInf;
      for (int k = 0; k < K; ++k) {
        if (k == ci) continue;
        double d = D[k * plane + cell];
        double r = std::isnan(d) ? deu[k] / denom[k] : d / denom[k];
        r = std::min(r, ratio_cap);
        ratio[k] = r;
        rmin = std::min(rmin, r);
      }
      double sum = 0;
      for (int k = 0; k < K; ++k) {
        if (k == ci) continue;
        ratio[k] = std::exp(static_cast<float>(rmin - ratio[k]));
        sum += ratio[k];
      }
      for (int k = 0; k < K; ++k)
        if (k != ci) W[k * plane + cell] = static_cast<float>((K - 1) * ratio[k] / sum);
    }
    out.push_back(weights);
  }
  lap("eq4");
  if (return_distances)
    for (auto& d : dists) out.push_back(d);
  return out;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "geoconv-mm geometry kernels: mesh rasterisation and geodesic weights";
  m.def("rasterize_mesh", &rasterize_mesh, "z-buffered triangle id and barycentrics",
        py::arg("vertices"), py::arg("faces"), py::arg("height"), py::arg("width"),
        py::arg("offset"));
  m.def("geodesic_weights", &geodesic_weights, "Eq. 4 geodesic weights of several layers",
        py::arg("vertices"), py::arg("faces"), py::arg("height"), py::arg("width"),
        py::arg("specs"), py::arg("hierarchy_compensation"), py::arg("ratio_cap"),
        py::arg("vertex_geodesics"), py::arg("return_distances"), py::arg("face_patch"),
        py::arg("vertex_patch"));
}
