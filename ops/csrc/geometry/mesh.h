// A face mesh for the geodesic kernels: topology, the triangle-link rule of a
// unit grid step, and Dijkstra on the refined edge graph. Rules as in
// geoconv_mm/geodesic/weights.py (TriangleLinks, graph_geodesics).
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

namespace geoconv {

constexpr double kInf = std::numeric_limits<double>::infinity();

// What depends only on the triangle list: built once per distinct face array
// and reused (a face-mesh model gives every frame the same triangles).
struct Topology {
  int nv = 0, nf = 0;
  std::vector<int32_t> faces;     // copy, the cache key
  std::vector<uint8_t> boundary;  // per vertex: lies on a boundary loop
  // Undirected mesh edges sorted by (lo, hi); opp_c / opp_d are the vertices
  // opposite the edge in its first / second face (-1: boundary edge).
  std::vector<int32_t> lo, hi, opp_c, opp_d;
  std::vector<uint8_t> multi;  // edge in more than two faces (neither rule)
  // Interior mesh edges (two faces) as CSR.
  std::vector<int32_t> eptr, eidx;
  // (nf, 3): the face across each edge of a face, -1 on a boundary or
  // non-manifold edge. Most unit grid steps that change triangle cross one
  // such edge, which the link rule always accepts.
  std::vector<int32_t> across;
};

struct Mesh {
  int nv = 0, nf = 0;
  const double* v = nullptr;
  const int32_t* f = nullptr;
  std::shared_ptr<const Topology> topo;
  const int32_t* face_patch = nullptr;    // per face: filled hole it belongs to, or -1
  const int32_t* vertex_patch = nullptr;  // per vertex: filled loop it lies on, or -1
  // Refined edge graph (CSR): mesh edges plus unfolded diagonals.
  std::vector<int32_t> ptr, idx;
  std::vector<double> w;

  const double* vert(int i) const { return v + 3 * static_cast<int64_t>(i); }
  const int32_t* face(int t) const { return f + 3 * static_cast<int64_t>(t); }

  // A unit grid step from a point on triangle a to one on triangle b stays on
  // the surface (same triangle, shared edge, shared non-boundary vertex,
  // interior edge between them, or the filled-hole region rule).
  bool connected(int a, int b) const;

 private:
  bool in_region(int a, int b) const;
};

// The topology of `faces` ((nf, 3), indices < nv), from a per-thread cache.
std::shared_ptr<const Topology> topology_of(const int32_t* faces, int nf, int nv);

// Edge lengths and unfolded diagonals of the refined graph (needs m.topo).
void build_graph(Mesh& m);

// Memoised Mesh::connected (the relation is symmetric); exact, only faster
// for the many grid steps that cross the same pair of triangles.
class LinkCache {
 public:
  explicit LinkCache(const Mesh& m);
  // Inline: it runs at every grid step that changes triangle.
  bool operator()(int a, int b) {
    if (a == b) return true;
    // Two faces across an edge share two corners: linked, without the table.
    const int32_t* across = across_ + 3 * static_cast<int64_t>(a);
    if (across[0] == b || across[1] == b || across[2] == b) return true;
    return lookup(a, b);
  }

 private:
  bool lookup(int a, int b);
  const Mesh& m_;
  const int32_t* across_;  // m_.topo->across
  std::vector<uint64_t> keys_;  // (lo << 32 | hi) + 1, 0 = empty
  std::vector<uint8_t> vals_;
  uint64_t mask_;
};

// Shortest paths from `src` until every target is settled or distances pass
// `limit`: A* with the straight-line distance to the nearest target as its
// lower bound. Writes the targets' distances (+inf beyond the limit) to out[i]
// for targets[i]. Scratch buffers are reused across calls.
class Dijkstra {
 public:
  explicit Dijkstra(const Mesh& m);
  void run(int src, double limit, const int32_t* targets, int n_targets, double* out);

 private:
  const Mesh& m_;
  std::vector<double> dist_;
  std::vector<double> bound_;  // lower bound to the nearest target, NaN: not yet known
  std::vector<uint8_t> is_target_;
  std::vector<int32_t> touched_, bounded_;
  std::vector<std::pair<double, int32_t>> heap_;
};

}  // namespace geoconv
