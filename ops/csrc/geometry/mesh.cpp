#include "mesh.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <numeric>

namespace geoconv {

bool Mesh::connected(int a, int b) const {
  if (a == b) return true;
  const int32_t* fa = face(a);
  const int32_t* fb = face(b);
  const uint8_t* boundary = topo->boundary.data();
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
  const int32_t* eptr = topo->eptr.data();
  const int32_t* eidx = topo->eidx.data();
  for (int i = 0; i < 3; ++i)
    for (int k = eptr[fa[i]]; k < eptr[fa[i] + 1]; ++k) {
      int nb = eidx[k];
      if (nb == fb[0] || nb == fb[1] || nb == fb[2]) return true;
    }
  return face_patch && (in_region(a, b) || in_region(b, a));
}

// a is a filled-hole face and b is in that hole's patch or touches its loop.
bool Mesh::in_region(int a, int b) const {
  int p = face_patch[a];
  if (p < 0) return false;
  if (face_patch[b] == p) return true;
  const int32_t* fb = face(b);
  return vertex_patch[fb[0]] == p || vertex_patch[fb[1]] == p || vertex_patch[fb[2]] == p;
}

namespace {

std::shared_ptr<Topology> build_topology(const int32_t* faces, int nf, int nv) {
  auto t = std::make_shared<Topology>();
  t->nv = nv;
  t->nf = nf;
  t->faces.assign(faces, faces + 3 * static_cast<int64_t>(nf));
  // Half-edges keyed by (lo, hi), in face order within a key.
  const int64_t nh = 3 * static_cast<int64_t>(nf);
  std::vector<int64_t> key(nh);
  std::vector<int32_t> opp(nh);
  for (int64_t tf = 0; tf < nf; ++tf) {
    const int32_t* tri = faces + 3 * tf;
    for (int k = 0; k < 3; ++k) {
      int64_t a = tri[k], b = tri[(k + 1) % 3];
      key[3 * tf + k] = std::min(a, b) * nv + std::max(a, b);
      opp[3 * tf + k] = tri[(k + 2) % 3];
    }
  }
  std::vector<int32_t> order(nh);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t x, int32_t y) { return key[x] < key[y]; });
  t->boundary.assign(nv, 0);
  t->across.assign(nh, -1);
  std::vector<int32_t> inner_count(nv + 1, 0);
  for (int64_t i = 0; i < nh;) {
    int64_t j = i;
    while (j < nh && key[order[j]] == key[order[i]]) ++j;
    int32_t a = static_cast<int32_t>(key[order[i]] / nv);
    int32_t b = static_cast<int32_t>(key[order[i]] % nv);
    t->lo.push_back(a);
    t->hi.push_back(b);
    t->opp_c.push_back(j - i == 2 ? opp[order[i]] : -1);
    t->opp_d.push_back(j - i == 2 ? opp[order[i + 1]] : -1);
    t->multi.push_back(j - i > 2);
    if (j - i == 1) t->boundary[a] = t->boundary[b] = 1;
    if (j - i == 2) {
      ++inner_count[a], ++inner_count[b];
      t->across[order[i]] = order[i + 1] / 3;
      t->across[order[i + 1]] = order[i] / 3;
    }
    i = j;
  }
  t->eptr.assign(nv + 1, 0);
  for (int a = 0; a < nv; ++a) t->eptr[a + 1] = t->eptr[a] + inner_count[a];
  t->eidx.resize(t->eptr[nv]);
  std::vector<int32_t> fill(t->eptr.begin(), t->eptr.end() - 1);
  for (size_t e = 0; e < t->lo.size(); ++e)
    if (t->opp_c[e] >= 0) {
      t->eidx[fill[t->lo[e]]++] = t->hi[e];
      t->eidx[fill[t->hi[e]]++] = t->lo[e];
    }
  return t;
}

}  // namespace

