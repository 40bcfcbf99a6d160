"""PyTorch twin of the project's DDN models, for bench/run.ts.

Run with Debian's own interpreter (/usr/bin/python3, python3-torch 1.13).
The process reads one JSON command per line on stdin and writes one JSON
reply per line on stdout, so that the TypeScript harness can alternate
between its own timings and these in a single run.

The twin mirrors the TypeScript layers (src/model/*.ts) one to one: the
same widths, convolutions with bias, layer norm over the channels of each
pixel, SiLU, the same UNet and pyramid layout, and the same DDL head math
(distances through the Gram expansion when that is cheaper, argmin, one-hot
pick, leak choice, learning residual). Tensors are NCHW here and NHWC in
TypeScript; weights are stored with the same element counts, so the
parameter counts must match exactly and are asserted.

Not mirrored, because it costs almost nothing per step: Split-and-Prune
bookkeeping (the TypeScript step runs it on the host after the update).

Commands (every reply carries "ok": true, or "ok": false and "error"):
  {"cmd": "build", "name": N, "config": ModelConfig, "expectedParams": P}
  {"cmd": "train", "name": N, "threads": T, "batch": B, "warmup": W, "steps": S}
  {"cmd": "sample", "name": N, "threads": T, "batch": B, "warmup": W, "steps": S}
  {"cmd": "ops", "threads": T, "shape": {...}, "warmup": W, "steps": S}
  {"cmd": "quit"}
"""

import json
import math
import random
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

LAYER_NORM_EPSILON = 1e-5


def he_normal(shape, fan_in, scale=1.0):
    return torch.randn(*shape) * (math.sqrt(2.0 / fan_in) * scale)


class Conv(nn.Module):
    """Convolution with bias, kernel 1 or 3, 'same' padding."""

    def __init__(self, in_channels, out_channels, kernel, init="he"):
        super().__init__()
        scale = 0.1 if init == "small" else 1.0
        fan_in = kernel * kernel * in_channels
        self.weight = nn.Parameter(
            he_normal((out_channels, in_channels, kernel, kernel), fan_in, scale)
        )
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.padding = kernel // 2

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, padding=self.padding)


class ChannelNorm(nn.Module):
    """Layer norm over the channels of each pixel, with scale and shift."""

    def __init__(self, channels):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(channels))
        self.shift = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        mean = x.mean(1, keepdim=True)  # [b, 1, h, w]
        variance = (x - mean).square().mean(1, keepdim=True)  # [b, 1, h, w]
        normalised = (x - mean) * torch.rsqrt(variance + LAYER_NORM_EPSILON)
        return normalised * self.scale[:, None, None] + self.shift[:, None, None]


class ResBlock(nn.Module):
    """x + conv(silu(norm(conv(silu(norm(x))))))."""

    def __init__(self, channels):
        super().__init__()
        self.norm1 = ChannelNorm(channels)
        self.conv1 = Conv(channels, channels, 3)
        self.norm2 = ChannelNorm(channels)
        self.conv2 = Conv(channels, channels, 3, "small")

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        return x + self.conv2(F.silu(self.norm2(h)))


def add_into_channels(x, extra, offset):
    """Adds extra [b, e, h, w] into channels [offset, offset + e) of x."""
    channels = x.shape[1]
    after = channels - offset - extra.shape[1]
    return x + F.pad(extra, (0, 0, 0, 0, offset, after))


def resize_bilinear(x, size):
    if x.shape[2] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)


def resize_nearest(x, size):
    if x.shape[2] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="nearest")


def resize_area(x, size):
    factor = x.shape[2] // size
    return x if factor == 1 else F.avg_pool2d(x, factor)


