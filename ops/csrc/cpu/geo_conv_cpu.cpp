// CPU kernels of GeoConv: tiled im2col with the geodesic weight folded into the columns,
// then BLAS GEMMs. Tiles are sized to stay in cache, so the column buffer never grows
// with the image (peak memory stays near plain convolution's) and the columns are
// consumed by the GEMM while still hot.
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/LegacyTypeDispatch.h>
#include <torch/library.h>
#include <torch/types.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>
#include <vector>

#include "../geo_conv.h"

namespace geoconv {
namespace {

// One run of consecutive output pixels within one output row.
struct RowSegment {
  int64_t out_y, out_x0, out_x1, col0;  // col0: offset of out_x0 inside the tile
};

std::vector<RowSegment> tile_segments(const ConvGeometry& g, int64_t p0, int64_t p1) {
  std::vector<RowSegment> segments;
  for (int64_t p = p0; p < p1;) {
    const int64_t y = p / g.out_w, x0 = p % g.out_w;
    const int64_t x1 = std::min(g.out_w, x0 + (p1 - p));
    segments.push_back({y, x0, x1, p - p0});
    p += x1 - x0;
  }
  return segments;
}

// Output columns [lo, hi) of the segment [x0, x1) whose tap kj lands inside the
// input row. Always x0 <= lo <= hi <= x1, also when the whole segment lies in the
// left or the right padding, so [x0, lo) and [hi, x1) are valid ranges to zero.
inline void valid_out_range(const ConvGeometry& g, int64_t kj, int64_t x0, int64_t x1,
                            int64_t* lo, int64_t* hi) {
  const int64_t off = kj * g.dil_w - g.pad_w;  // wi = xo * stride + off
  const int64_t a = off >= 0 ? 0 : (-off + g.stride_w - 1) / g.stride_w;
  const int64_t b = g.width - off <= 0 ? 0 : (g.width - off + g.stride_w - 1) / g.stride_w;
  *lo = std::min(x1, std::max(x0, a));
  *hi = std::max(*lo, std::min(x1, b));
}

// cols[((c - c_begin)*K + k), t] = in[c, tap(k, t)] (* geo[k, t] when geo != nullptr),
// for the channels [c_begin, c_end) of one group.
template <typename scalar_t>
void im2col_tile(const ConvGeometry& g, const scalar_t* in, const scalar_t* geo,
                 const std::vector<RowSegment>& segs, int64_t tile, scalar_t* cols,
                 int64_t c_begin, int64_t c_end) {
  const int64_t K = g.taps(), P = g.out_pixels(), HW = g.height * g.width;
  for (int64_t c = c_begin; c < c_end; ++c) {
    const scalar_t* in_c = in + c * HW;
    for (int64_t ki = 0; ki < g.kernel_h; ++ki) {
      for (int64_t kj = 0; kj < g.kernel_w; ++kj) {
        const int64_t k = ki * g.kernel_w + kj;
        scalar_t* row = cols + ((c - c_begin) * K + k) * tile;
        const scalar_t* geo_k = geo ? geo + k * P : nullptr;
        for (const auto& s : segs) {
          scalar_t* dst = row + s.col0 - s.out_x0;
          const int64_t hi = s.out_y * g.stride_h - g.pad_h + ki * g.dil_h;
          if (hi < 0 || hi >= g.height) {
            std::fill(dst + s.out_x0, dst + s.out_x1, scalar_t(0));
            continue;
          }
          int64_t lo, up;
          valid_out_range(g, kj, s.out_x0, s.out_x1, &lo, &up);
          std::fill(dst + s.out_x0, dst + lo, scalar_t(0));
          std::fill(dst + up, dst + s.out_x1, scalar_t(0));
          const scalar_t* src = in_c + hi * g.width + kj * g.dil_w - g.pad_w;
          const int64_t sw = g.stride_w;
          // Unit stride, the common case, gets loops the compiler vectorises.
          if (geo_k) {
            const scalar_t* gw = geo_k + s.out_y * g.out_w;
            if (sw == 1)
              for (int64_t x = lo; x < up; ++x) dst[x] = src[x] * gw[x];
            else
              for (int64_t x = lo; x < up; ++x) dst[x] = src[x * sw] * gw[x];
          } else if (sw == 1) {
            std::copy(src + lo, src + up, dst + lo);
          } else {
            for (int64_t x = lo; x < up; ++x) dst[x] = src[x * sw];
          }
        }
      }
    }
  }
}

// grad_in[c, tap(k, t)] += cols[((c - c_begin)*K + k), t] * geo[k, t] for the channels
// [c_begin, c_end): the column gradients, scaled by the geodesic weights on the way.
// Taps of one tile overlap, so one channel of a sample is only ever scattered by one
// thread at a time.
template <typename scalar_t>
void col2im_tile_add(const ConvGeometry& g, const scalar_t* cols, const scalar_t* geo,
                     const std::vector<RowSegment>& segs, int64_t tile, scalar_t* grad_in,
                     int64_t c_begin, int64_t c_end) {
  const int64_t K = g.taps(), P = g.out_pixels(), HW = g.height * g.width;
  for (int64_t c = c_begin; c < c_end; ++c) {
    scalar_t* gin_c = grad_in + c * HW;
    for (int64_t ki = 0; ki < g.kernel_h; ++ki) {
      for (int64_t kj = 0; kj < g.kernel_w; ++kj) {
        const int64_t k = ki * g.kernel_w + kj;
        const scalar_t* row = cols + ((c - c_begin) * K + k) * tile;
        for (const auto& s : segs) {
          const int64_t hi = s.out_y * g.stride_h - g.pad_h + ki * g.dil_h;
          if (hi < 0 || hi >= g.height) continue;
          int64_t lo, up;
          valid_out_range(g, kj, s.out_x0, s.out_x1, &lo, &up);
          const scalar_t* src = row + s.col0 - s.out_x0;
          scalar_t* dst = gin_c + hi * g.width + kj * g.dil_w - g.pad_w;
          const scalar_t* gw = geo + k * P + s.out_y * g.out_w;
          const int64_t sw = g.stride_w;
          if (sw == 1)
            for (int64_t x = lo; x < up; ++x) dst[x] += src[x] * gw[x];
          else
            for (int64_t x = lo; x < up; ++x) dst[x * sw] += src[x] * gw[x];
        }
      }
    }
  }
}

// grad_geo[k, p0 + t] += sum_c xcol[c*K + k, col0 + t] * gcol[c*K + k, col0 + t] for
// one piece of a tile: input columns (unscaled) times column gradients. Rows have
// stride `ld`.
template <typename scalar_t>
void geo_grad_piece(const ConvGeometry& g, int64_t p0, int64_t len, int64_t ld,
                    int64_t col0, const scalar_t* xcol, const scalar_t* gcol,
                    scalar_t* grad_geo) {
  const int64_t K = g.taps(), P = g.out_pixels();
  for (int64_t c = 0; c < g.channels_per_group(); ++c)
    for (int64_t k = 0; k < K; ++k) {
      const scalar_t* x = xcol + (c * K + k) * ld + col0;
      const scalar_t* d = gcol + (c * K + k) * ld + col0;
      scalar_t* gg = grad_geo + k * P + p0;
      for (int64_t t = 0; t < len; ++t) gg[t] += x[t] * d[t];
    }
}

// A tile's columns come from one or several "pieces": a pixel range of one sample
// (large maps are cut into several tiles), or whole samples side by side (small maps:
// batching samples keeps the GEMMs wide instead of streaming the weights per sample).
struct Piece {
  int64_t n, p0, p1, col0;
};

struct TilePlan {
  int64_t width;              // columns per tile
  int64_t samples_per_tile;   // > 1 only for small maps
  int64_t tiles_per_sample;   // > 1 only for large maps

