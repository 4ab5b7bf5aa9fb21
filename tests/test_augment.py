"""Augmentation on real digits: it changes them, they stay the same digits, and its fast pieces equal
torch's own operations."""

import torch
import torch.nn.functional as F

from rnnviz.data.augment import (
    ELASTIC_ALPHA,
    ELASTIC_SIGMA,
    _gaussian_smoothing,
    add_writer_styles,
    augment,
    draw_segments,
    elastic_field,
    max_filter,
    sampling_grid,
)


def test_augmentation_keeps_digits_recognisable(digits, shipped_models):
    images, labels = digits
    augmented = augment(images, labels, torch.Generator().manual_seed(0))
    assert augmented.shape == images.shape and 0 <= augmented.min() and augmented.max() <= 1
    assert (augmented - images).abs().mean() > 0.05  # it does change them
    predictions = shipped_models["lstm"](augmented).argmax(1)
    assert (predictions == labels).float().mean() > 0.95  # but they stay the same digits


def test_the_same_generator_gives_the_same_augmentation_and_strength_zero_none(digits):
    images, labels = digits[0][:50], digits[1][:50]
    first, again = (augment(images, labels, torch.Generator().manual_seed(3)) for _ in range(2))
    assert torch.equal(first, again)
    ones_and_zeros = (labels == 0) | (labels == 1)  # writer styles still apply at strength 0 (they are styles)
    unchanged = augment(images[~ones_and_zeros], labels[~ones_and_zeros], torch.Generator(), strength=0)
    torch.testing.assert_close(unchanged, images[~ones_and_zeros], atol=1e-5, rtol=0)


def test_writer_styles_touch_only_zeros_and_ones(digits):
    images, labels = digits
    styled = add_writer_styles(images, labels, torch.Generator().manual_seed(0), fraction=1.0)
    change = (styled - images).abs().flatten(1).amax(1)  # (N,) the largest change of each image
    styled_ones_and_zeros = (labels == 0) | (labels == 1)
    assert (change[~styled_ones_and_zeros] == 0).all() and (change[styled_ones_and_zeros] > 0.4).all()
    zeros = styled[labels == 0]
    assert (zeros[:, 13:15, 13:15] > 0.5).any(2).any(1).float().mean() > 0.9  # a slash through the hole


def test_a_segment_is_drawn_where_it_is_asked():
    line = draw_segments(torch.zeros(1, 28, 28), torch.tensor([[4.0, 10.0]]), torch.tensor([[20.0, 10.0]]))[0]
    assert (line[4:21, 10] == 1).all() and line[:, :8].sum() == 0 and line[:3].sum() == 0


def test_fast_filters_equal_torchs():
    images = torch.rand(64, 1, 28, 28)
    for k in (3, 5):
        assert torch.equal(max_filter(images, k), F.max_pool2d(images, k, stride=1, padding=k // 2))


def test_the_sampling_grid_is_torchs_affine_grid_plus_the_upsampled_wobble():
    theta, wobble = torch.randn(64, 2, 3), torch.randn(64, 2, 4, 4) / 10
    upsampled = F.interpolate(wobble, size=(28, 28), mode="bicubic", align_corners=False)  # (64, 2, 28, 28)
    expected = F.affine_grid(theta, [64, 1, 28, 28], align_corners=False) + upsampled.permute(0, 2, 3, 1)
    torch.testing.assert_close(sampling_grid(theta, wobble), expected)


def test_the_elastic_field_is_smooth_and_as_large_as_simards():
    field = elastic_field(400, torch.Generator().manual_seed(0)) * torch.tensor([14.0, 14.0])  # (N, 28, 28, 2) px
    inner = field[:, 8:20, 8:20]  # away from the reflected borders
    taps = torch.exp(-torch.arange(-12, 13.0).square() / (2 * ELASTIC_SIGMA**2))
    expected = ELASTIC_ALPHA / 3**0.5 * (taps / taps.sum()).square().sum()  # uniform -1..1, smoothed in 2 dims
    assert abs(inner.std() / expected - 1) < 0.1 and abs(inner.mean()) < 0.1
    here, beside, far = field[:, 14, 10].flatten(), field[:, 14, 11].flatten(), field[:, 14, 22].flatten()
    assert torch.corrcoef(torch.stack([here, beside]))[0, 1] > 0.9  # neighbours move together
    assert abs(torch.corrcoef(torch.stack([here, far]))[0, 1]) < 0.4  # 12 px apart, nearly on their own
    half = elastic_field(400, torch.Generator().manual_seed(0), strength=0.5) * 14
    torch.testing.assert_close(half, field / 2)


def test_elastic_distortion_bends_digits_only_when_asked_and_they_stay_digits(digits, shipped_models):
    images, labels = digits
    plain = augment(images, labels, torch.Generator().manual_seed(5))
    torch.testing.assert_close(augment(images, labels, torch.Generator().manual_seed(5), elastic=0.0), plain,
                               atol=0, rtol=0)  # off: the same random numbers, the same images
    others = (labels != 0) & (labels != 1)  # untouched by the writer styles
    bent = augment(images[others], labels[others], torch.Generator().manual_seed(5), strength=0, elastic=1.0)
    assert (bent - images[others]).abs().mean() > 0.05
    assert (shipped_models["lstm"](bent).argmax(1) == labels[others]).float().mean() > 0.85


def test_the_smoothing_matrix_is_torchs_reflecting_gaussian_convolution():
    field = torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    radius = int(3 * ELASTIC_SIGMA)
    taps = torch.exp(-torch.arange(-radius, radius + 1.0).square() / (2 * ELASTIC_SIGMA**2))
    taps = taps / taps.sum()
    by_torch = F.conv2d(F.pad(field, (0, 0, radius, radius), mode="reflect"), taps.view(1, 1, -1, 1))
    by_torch = F.conv2d(F.pad(by_torch, (radius, radius, 0, 0), mode="reflect"), taps.view(1, 1, 1, -1))
    smoothing = _gaussian_smoothing(28)
    torch.testing.assert_close(smoothing @ field @ smoothing.T, by_torch, atol=1e-6, rtol=0)