def position_embedding(size, channels):
    """Fixed input features [1, channels, size, size], as in layers.ts."""
    data = torch.zeros(size * size, channels, dtype=torch.float64)
    for y in range(size):
        for x in range(size):
            pixel = y * size + x
            for j in range(channels):
                angle = pixel / 10000 ** ((2 * (j // 2)) / channels)
                data[pixel, j] = math.sin(angle) if j % 2 == 0 else math.cos(angle)
            ramp_x = 0.0 if size == 1 else 2 * x / (size - 1) - 1
            ramp_y = 0.0 if size == 1 else 2 * y / (size - 1) - 1
            for r, ramp in enumerate([ramp_x, ramp_y, -ramp_x, -ramp_y][:channels]):
                data[pixel, channels - 4 + r] += ramp
    return data.float().t().reshape(1, channels, size, size).contiguous()


def distance_costs(pixels, channels, k, c):
    direct = pixels * channels * k * c
    gram = pixels * channels * channels + channels * channels * k * c + pixels * channels * c
    return direct, gram


def gram_distances(features, weights, residual):
    """features [b, C, h, w], weights [C, K, c], residual [b, c, h, w] -> [b, K]."""
    batch, channels, height, width = features.shape
    _, k, c = weights.shape
    pixels = height * width
    f = features.reshape(batch, channels, pixels)  # [b, C, P]
    r = residual.reshape(batch, c, pixels)  # [b, c, P]
    w = weights.reshape(channels, k * c)  # [C, K·c]
    gram = torch.bmm(f, f.transpose(1, 2))  # [b, C, C]
    gw = (gram.reshape(batch * channels, channels) @ w).reshape(batch, channels, k * c)
    quadratic = (gw * w).sum(1).reshape(batch, k, c).sum(2)  # [b, K]
    m = torch.bmm(f, r.transpose(1, 2)).reshape(batch, channels * c)  # [b, C·c]
    cross = m @ weights.permute(0, 2, 1).reshape(channels * c, k)  # [b, K]
    norm = r.square().sum((1, 2)).unsqueeze(1)  # [b, 1]
    return (quadratic - 2 * cross + norm).clamp_min(0) / (pixels * c)


def direct_distances(features, weights, residual):
    """The same [b, K] by computing every node output."""
    batch, channels, height, width = features.shape
    _, k, c = weights.shape
    pixels = height * width
    f = features.reshape(batch, channels, pixels).transpose(1, 2)  # [b, P, C]
    out = (f @ weights.reshape(channels, k * c)).reshape(batch, pixels, k, c)
    target = residual.reshape(batch, c, pixels).transpose(1, 2).reshape(batch, pixels, 1, c)
    return (out - target).square().mean((1, 3))  # [b, K]


def node_distances(features, weights, residual):
    _, channels, height, width = features.shape
    _, k, c = weights.shape
    direct, gram = distance_costs(height * width, channels, k, c)
    if gram < direct:
        return gram_distances(features, weights, residual)
    return direct_distances(features, weights, residual)


def picked_output(features, weights, one_hot):
    """Output of the picked node per image: [b, C, h, w] -> [b, c, h, w]."""
    batch, channels, height, width = features.shape
    _, k, c = weights.shape
    by_node = weights.permute(1, 0, 2).reshape(k, channels * c)  # [K, C·c]
    per_image = (one_hot @ by_node).reshape(batch, channels, c)  # [b, C, c]
    flat = features.reshape(batch, channels, height * width)  # [b, C, P]
    return torch.bmm(per_image.transpose(1, 2), flat).reshape(batch, c, height, width)


class Sampler:
    """Argmin to a target with chain dropout (training) or uniform random picks."""

    def __init__(self, target=None, chain_dropout=0.0, rng=None):
        self.target = target
        self.chain_dropout = chain_dropout
        self.rng = rng or random.Random(0)
        self.resized = {}

    def target_at(self, size):
        if size not in self.resized:
            self.resized[size] = resize_area(self.target, size)
        return self.resized[size]

    def select(self, k, batch, distances_of):
        if self.target is None:
            return torch.randint(0, k, (batch,))
        with torch.no_grad():
            indices = distances_of(self.target_at).argmin(1)
        if self.chain_dropout > 0 and self.rng.random() < self.chain_dropout:
            indices = torch.randint(0, k, (batch,))
        return indices


class Ddl(nn.Module):
    def __init__(self, k, feature_channels, image_channels, leak_choice, learning_residual):
        super().__init__()
        half = feature_channels // 2
        self.k = k
        self.learning_residual = learning_residual
        self.node_channels = half if leak_choice else feature_channels
        self.nodes = nn.Parameter(
            he_normal((self.node_channels, k, image_channels), self.node_channels * k)
        )
        leak_channels = feature_channels - half
        self.leak = (
            nn.Parameter(he_normal((leak_channels, k, image_channels), leak_channels * k))
            if leak_choice
            else None
        )

    def forward(self, features, previous, sampler):
        batch, _, height, _ = features.shape
        base = None
        if self.learning_residual and previous is not None:
            base = resize_bilinear(previous, height)
        node_features = features[:, : self.node_channels]

        def distances_of(target_at):
            target = target_at(height)
            residual = target if base is None else target - base
            return node_distances(node_features, self.nodes, residual)

        indices = sampler.select(self.k, batch, distances_of)
        one_hot = F.one_hot(indices, self.k).float()  # [b, K]
        output = picked_output(node_features, self.nodes, one_hot)
        picked = output if base is None else output + base
        leak = None
        if self.leak is not None:
            leak = picked_output(features[:, self.node_channels :], self.leak, one_hot)
        return picked, leak


class RecurrenceNetwork(nn.Module):
    def __init__(self, config):
        super().__init__()
        base = config["unetChannels"]
        c = config["imageChannels"]
        depth = config["unetDepth"]
        self.levels = config["recurrenceLevels"]
        self.image_size = config["imageSize"]
        self.image_channels = c
        self.register_buffer("input", position_embedding(self.image_size, base))
        widths = [base * 2 ** min(d, 1) for d in range(depth + 1)]
        self.in_conv = Conv(base + c, base, 3)
        self.down_blocks = nn.ModuleList([ResBlock(widths[d]) for d in range(depth)])
        self.down_widen = nn.ModuleList(
            [Conv(widths[d], widths[d + 1], 1) if widths[d + 1] != widths[d] else nn.Identity()
             for d in range(depth)]
        )
        self.middle = ResBlock(widths[depth])
        up = list(range(depth - 1, -1, -1))
        self.up_narrow = nn.ModuleList(
            [Conv(widths[d + 1], widths[d], 1) if widths[d + 1] != widths[d] else nn.Identity()
             for d in up]
        )
        self.up_blocks = nn.ModuleList([ResBlock(widths[d]) for d in up])
        self.out_norm = ChannelNorm(base)
        self.out_conv = Conv(base, base, 3)
        self.ddl = Ddl(
            config["recurrenceK"], base, c, config["leakChoice"], config["learningResidual"]
        )

    def unet(self, x):
        skips = []
        h = x
        for block, widen in zip(self.down_blocks, self.down_widen):
            h = block(h)
            skips.append(h)
            h = widen(resize_area(h, h.shape[2] // 2))
        h = self.middle(h)
        for narrow, block in zip(self.up_narrow, self.up_blocks):
            skip = skips.pop()
            h = block(resize_nearest(narrow(h), skip.shape[2]) + skip)
        return self.out_conv(F.silu(self.out_norm(h)))

    def forward(self, batch, sampler):
        size, c = self.image_size, self.image_channels
        features = self.input.expand(batch, -1, -1, -1)
        previous = None
        levels = []
        for _ in range(self.levels):
            image = previous if previous is not None else features.new_zeros(batch, c, size, size)
            x = self.in_conv(torch.cat([features, image], 1))
            features = self.unet(x)
            picked, leak = self.ddl(features, previous, sampler)
            levels.append(picked)
            if leak is not None:
                features = add_into_channels(features, leak, features.shape[1] - c)
            previous = picked
        return levels


class PyramidNetwork(nn.Module):
    def __init__(self, config):
        super().__init__()
        c = config["imageChannels"]
        self.image_channels = c
        scales = config["scales"]
        self.sizes = [s["size"] for s in scales]
        self.register_buffer("input", position_embedding(scales[0]["size"], scales[0]["channels"]))
        self.entries = nn.ModuleList()
        self.blocks = nn.ModuleList()
        self.layers = nn.ModuleList()
        previous_channels = scales[0]["channels"]
        for s, scale in enumerate(scales):
            channels = scale["channels"]
            self.entries.append(
                nn.Identity() if s == 0 else Conv(previous_channels, channels, 1)
            )
            self.blocks.append(nn.ModuleList([ResBlock(channels) for _ in range(scale["blocks"])]))
            self.layers.append(
                nn.ModuleList(
                    [Ddl(scale["k"], channels, c, config["leakChoice"], config["learningResidual"])
                     for _ in range(scale["blocks"])]
                )
            )
            previous_channels = channels

    def forward(self, batch, sampler):
        c = self.image_channels
        features = self.input.expand(batch, -1, -1, -1)
        previous = None
        levels = []
        for s, size in enumerate(self.sizes):
            if s > 0:
                features = self.entries[s](resize_nearest(features, size))
            for block, layer in zip(self.blocks[s], self.layers[s]):
                features = block(features)
                picked, leak = layer(features, previous, sampler)
                levels.append(picked)
                features = add_into_channels(features, picked, 0)
                if leak is not None:
                    features = add_into_channels(features, leak, features.shape[1] - c)
                previous = picked
        return levels


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2 == 1:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def timed(warmup, steps, body):
    """Milliseconds of each of `steps` runs of body(), after `warmup` runs."""
    for _ in range(warmup):
        body()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        body()
        times.append((time.perf_counter() - start) * 1000)
    return times


class Twin:
    def __init__(self):
        self.models = {}

    def build(self, command):
        config = command["config"]
        torch.manual_seed(0)
        if config["paradigm"] == "recurrence":
            network = RecurrenceNetwork(config)
        else:
            network = PyramidNetwork(config)
        params = sum(p.numel() for p in network.parameters())
        expected = command["expectedParams"]
        if params != expected:
            raise ValueError(
                f"twin of '{command['name']}' has {params} parameters, "
                f"the TypeScript model has {expected}"
            )
        optimizer = torch.optim.Adam(network.parameters(), lr=command.get("learningRate", 2e-3))
        self.models[command["name"]] = (network, optimizer, config)
        return {"params": params}

    def train(self, command):
        network, optimizer, config = self.models[command["name"]]
        torch.set_num_threads(command["threads"])
        batch = command["batch"]
        size, c = config["imageSize"], config["imageChannels"]
        generator = torch.Generator().manual_seed(1)
        rng = random.Random(1)

        def step():
            images = torch.rand(batch, c, size, size, generator=generator) * 2 - 1
            sampler = Sampler(images, config["chainDropout"], rng)
            optimizer.zero_grad(set_to_none=True)
            levels = network(batch, sampler)
            losses = [F.mse_loss(p, sampler.target_at(p.shape[2])) for p in levels]
            loss = torch.stack(losses).mean()
            loss.backward()
            optimizer.step()
            return loss.item()

        return {"ms": timed(command["warmup"], command["steps"], step)}

    def sample(self, command):
        network, _, _ = self.models[command["name"]]
        torch.set_num_threads(command["threads"])
        batch = command["batch"]

        def run():
            with torch.no_grad():
                image = network(batch, Sampler())[-1]
                return ((image + 1) / 2).clamp(0, 1).numpy()

        return {"ms": timed(command["warmup"], command["steps"], run)}

    def ops(self, command):
        """Median ms of the hot operations at one shape."""
        torch.set_num_threads(command["threads"])
        shape = command["shape"]
        batch, size, channels = shape["batch"], shape["size"], shape["channels"]
        k, c = shape["k"], shape["imageChannels"]
        warmup, steps = command["warmup"], command["steps"]
        generator = torch.Generator().manual_seed(2)
        x = torch.randn(batch, channels, size, size, generator=generator)
        weight = torch.randn(channels, channels, 3, 3, generator=generator) * 0.1
        dy = torch.randn(batch, channels, size, size, generator=generator)
        geometry = ([1, 1], [1, 1], [1, 1], False, [0, 0], 1)

        def backward(mask):
            return torch.ops.aten.convolution_backward(dy, x, weight, None, *geometry, mask)

        with torch.no_grad():
            result = {
                "convForward": median(timed(warmup, steps, lambda: F.conv2d(x, weight, padding=1))),
                "convInputGradient": median(timed(warmup, steps, lambda: backward([True, False, False]))),
                "convFilterGradient": median(timed(warmup, steps, lambda: backward([False, True, False]))),
            }

        torch.manual_seed(3)
        layer = Ddl(k, channels, c, True, False)
        target = torch.rand(batch, c, size, size, generator=generator) * 2 - 1
        with torch.no_grad():
            result["ddlHead"] = median(
                timed(warmup, steps, lambda: layer(x, None, Sampler(target)))
            )
        return result


def main():
    torch.set_num_interop_threads(1)
    twin = Twin()
    handlers = {"build": twin.build, "train": twin.train, "sample": twin.sample, "ops": twin.ops}
    for line in sys.stdin:
        command = json.loads(line)
        if command["cmd"] == "quit":
            break
        try:
            reply = handlers[command["cmd"]](command)
            reply["ok"] = True
        except Exception as error:  # reported to the harness, which stops the run
            reply = {"ok": False, "error": f"{type(error).__name__}: {error}"}
        reply["torch"] = torch.__version__
        reply["threads"] = torch.get_num_threads()
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