  // Work unit u: a range of tiles that touches its own samples only, so that units can
  // run in parallel and scatter gradients without races.
  int64_t units(int64_t batch) const {
    return (batch + samples_per_tile - 1) / samples_per_tile;
  }
};

// Column budget of one tile. Every tile streams the weight through its GEMM (which
// packs it anew), so a tile needs enough columns for the GEMM to outweigh that;
// beyond it, tiles stay small so that the column buffer of each thread stays near the
// cache and the peak memory near plain convolution's. The forward's GEMMs multiply the
// whole (Og, C/G*K) weight and want wider tiles than the backward's blocked ones
// (measured single-threaded on the GeoCNN layers, in tools/benchmarks).
struct TileBudget {
  int64_t bytes, min_columns;
};
constexpr TileBudget kForwardTiles{int64_t(2) << 20, 512};
constexpr TileBudget kBackwardTiles{int64_t(1) << 20, 256};
// Below this many tiles per thread, the tile count is rounded up to a multiple of the
// thread count.
constexpr int64_t kBalancedTilesPerThread = 8;

// Tiles for columns of `rows` rows. Small maps put whole samples side by side, but
// keep at least `min_units` units so that each thread gets one.
TilePlan make_plan(const ConvGeometry& g, int64_t rows, int64_t elem_size,
                   int64_t min_units, TileBudget budget) {
  int64_t t = budget.bytes / std::max<int64_t>(1, rows * elem_size);
  t = std::max<int64_t>(budget.min_columns, t);
  const int64_t P = g.out_pixels();
  if (P >= t) {
    // Equal tiles, a multiple of 16 columns, rather than a ragged last one. When the
    // batch has few tiles, as many per thread (13 tiles on 2 threads would leave one
    // idle for a twelfth of the call).
    int64_t tiles = (P + t - 1) / t;
    const int64_t threads = std::max<int64_t>(1, min_units);
    if (g.batch * tiles < kBalancedTilesPerThread * threads)
      while ((g.batch * tiles) % threads && tiles < P) ++tiles;
    const int64_t width = std::min(P, ((P + tiles - 1) / tiles + 15) / 16 * 16);
    return {width, 1, (P + width - 1) / width};
  }
  const int64_t threads = std::max<int64_t>(1, min_units);
  int64_t per = std::max<int64_t>(1, std::min(g.batch, t / P));
  per = std::max<int64_t>(1, std::min(per, (g.batch + threads - 1) / threads));
  const int64_t units = std::max<int64_t>(1, (g.batch + per - 1) / per);
  per = std::max<int64_t>(1, (g.batch + units - 1) / units);  // balanced units
  return {per * P, per, 1};
}

TilePlan make_plan(const ConvGeometry& g, int64_t elem_size, TileBudget budget) {
  return make_plan(g, g.col_rows(), elem_size, at::get_num_threads(), budget);
}

// Channels per block of the backward's channel-blocked pass. A block's share of the
// columns must be tall enough for efficient GEMMs (kMinBlockRows), and a group wants
// kBlocksWanted blocks, enough for two threads to share dynamically: more, smaller
// blocks would spread over more threads but make the 64-channel layer's GEMMs
// (64 x 72 weight-gradient blocks) about a fifth slower. The choice depends on the
// shape only, never on the thread count, so that the weight gradient's summation
// order is fixed.
constexpr int64_t kMinBlockRows = 64, kMaxBlockRows = 288, kBlocksWanted = 4;

int64_t block_channels(const ConvGeometry& g) {
  const int64_t K = std::max<int64_t>(1, g.taps()), Cg = g.channels_per_group();
  const int64_t lo = (kMinBlockRows + K - 1) / K, hi = std::max(lo, kMaxBlockRows / K);
  const int64_t want = (Cg + kBlocksWanted - 1) / kBlocksWanted;
  return std::max<int64_t>(1, std::min(Cg, std::min(hi, std::max(lo, want))));
}

// The tiles of unit u, each as its list of pieces.
std::vector<std::vector<Piece>> unit_tiles(const ConvGeometry& g, const TilePlan& plan,
                                           int64_t u) {
  const int64_t P = g.out_pixels();
  std::vector<std::vector<Piece>> tiles;
  if (plan.samples_per_tile == 1) {
    for (int64_t p0 = 0; p0 < P; p0 += plan.width)
      tiles.push_back({{u, p0, std::min(P, p0 + plan.width), 0}});
  } else {
    std::vector<Piece> pieces;
    const int64_t n0 = u * plan.samples_per_tile;
    for (int64_t n = n0; n < std::min(g.batch, n0 + plan.samples_per_tile); ++n)
      pieces.push_back({n, 0, P, (n - n0) * P});
    tiles.push_back(pieces);
  }
  return tiles;
}

int64_t tile_columns(const std::vector<Piece>& pieces) {
  int64_t cols = 0;
  for (const auto& pc : pieces) cols += pc.p1 - pc.p0;
  return cols;
}

std::vector<RowSegment> piece_segments(const ConvGeometry& g, const Piece& pc) {
  auto segs = tile_segments(g, pc.p0, pc.p1);
  for (auto& s : segs) s.col0 += pc.col0;
  return segs;
}

// Which GEMM multiplies the float32 columns: oneDNN's inner product where the CPU has
// AVX-512 (there, MKL's sgemm measured at about half the speed of oneDNN's
// convolution), MKL's sgemm elsewhere (on an AVX2 AMD EPYC, 88 GFLOP/s single-threaded
// against oneDNN's 70 at the GeoCNN tile shapes). GEOCONV_CPU_GEMM=onednn or blas
// overrides the choice, for benchmarks; it is read once per process.
bool use_onednn_gemm() {
  static const bool onednn = [] {
    if (!at::hasMKLDNN()) return false;
    const char* env = std::getenv("GEOCONV_CPU_GEMM");
    if (env != nullptr && std::string(env) == "onednn") return true;
    if (env != nullptr && std::string(env) == "blas") return false;
    TORCH_CHECK(env == nullptr || *env == '\0',
                "GEOCONV_CPU_GEMM must be 'onednn' or 'blas', got '", env, "'");
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_cpu_supports("avx512f") != 0;
#else
    return false;
#endif
  }();
  return onednn;
}

// out = w * cols for one tile, as a new (Og, width) tensor. oneDNN takes the columns
// as its weight (out_features = tile columns), so the result lands as (Og, width) with
// no transpose.
at::Tensor tile_gemm(const at::Tensor& w, const at::Tensor& cols) {
  if (cols.scalar_type() == at::kFloat && use_onednn_gemm()) {
    static const auto op =
        c10::Dispatcher::singleton()
            .findSchemaOrThrow("mkldnn::_linear_pointwise", "")
            .typed<at::Tensor(const at::Tensor&, const at::Tensor&,
                              const std::optional<at::Tensor>&, c10::string_view,
                              c10::List<std::optional<at::Scalar>>,
                              std::optional<c10::string_view>)>();
    return op.call(w, cols.t(), std::nullopt, "none",
                   c10::List<std::optional<at::Scalar>>(), std::nullopt);
  }
  return at::mm(w, cols);
}

// out = w * cols (+ bias) into `out`, a row-major (Og, width) view (rows may be
// strided, as a pixel range of one sample's output).
void tile_gemm_into(at::Tensor out, const at::Tensor& w, const at::Tensor& cols,
                    const at::Tensor& bias) {
  if (cols.scalar_type() == at::kFloat && use_onednn_gemm())
    out.copy_(tile_gemm(w, cols));
  else
    at::mm_out(out, w, cols);
  if (bias.defined()) out.add_(bias);
}

void check_cpu_dtype(const at::Tensor& input) {
  TORCH_CHECK(input.scalar_type() == at::kFloat || input.scalar_type() == at::kDouble,
              "geo_conv2d: the CPU kernels support float32 and float64, got ",
              input.scalar_type());
}

at::Tensor to_layout_of(const at::Tensor& t, bool channels_last) {
  return channels_last ? t.contiguous(at::MemoryFormat::ChannelsLast) : t;
}

// Splits [0, n) into `parts` near-equal ranges; range i is [*b, *e).
inline void split_range(int64_t n, int64_t parts, int64_t i, int64_t* b, int64_t* e) {
  *b = n * i / parts;
  *e = n * (i + 1) / parts;
}

// Runs job(j) for j in [0, jobs) on the intra-op threads, handing jobs out one at a
// time rather than in equal static shares, so that a thread slowed by other load on
// the machine takes fewer of them. Autograd is registered on the operator itself, so
// the workers, like the calling thread, dispatch below it.
template <typename F>
void parallel_jobs(int64_t jobs, const F& job) {
  std::atomic<int64_t> next{0};
  const int64_t threads = std::min<int64_t>(jobs, at::get_num_threads());
  at::parallel_for(0, threads, 1, [&](int64_t, int64_t) {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    for (int64_t j = next++; j < jobs; j = next++) job(j);
  });
}

at::Tensor geo_conv2d_forward_cpu(const at::Tensor& input_, const at::Tensor& weight_,
                                  const at::Tensor& geo_, const OptTensor& bias_,
                                  at::IntArrayRef stride, at::IntArrayRef padding,
                                  at::IntArrayRef dilation, int64_t groups) {
  const ConvGeometry g = make_geometry(input_, weight_, geo_, stride, padding, dilation, groups);
  check_cpu_dtype(input_);
  at::Tensor bias = checked_bias(bias_, input_, g);
  const bool channels_last = wants_channels_last(input_);
  // Autograd is registered on the operator itself; the GEMMs below write into views
  // of our own outputs, which the ADInplaceOrView layer would otherwise track.
  at::AutoDispatchBelowADInplaceOrView below_autograd;
  auto input = input_.contiguous();
  auto weight = weight_.contiguous().view({g.out_channels, g.col_rows()});
  auto geo = geo_.contiguous();
  auto output = at::empty({g.batch, g.out_channels, g.out_h, g.out_w}, input.options());
  if (g.batch == 0 || g.out_channels == 0) return to_layout_of(output, channels_last);
  if (bias.defined()) bias = bias.view({g.out_channels, 1});
  const int64_t P = g.out_pixels(), K = g.taps(), Og = g.out_channels_per_group();
  const int64_t Cg = g.channels_per_group(), G = g.groups;
  const int64_t rows = g.col_rows(), HW = g.height * g.width;
  const TilePlan plan = make_plan(g, input.element_size(), kForwardTiles);
  // Large maps: work items are (sample, tile); small maps: groups of samples.
  const int64_t work = plan.samples_per_tile == 1 ? g.batch * plan.tiles_per_sample
                                                  : plan.units(g.batch);
  auto pieces_of = [&](int64_t w) {
    if (plan.samples_per_tile > 1) return unit_tiles(g, plan, w)[0];
    const int64_t n = w / plan.tiles_per_sample;
    const int64_t p0 = (w % plan.tiles_per_sample) * plan.width;
    return std::vector<Piece>{{n, p0, std::min(P, p0 + plan.width), 0}};
  };

  AT_DISPATCH_FLOATING_TYPES(input.scalar_type(), "geo_conv2d_forward_cpu", [&] {
    const scalar_t* in_p = input.const_data_ptr<scalar_t>();
    const scalar_t* geo_p = geo.const_data_ptr<scalar_t>();
    // Columns of channels [c0, c1) of group grp of a tile; `cols` points at the
    // tile's row c0 * K.
    auto fill = [&](const std::vector<Piece>& pieces, int64_t grp, int64_t width,
                    scalar_t* cols, int64_t c0, int64_t c1) {
      for (const auto& pc : pieces)
        im2col_tile<scalar_t>(g, in_p + (pc.n * g.channels + grp * Cg) * HW,
                              geo_p + pc.n * K * P, piece_segments(g, pc), width, cols,
                              c0, c1);
    };
    // Output channels [o0, o0 + on) of group grp of a tile: the GEMM writes straight
    // into the output when the tile is one pixel range of one sample.
    auto store = [&](const std::vector<Piece>& pieces, int64_t grp, int64_t o0,
                     int64_t on, const at::Tensor& cols_v) {
      const int64_t o = grp * Og + o0;
      auto w_g = weight.narrow(0, o, on);
      auto bias_g = bias.defined() ? bias.narrow(0, o, on) : bias;
      auto out_of = [&](const Piece& pc) {
        return output[pc.n].view({g.out_channels, P}).narrow(0, o, on)
            .narrow(1, pc.p0, pc.p1 - pc.p0);
      };
      if (pieces.size() == 1) {
        tile_gemm_into(out_of(pieces[0]), w_g, cols_v, bias_g);
        return;
      }
      auto res = tile_gemm(w_g, cols_v);
      if (bias.defined()) res.add_(bias_g);
      for (const auto& pc : pieces) out_of(pc).copy_(res.narrow(1, pc.col0, pc.p1 - pc.p0));
    };
    const int64_t threads = at::get_num_threads();
    if (work >= threads || threads == 1) {
      // Each thread builds a tile's columns in its own cache-sized buffer and
      // multiplies them at once, while they are hot.
      std::vector<at::Tensor> buffers(threads);
      parallel_jobs(work, [&](int64_t w) {
        auto& cols = buffers[at::get_thread_num()];
        if (!cols.defined()) cols = at::empty({rows * plan.width}, input.options());
        const auto pieces = pieces_of(w);
        const int64_t width = tile_columns(pieces);
        auto cols_v = cols.narrow(0, 0, rows * width).view({rows, width});
        for (int64_t grp = 0; grp < G; ++grp) {
          fill(pieces, grp, width, cols_v.data_ptr<scalar_t>(), 0, Cg);
          store(pieces, grp, 0, Og, cols_v);
        }
      });
      return;
    }
    // Fewer tiles than threads (one small image): the columns of every tile first,
    // split over channels, then the GEMMs split over output channels, so that every
    // thread works.
    const int64_t tiles = work * G;
    const int64_t cblocks = std::min(Cg, (threads + tiles - 1) / tiles);
    const int64_t oblocks = std::max<int64_t>(
        1, std::min((Og + 7) / 8, (threads + tiles - 1) / tiles));
    auto all_cols = at::empty({tiles * rows * plan.width}, input.options());
    std::vector<std::vector<Piece>> tile_pieces;
    for (int64_t w = 0; w < work; ++w) tile_pieces.push_back(pieces_of(w));
    auto region = [&](int64_t t) {
      const int64_t width = tile_columns(tile_pieces[t / G]);
      return all_cols.narrow(0, t * rows * plan.width, rows * width).view({rows, width});
    };
    parallel_jobs(tiles * cblocks, [&](int64_t j) {
      const int64_t t = j / cblocks;
      int64_t c0, c1;
      split_range(Cg, cblocks, j % cblocks, &c0, &c1);
      auto cols_v = region(t);
      fill(tile_pieces[t / G], t % G, cols_v.size(1),
           cols_v.data_ptr<scalar_t>() + c0 * K * cols_v.size(1), c0, c1);
    });
    parallel_jobs(tiles * oblocks, [&](int64_t j) {
      const int64_t t = j / oblocks;
      int64_t o0, o1;
      split_range(Og, oblocks, j % oblocks, &o0, &o1);
      store(tile_pieces[t / G], t % G, o0, o1 - o0, region(t));
    });
  });
  return to_layout_of(output, channels_last);
}

BackwardResult finish_backward(const at::Tensor& grad_input, const at::Tensor& grad_weight,
                               const at::Tensor& grad_geo, const at::Tensor& input_,
                               const at::Tensor& weight_) {
  auto opt = [](const at::Tensor& t) { return t.defined() ? OptTensor(t) : OptTensor(); };
  return {opt(grad_input.defined()
                  ? to_layout_of(grad_input, wants_channels_last(input_))
                  : grad_input),
          opt(grad_weight.defined() ? grad_weight.view(weight_.sizes()) : grad_weight),
          opt(grad_geo)};
}

BackwardResult geo_conv2d_backward_cpu(
    const at::Tensor& grad_output_, const at::Tensor& input_, const at::Tensor& weight_,
    const at::Tensor& geo_, at::IntArrayRef stride, at::IntArrayRef padding,
    at::IntArrayRef dilation, int64_t groups, std::array<bool, 3> output_mask) {
  const ConvGeometry g = make_geometry(input_, weight_, geo_, stride, padding, dilation, groups);
  check_cpu_dtype(input_);
  check_grad_output(grad_output_, input_, g);
  at::AutoDispatchBelowADInplaceOrView below_autograd;
  const bool need_input = output_mask[0], need_weight = output_mask[1], need_geo = output_mask[2];
  auto input = input_.contiguous();
  auto weight = weight_.contiguous().view({g.out_channels, g.col_rows()});
  auto geo = geo_.contiguous();
  auto grad_output = grad_output_.contiguous();
  at::Tensor grad_input, grad_weight, grad_geo;
  if (need_input) grad_input = at::zeros_like(input);
  if (need_weight) grad_weight = at::zeros_like(weight);
  if (need_geo) grad_geo = at::zeros_like(geo);
  if (g.batch == 0 || g.out_channels == 0 || !(need_input || need_weight || need_geo))
    return finish_backward(grad_input, grad_weight, grad_geo, input_, weight_);

  const int64_t P = g.out_pixels(), K = g.taps(), Og = g.out_channels_per_group();
  const int64_t Cg = g.channels_per_group(), rows = g.col_rows(), HW = g.height * g.width;
  const TilePlan plan = make_plan(g, input.element_size(), kBackwardTiles);
  const int64_t units = plan.units(g.batch);

  AT_DISPATCH_FLOATING_TYPES(input.scalar_type(), "geo_conv2d_backward_cpu", [&] {
    const scalar_t* in_p = input.const_data_ptr<scalar_t>();
    const scalar_t* geo_p = geo.const_data_ptr<scalar_t>();
    auto in_of = [&](const Piece& pc, int64_t grp) {
      return in_p + (pc.n * g.channels + grp * Cg) * HW;
    };
    // The (Og, width) output gradient of a tile: a view for one piece, else gathered.
    auto gout_of = [&](const std::vector<Piece>& pieces, int64_t width, int64_t grp,
                       at::Tensor& buffer) {
      auto piece_gout = [&](const Piece& pc) {
        return grad_output[pc.n].view({g.out_channels, P}).narrow(0, grp * Og, Og)
            .narrow(1, pc.p0, pc.p1 - pc.p0);
      };
      if (pieces.size() == 1) return piece_gout(pieces[0]);
      auto gout = buffer.narrow(0, 0, Og * width).view({Og, width});
      for (const auto& pc : pieces) gout.narrow(1, pc.col0, pc.p1 - pc.p0).copy_(piece_gout(pc));
      return gout;
    };
    // With the geodesic-weight gradient: column gradients W^T dL/dout per tile,
    // scattered into the input (scaled by g) and reduced against the input columns
    // over all channels. A unit owns its samples, so units run in parallel without
    // races.
    if (need_geo)
      at::parallel_for(0, units, 1, [&](int64_t begin, int64_t end) {
        at::AutoDispatchBelowADInplaceOrView below_autograd_in_worker;
        auto gcol = at::empty({rows * plan.width}, input.options());
        auto xcol = at::empty({rows * plan.width}, input.options());
        at::Tensor gout_buf;
        if (plan.samples_per_tile > 1) gout_buf = at::empty({Og * plan.width}, input.options());
        for (int64_t u = begin; u < end; ++u)
          for (const auto& pieces : unit_tiles(g, plan, u)) {
            const int64_t width = tile_columns(pieces);
            auto gcol_v = gcol.narrow(0, 0, rows * width).view({rows, width});
            for (int64_t grp = 0; grp < g.groups; ++grp) {
              at::mm_out(gcol_v, weight.narrow(0, grp * Og, Og).t(),
                         gout_of(pieces, width, grp, gout_buf));
              for (const auto& pc : pieces) {
                const auto segs = piece_segments(g, pc);
                scalar_t* x = xcol.data_ptr<scalar_t>();
                im2col_tile<scalar_t>(g, in_of(pc, grp), nullptr, segs, width, x, 0, Cg);
                geo_grad_piece<scalar_t>(g, pc.p0, pc.p1 - pc.p0, width, pc.col0, x,
                                         gcol_v.const_data_ptr<scalar_t>(),
                                         grad_geo.data_ptr<scalar_t>() + pc.n * K * P);
                if (need_input)
                  col2im_tile_add<scalar_t>(
                      g, gcol_v.const_data_ptr<scalar_t>(), geo_p + pc.n * K * P, segs,
                      width, grad_input.data_ptr<scalar_t>() + (pc.n * g.channels + grp * Cg) * HW,
                      0, Cg);
              }
            }
          }
      });
    const bool blocked_input = need_input && !need_geo;
    if (!need_weight && !blocked_input) return;
    // Weight gradient (and the input gradient when the geodesic weights need none),
    // blocked over input channels: a block owns its columns of grad_weight and its
    // channels of grad_input, so blocks run in parallel without races or partial sums,
    // each thread's GEMMs are its own (single-threaded, no barrier per tile), and
    // every element of grad_weight is summed over the tiles in one fixed order, so two
    // runs give bit-identical gradients. Blocks are handed out dynamically.
    const int64_t Cb = block_channels(g), blocks = (Cg + Cb - 1) / Cb;
    const TilePlan bplan = make_plan(g, Cb * K, input.element_size(), 1, kBackwardTiles);
    std::vector<std::vector<Piece>> tiles;
    for (int64_t u = 0; u < bplan.units(g.batch); ++u)
      for (auto& t : unit_tiles(g, bplan, u)) tiles.push_back(std::move(t));
    std::vector<std::vector<std::vector<RowSegment>>> tile_segs;
    for (const auto& pieces : tiles) {
      tile_segs.emplace_back();
      for (const auto& pc : pieces) tile_segs.back().push_back(piece_segments(g, pc));
    }
    const int64_t jobs = g.groups * blocks;
    std::atomic<int64_t> next_job{0};
    const int64_t threads = std::min<int64_t>(jobs, at::get_num_threads());
    at::parallel_for(0, threads, 1, [&](int64_t, int64_t) {
      at::AutoDispatchBelowADInplaceOrView below_autograd_in_worker;
      const int64_t brows = Cb * K;
      at::Tensor cols, gcol, gout_buf;
      if (need_weight) cols = at::empty({brows * bplan.width}, input.options());
      if (blocked_input) gcol = at::empty({brows * bplan.width}, input.options());
      if (bplan.samples_per_tile > 1) gout_buf = at::empty({Og * bplan.width}, input.options());
      for (int64_t job = next_job++; job < jobs; job = next_job++) {
        const int64_t grp = job / blocks, c0 = (job % blocks) * Cb;
        const int64_t c1 = std::min(Cg, c0 + Cb), nrows = (c1 - c0) * K;
        auto w_blk = weight.narrow(0, grp * Og, Og).narrow(1, c0 * K, nrows);
        auto gw_blk = need_weight
                          ? grad_weight.narrow(0, grp * Og, Og).narrow(1, c0 * K, nrows)
                          : at::Tensor();
        for (size_t t = 0; t < tiles.size(); ++t) {
          const auto& pieces = tiles[t];
          const int64_t width = tile_columns(pieces);
          auto gout = gout_of(pieces, width, grp, gout_buf);
          if (need_weight) {
            auto cols_v = cols.narrow(0, 0, nrows * width).view({nrows, width});
            for (size_t i = 0; i < pieces.size(); ++i)
              im2col_tile<scalar_t>(g, in_of(pieces[i], grp), geo_p + pieces[i].n * K * P,
                                    tile_segs[t][i], width, cols_v.data_ptr<scalar_t>(),
                                    c0, c1);
            gw_blk.addmm_(gout, cols_v.t());
          }
          if (blocked_input) {
            auto gcol_v = gcol.narrow(0, 0, nrows * width).view({nrows, width});
            at::mm_out(gcol_v, w_blk.t(), gout);
            for (size_t i = 0; i < pieces.size(); ++i) {
              const Piece& pc = pieces[i];
              col2im_tile_add<scalar_t>(
                  g, gcol_v.const_data_ptr<scalar_t>(), geo_p + pc.n * K * P, tile_segs[t][i],
                  width, grad_input.data_ptr<scalar_t>() + (pc.n * g.channels + grp * Cg) * HW,
                  c0, c1);
            }
          }
        }
      }
    });
  });
  return finish_backward(grad_input, grad_weight, grad_geo, input_, weight_);
}

}  // namespace
}  // namespace geoconv

TORCH_LIBRARY_IMPL(geoconv_mm, CPU, m) {
  m.impl("geo_conv2d_forward", &geoconv::geo_conv2d_forward_cpu);
  m.impl("geo_conv2d_backward", &geoconv::geo_conv2d_backward_cpu);
}
