"""Training-time augmentation: writer styles MNIST lacks, then random rotation, scale, shear, shift,
elastic wobble (optionally Simard et al.'s finer elastic distortion too), closing and stroke thickness,
on whole batches at once (cheap next to the recurrent net).
"""

import math

import torch
import torch.nn.functional as F

from ..config import COLS, ROWS


def _bicubic_from_4(pixels: int) -> torch.Tensor:
    """Bicubic upsampling from 4 to `pixels` along one axis as a (pixels, 4) matrix: M @ x @ M.T equals
    F.interpolate(x, mode="bicubic") to 1e-6, and is 8x faster on small batches."""
    return F.interpolate(torch.eye(4).reshape(4, 1, 4, 1), size=(pixels, 1), mode="bicubic",
                         align_corners=False)[:, 0, :, 0].T


def _pixel_centres(pixels: int) -> torch.Tensor:
    """The centres of `pixels` pixels in grid units (-1..1), as F.affine_grid(align_corners=False) puts them."""
    return torch.linspace(-1 + 1 / pixels, 1 - 1 / pixels, pixels)


_GRID_LEFT = torch.cat([_bicubic_from_4(ROWS), _pixel_centres(ROWS)[:, None], torch.ones(ROWS, 1)], 1)  # (ROWS, 6)
_GRID_RIGHT = torch.cat([_bicubic_from_4(COLS), torch.ones(COLS, 1), _pixel_centres(COLS)[:, None]], 1).T  # (6, COLS)
HALF_IMAGE = torch.tensor([COLS / 2, ROWS / 2])  # px along (x, y) in one grid unit: the grid spans -1..1
ELASTIC_SIGMA, ELASTIC_ALPHA = 4.0, 34.0  # px: Simard et al. (2003)'s smoothing and scale for MNIST


def augment(images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator,
            strength: float = 1.0, elastic: float = 0.0) -> torch.Tensor:
    """Writer styles, then random rotation, scale, shear, shift, elastic wobble (and `elastic_field` at
    strength `elastic`, when it is not 0) and stroke thickness.

    images (N, 28, 28) in [0, 1] with their labels (N,) -> augmented images (N, 28, 28).

    Runs on the whole batch at once, cheap next to the recurrent net. The ranges cover how people
    draw once their drawing is preprocessed like MNIST, including bold strokes that fill loops.
    (The shipped LSTM and GRU were trained at strength 1.0, the RNN at 0.5: models/README.md.)
    """
    images = add_writer_styles(images, labels, generator)
    n = images.shape[0]

    def uniform(low, high, *shape):
        return low + (high - low) * torch.rand(n, *shape, generator=generator)

    angle = uniform(-12, 12) * strength * math.pi / 180
    scale = 1 + uniform(-0.12, 0.12) * strength
    shear = uniform(-0.25, 0.25) * strength
    shift = uniform(-2, 2, 2) / HALF_IMAGE * strength  # +-2 px, in grid units
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin + shear * cos, shift[:, 0]], 1),
         torch.stack([sin, cos + shear * sin, shift[:, 1]], 1)], 1
    )  # (N, 2, 3) maps output to input coordinates
    wobble = uniform(-1.5, 1.5, 2, 4, 4) / HALF_IMAGE[:, None, None] * strength  # smooth displacement, <= 1.5 px
    grid = sampling_grid(theta, wobble)  # (N, ROWS, COLS, 2)
    if elastic:
        grid = grid + elastic_field(n, generator, elastic)
    warped = F.grid_sample(images[:, None], grid, align_corners=False)  # (N, 1, 28, 28)
    # A bold brush on a small drawing fills loops and corners, even once preprocessing has thinned
    # its strokes again: that is a morphological closing (dilate, then erode), here by 1 or 2 px.
    # Each filter runs only on the images that use it.
    closing = uniform(0, 1)
    for chosen, k in ((closing < 0.15 * strength, 5), ((closing >= 0.15 * strength) & (closing < 0.35 * strength), 3)):
        if chosen.any():
            warped[chosen] = -max_filter(-max_filter(warped[chosen], k), k)
    # Stroke thickness: blend towards one dilation (amount 0..1), on towards a second (> 1), or
    # towards a grey erosion (< 0).
    amount = uniform(-0.6, 1.6)[:, None, None, None] * strength
    thicker = max_filter(warped, 3)
    out = warped + amount * (thicker - warped)
    thin, thick = amount.flatten() < 0, amount.flatten() > 1
    if thin.any():
        out[thin] = warped[thin] - amount[thin] * (-max_filter(-warped[thin], 3) - warped[thin])
    if thick.any():
        out[thick] = thicker[thick] + (amount[thick] - 1) * (max_filter(thicker[thick], 3) - thicker[thick])
    return out.clamp_(0, 1)[:, 0]