std::shared_ptr<const Topology> topology_of(const int32_t* faces, int nf, int nv) {
  // Few distinct triangle lists occur in a run (the model's, and its mirror
  // after a flip): a small most-recently-used list per thread.
  thread_local std::vector<std::shared_ptr<const Topology>> cache;
  const size_t bytes = 3 * sizeof(int32_t) * static_cast<size_t>(nf);
  for (size_t i = 0; i < cache.size(); ++i) {
    const auto& t = cache[i];
    if (t->nf == nf && t->nv == nv && std::memcmp(t->faces.data(), faces, bytes) == 0) {
      auto hit = t;
      cache.erase(cache.begin() + i);
      cache.insert(cache.begin(), hit);
      return hit;
    }
  }
  std::shared_ptr<const Topology> t = build_topology(faces, nf, nv);
  cache.insert(cache.begin(), t);
  if (cache.size() > 4) cache.pop_back();
  return t;
}

void build_graph(Mesh& m) {
  const Topology& t = *m.topo;
  auto dist3 = [&](int a, int b) {
    const double* p = m.vert(a);
    const double* q = m.vert(b);
    double dx = p[0] - q[0], dy = p[1] - q[1], dz = p[2] - q[2];
    return std::sqrt(dx * dx + dy * dy + dz * dz);
  };
  // Unfold (a, b, d) beside (a, b, c); keep c-d (length, or -1) when it
  // crosses ab inside.
  auto diagonal = [&](int a, int b, int c, int d) {
    const double* pa = m.vert(a);
    double e[3], le = 0;
    for (int k = 0; k < 3; ++k) e[k] = m.vert(b)[k] - pa[k], le += e[k] * e[k];
    le = std::sqrt(le);
    if (!(le > 1e-12)) return -1.0;
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
    if (!(yc - yd > 1e-12)) return -1.0;
    double tc = yc / (yc - yd);
    double xcross = xc + tc * (xd - xc);
    if (!(xcross > 0 && xcross < le)) return -1.0;
    return std::hypot(xc - xd, yc - yd);
  };
  const size_t ne = t.lo.size();
  std::vector<double> len(ne), diag(ne, -1.0);
  std::vector<int32_t> deg(m.nv + 1, 0);
  for (size_t e = 0; e < ne; ++e) {
    len[e] = std::max(dist3(t.lo[e], t.hi[e]), 1e-12);
    ++deg[t.lo[e]], ++deg[t.hi[e]];
    if (t.opp_c[e] >= 0) {
      double d = diagonal(t.lo[e], t.hi[e], t.opp_c[e], t.opp_d[e]);
      if (d >= 0) {
        diag[e] = std::max(d, 1e-12);
        ++deg[t.opp_c[e]], ++deg[t.opp_d[e]];
      }
    }
  }
  m.ptr.assign(m.nv + 1, 0);
  for (int a = 0; a < m.nv; ++a) m.ptr[a + 1] = m.ptr[a] + deg[a];
  m.idx.resize(m.ptr[m.nv]);
  m.w.resize(m.ptr[m.nv]);
  std::vector<int32_t> fill(m.ptr.begin(), m.ptr.end() - 1);
  auto add = [&](int a, int b, double l) {
    m.idx[fill[a]] = b, m.w[fill[a]++] = l;
    m.idx[fill[b]] = a, m.w[fill[b]++] = l;
  };
  for (size_t e = 0; e < ne; ++e) {
    add(t.lo[e], t.hi[e], len[e]);
    if (diag[e] >= 0) add(t.opp_c[e], t.opp_d[e], diag[e]);
  }
}

LinkCache::LinkCache(const Mesh& m) : m_(m), across_(m.topo->across.data()) {
  size_t n = 4096;
  while (n < 4 * static_cast<size_t>(m.nf) && n < (1u << 16)) n <<= 1;
  keys_.assign(n, 0);
  vals_.assign(n, 0);
  mask_ = n - 1;
}

