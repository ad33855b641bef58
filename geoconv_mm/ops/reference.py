"""Pure-PyTorch references of GeoConv (Eq. 3), independent of the compiled op.

Slow and memory-hungry by design: they exist to check the op (tests) and to
measure it against (tools/benchmarks/benchmark_geoconv.py).
"""

import torch
import torch.nn.functional as F


def geo_conv2d_unfold(
    x, weight, geo_weight, bias=None, stride=1, padding=0, dilation=1, groups=1
):
    """Eq. 3 through ``F.unfold``: columns scaled per tap and location, then a
    matmul.
    """
    n, c = x.shape[:2]
    o, cg, kh, kw = weight.shape
    k = kh * kw
    cols = F.unfold(
        x, (kh, kw), dilation=dilation, padding=padding, stride=stride
    )
    length = cols.shape[-1]
    cols = cols.view(n, c, k, length) * geo_weight.reshape(n, 1, k, length)
    cols = cols.view(n, groups, cg * k, length)
    w = weight.reshape(groups, o // groups, cg * k)
    out = torch.einsum('gok,ngkl->ngol', w, cols).reshape(
        n, o, *geo_weight.shape[-2:]
    )
    return out if bias is None else out + bias.view(1, -1, 1, 1)


def geo_conv2d_loop(
    x,
    weight,
    geo_weight,
    bias=None,
    stride=(1, 1),
    padding=(0, 0),
    dilation=(1, 1),
    groups=1,
):
    """Eq. 3 as a plain loop over output locations and taps (small inputs
    only).
    """
    n, c, h, w = x.shape
    o, cg, kh, kw = weight.shape
    og = o // groups
    _, _, ho, wo = geo_weight.shape
    out = x.new_zeros(n, o, ho, wo)
    for y in range(ho):
        for xx in range(wo):
            for i in range(kh):
                for j in range(kw):
                    hi = y * stride[0] - padding[0] + i * dilation[0]
                    wi = xx * stride[1] - padding[1] + j * dilation[1]
                    if not (0 <= hi < h and 0 <= wi < w):
                        continue
                    g = geo_weight[:, i * kw + j, y, xx]  # (N,)
                    for grp in range(groups):
                        v = x[:, grp * cg : (grp + 1) * cg, hi, wi]  # (N, Cg)
                        wk = weight[
                            grp * og : (grp + 1) * og, :, i, j
                        ]  # (Og, Cg)
                        out[:, grp * og : (grp + 1) * og, y, xx] += g[
                            :, None
                        ] * (v @ wk.t())
    return out if bias is None else out + bias.view(1, -1, 1, 1)


def geo_conv2d_taps(
    x,
    weight,
    geo_weight,
    bias=None,
    stride=(1, 1),
    padding=(0, 0),
    dilation=(1, 1),
    groups=1,
):
    """Eq. 3 as a sum over taps of strided views of the zero-padded input.

    ``out = sum_k g_k * (W_k x_k)``: each tap's input is a strided slice of the
    padded input, so this shares no index arithmetic with the op or with
    ``F.unfold``.
    """
    n, c = x.shape[:2]
    o, cg, kh, kw = weight.shape
    og = o // groups
    _, _, ho, wo = geo_weight.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    xp = F.pad(x, (pw, pw, ph, ph))
    out = x.new_zeros(n, o, ho, wo)
    for i in range(kh):
        for j in range(kw):
            r0, c0 = i * dh, j * dw
            xs = xp[
                :,
                :,
                r0 : r0 + (ho - 1) * sh + 1 : sh,
                c0 : c0 + (wo - 1) * sw + 1 : sw,
            ]
            xs = xs.reshape(n, groups, cg, ho, wo)
            wk = weight[:, :, i, j].reshape(groups, og, cg)
            y = torch.einsum('goc,ngchw->ngohw', wk, xs).reshape(n, o, ho, wo)
            out = out + geo_weight[:, i * kw + j, None] * y
    return out if bias is None else out + bias.view(1, -1, 1, 1)