def sampling_grid(theta: torch.Tensor, wobble: torch.Tensor) -> torch.Tensor:
    """Where each output pixel samples its input: the affine map theta (N, 2, 3) plus the wobble
    (N, 2, 4, 4) upsampled bicubically -> (N, ROWS, COLS, 2) input (x, y) in grid units.

    F.affine_grid(theta, align_corners=False) plus F.interpolate(wobble, bicubic), as one product
    _GRID_LEFT @ K @ _GRID_RIGHT per coordinate, K (6, 6) holding wobble and theta: 1 ms for 1,024
    images on one thread, against 13 ms for the sum written out term by term.
    """
    n = theta.shape[0]
    k = torch.zeros(n, 2, 6, 6)
    k[..., :4, :4] = wobble  # M @ wobble @ M.T
    k[..., 4, 4], k[..., 5, 4], k[..., 5, 5] = theta[..., 1], theta[..., 2], theta[..., 0]  # * y, + 1, * x
    k_right = (k @ _GRID_RIGHT).permute(0, 2, 3, 1).reshape(n, 6, COLS * 2)  # (N, 6, columns x 2 coordinates)
    return (_GRID_LEFT @ k_right).view(n, ROWS, COLS, 2)


def _gaussian_smoothing(pixels: int) -> torch.Tensor:
    """Smoothing along one axis by a Gaussian of ELASTIC_SIGMA px (the ends reflected) as a (pixels, pixels)
    matrix: S @ x smooths the columns of x, x @ S.T its rows; as F.conv2d after a reflecting F.pad, 20x faster."""
    radius = int(3 * ELASTIC_SIGMA)
    taps = torch.exp(-torch.arange(-radius, radius + 1.0).square() / (2 * ELASTIC_SIGMA**2))
    padded = F.pad(torch.eye(pixels)[None], (radius, radius), mode="reflect")[0]  # (pixels, pixels + 2 radius)
    return F.conv1d(padded[:, None], (taps / taps.sum()).view(1, 1, -1))[:, 0].T


_SMOOTH_ROWS, _SMOOTH_COLS = _gaussian_smoothing(ROWS), _gaussian_smoothing(COLS)


def elastic_field(n: int, generator: torch.Generator, strength: float = 1.0) -> torch.Tensor:
    """Simard et al. (2003)'s elastic distortion as displacements to add to a sampling grid: a uniform
    random field in -1..1 per pixel, smoothed by a Gaussian of ELASTIC_SIGMA px, times ELASTIC_ALPHA px
    times `strength` -> (N, ROWS, COLS, 2) along (x, y) in grid units. Local bends of a pixel or two,
    finer than the wobble's 4x4 grid."""
    field = torch.rand(n, 2, ROWS, COLS, generator=generator) * 2 - 1  # (x, y) of every pixel
    smooth = _SMOOTH_ROWS @ field @ _SMOOTH_COLS.T  # (N, 2, ROWS, COLS)
    return smooth.permute(0, 2, 3, 1) * ELASTIC_ALPHA * strength / HALF_IMAGE