bool LinkCache::lookup(int a, int b) {
  uint64_t lo = static_cast<uint32_t>(std::min(a, b)), hi = static_cast<uint32_t>(std::max(a, b));
  uint64_t key = ((lo << 32) | hi) + 1;
  uint64_t slot = ((key * 0x9E3779B97F4A7C15ull) >> 40) & mask_;
  if (keys_[slot] == key) return vals_[slot];
  bool ok = m_.connected(a, b);
  keys_[slot] = key;
  vals_[slot] = ok;
  return ok;
}

Dijkstra::Dijkstra(const Mesh& m)
    : m_(m),
      dist_(m.nv, kInf),
      bound_(m.nv, std::numeric_limits<double>::quiet_NaN()),
      is_target_(m.nv, 0) {
  heap_.reserve(256);
}

void Dijkstra::run(int src, double limit, const int32_t* targets, int n_targets, double* out) {
  size_t left = 0;
  for (int i = 0; i < n_targets; ++i)
    if (!is_target_[targets[i]]) is_target_[targets[i]] = 1, ++left;
  // Every graph edge is a path on the surface (an edge, or the unfolded
  // diagonal across one), so no shorter than the chord between its ends: the
  // chord to the nearest target is a consistent lower bound, and A* settles
  // every vertex at its exact distance, as Dijkstra does, having searched
  // only towards the targets. The bound is shrunk by far more than its
  // rounding error, so that rounding cannot make it overestimate.
  constexpr double kShrink = 1 - 1e-9;
  auto bound = [&](int v) {
    double b = bound_[v];
    if (b == b) return b;
    const double* p = m_.vert(v);
    b = kInf;
    for (int i = 0; i < n_targets; ++i) {
      const double* q = m_.vert(targets[i]);
      double dx = p[0] - q[0], dy = p[1] - q[1], dz = p[2] - q[2];
      b = std::min(b, dx * dx + dy * dy + dz * dz);
    }
    b = std::sqrt(b) * kShrink;
    bound_[v] = b;
    bounded_.push_back(v);
    return b;
  };
  using Item = std::pair<double, int32_t>;  // (distance + bound, vertex)
  auto later = std::greater<Item>();
  heap_.clear();
  dist_[src] = 0;
  touched_.push_back(src);
  heap_.push_back({bound(src), src});
  const int32_t* ptr = m_.ptr.data();
  const int32_t* idx = m_.idx.data();
  const double* w = m_.w.data();
  while (!heap_.empty() && left > 0) {
    std::pop_heap(heap_.begin(), heap_.end(), later);
    auto [f, a] = heap_.back();
    heap_.pop_back();
    const double d = dist_[a];
    if (f > d + bound_[a]) continue;  // superseded by a shorter path
    if (is_target_[a]) is_target_[a] = 0, --left;
    for (int k = ptr[a]; k < ptr[a + 1]; ++k) {
      double nd = d + w[k];
      int b = idx[k];
      if (!(nd < dist_[b])) continue;
      // A path through b is at least nd + bound(b) long: beyond the limit,
      // no target within it lies that way.
      const double fb = nd + bound(b);
      if (!(fb <= limit)) continue;
      if (dist_[b] == kInf) touched_.push_back(b);
      dist_[b] = nd;
      heap_.push_back({fb, b});
      std::push_heap(heap_.begin(), heap_.end(), later);
    }
  }
  // Targets never reached (beyond the limit) are +inf; relaxed but unsettled
  // vertices only occur when every target is settled.
  for (int i = 0; i < n_targets; ++i) {
    out[i] = dist_[targets[i]];
    is_target_[targets[i]] = 0;
  }
  for (int32_t v : touched_) dist_[v] = kInf;
  touched_.clear();
  for (int32_t v : bounded_) bound_[v] = std::numeric_limits<double>::quiet_NaN();
  bounded_.clear();
}

}  // namespace geoconv