def max_filter(images: torch.Tensor, k: int) -> torch.Tensor:
    """F.max_pool2d(images, k, stride=1, padding=k // 2) for odd k, exactly, as maxima of shifted
    copies: 20-30x faster on CPU than max_pool2d, which made up 70% of augment's time."""
    r = k // 2
    padded = F.pad(images, (r, r, r, r), value=-math.inf)
    height, width = images.shape[-2:]
    rows = padded[..., :height, :]
    for i in range(1, k):
        rows = torch.maximum(rows, padded[..., i : i + height, :])
    out = rows[..., :width]
    for j in range(1, k):
        out = torch.maximum(out, rows[..., j : j + width])
    return out


def draw_segments(images: torch.Tensor, start: torch.Tensor, end: torch.Tensor, width: float = 2.0) -> torch.Tensor:
    """Add anti-aliased straight strokes to images (N, 28, 28); start, end (N, 2) as (row, col) in px."""
    grid = torch.stack(torch.meshgrid(torch.arange(float(ROWS)), torch.arange(float(COLS)), indexing="ij"), -1)
    # grid (ROWS, COLS, 2): each pixel's (row, col)
    direction = (end - start)[:, None, None]  # (N, 1, 1, 2)
    along = ((grid - start[:, None, None]) * direction).sum(-1) / direction.square().sum(-1).clamp(min=1e-6)
    closest = start[:, None, None] + along.clamp(0, 1)[..., None] * direction  # (N, 28, 28, 2)
    distance = (grid - closest).norm(dim=-1)  # (N, 28, 28)
    return torch.maximum(images, (width / 2 + 0.5 - distance).clamp(0, 1))


def add_writer_styles(images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator,
                      fraction: float = 0.25) -> torch.Tensor:
    """Give some 0s a slash (Ø) and some 1s a long flag (European styles that MNIST lacks)."""
    images = images.clone()
    chosen = torch.rand(len(labels), generator=generator) < fraction
    zeros, ones = (chosen & (labels == 0)).nonzero()[:, 0], (chosen & (labels == 1)).nonzero()[:, 0]
    ink = images[torch.cat([zeros, ones])] > 0.5  # (n, 28, 28), only the images styled: the 0s, then the 1s
    rows_with_ink = ink.any(2)  # (n, 28)
    top = rows_with_ink.float().argmax(1)  # first inked row
    bottom = ROWS - 1 - rows_with_ink.flip(1).float().argmax(1)
    height = (bottom - top + 1).float()  # (n,)
    ones_ink, ones_top = ink[len(zeros):], top[len(zeros):]
    zeros_height, ones_height = height[: len(zeros)], height[len(zeros):]

    def uniform(low, high, n):
        return low + (high - low) * torch.rand(n, generator=generator)

    if len(zeros):
        lean = uniform(15, 40, len(zeros)) * math.pi / 180  # from vertical, towards the right: "/"
        half = uniform(0.55, 0.7, len(zeros)) * zeros_height
        direction = torch.stack([-torch.cos(lean), torch.sin(lean)], 1)  # (n, 2) up and right
        centre = torch.tensor([ROWS / 2, COLS / 2])
        images[zeros] = draw_segments(images[zeros], centre - half[:, None] * direction,
                                      centre + half[:, None] * direction, width=uniform(1.5, 2.5, 1).item())
    if len(ones):
        top_ink = ones_ink[torch.arange(len(ones)), ones_top]  # (n, COLS)
        top_col = (top_ink.float() * torch.arange(float(COLS))).sum(1) / top_ink.sum(1).clamp(min=1)
        start = torch.stack([ones_top.float(), top_col], 1)  # (n, 2)
        drop = uniform(30, 60, len(ones)) * math.pi / 180  # flag angle below the horizontal, pointing left
        length = uniform(0.25, 0.45, len(ones)) * ones_height
        end = start + length[:, None] * torch.stack([torch.sin(drop), -torch.cos(drop)], 1)
        images[ones] = draw_segments(images[ones], start, end, width=uniform(1.5, 2.5, 1).item())
    return images
