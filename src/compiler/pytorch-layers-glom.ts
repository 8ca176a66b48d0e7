/**
 * The PyTorch export of GLOM's layers (Hinton, 2021): the columns' learned starting levels, one GLOM
 * iteration (bottom-up and top-down networks, the column's position, cosine-consensus attention over
 * the other columns) and the layout of per-column patches back into an image. Each becomes a
 * readable nn.Module (or function) of model.py, below, with the weight names and shapes of its tfjs
 * layer in src/runtime/layers (glom-levels, glom-update, patches-to-image), so that weights.py moves
 * them both ways; the modules compute what those layers compute, in the same order of operations,
 * with the same epsilons, scale and mask value.
 *
 * Layout: the export holds every rank-4 value as an image (N, C, H, W), so GLOM's level embeddings
 * (N, columns, levels, width) travel as (N, width, columns, levels). The modules work in GLOM's own
 * order and the emitters permute at their edges, as the export does for Dense on an image.
 *
 * Iterations: the glom template applies its update network several times with the same weights. In
 * PyTorch that is one GlomUpdate module called N times (its docstring shows the loop); the export
 * writes the update network once, as its own folder.
 *
 * Registered in ./pytorch-layers (LAYER_EMITTERS, HELPERS). Only types come from there, so that this
 * module can load before it. No document string reaches the code: the emitters write numbers
 * (pyLiteral) and fixed words only.
 */
import { pyLiteral } from './escape-python';
import type { LayerContext, PyValue } from './pytorch-layers';

/** The Python helpers these layers need in model.py (their names are reserved there). */
export type GlomHelperName = 'GlomLevels' | 'GlomLevelNetworks' | 'GlomUpdate' | 'patches_to_image';

type GlomContext = Omit<LayerContext, 'helper'> & { helper: (name: GlomHelperName) => void };
type GlomEmitter = (config: Record<string, unknown>, inputs: PyValue[], out: PyValue, ctx: GlomContext) => string;

const numberOr = (value: unknown, fallback: number) => (value === undefined || value === null ? fallback : Number(value));
/** A rank-4 value, held (N, C, H, W) by the export, in GLOM's (N, columns, levels, width) and back. */
const toGlomOrder = (x: string) => `${x}.permute(0, 2, 3, 1)`;
const toExportOrder = (x: string) => `${x}.permute(0, 3, 1, 2)`;

/** One level network's weights (Dense → GELU → Dense, stacked over `groups` levels), in the tfjs layer's build order. */
function levelNetworkWeights(ctx: GlomContext, tfjs: string, torch: string, groups: number, width: number, hidden: number): void {
  ctx.weight(`${tfjs}/kernel1`, `${torch}.kernel1`, 'copy', [groups, width, hidden]);
  ctx.weight(`${tfjs}/bias1`, `${torch}.bias1`, 'copy', [groups, 1, hidden]);
  ctx.weight(`${tfjs}/kernel2`, `${torch}.kernel2`, 'copy', [groups, hidden, width]);
  ctx.weight(`${tfjs}/bias2`, `${torch}.bias2`, 'copy', [groups, 1, width]);
}

/**
 * The emitters by tfjs class. `refuse` makes the export's error (PytorchExportError, which lives in
 * ./pytorch-layers: passed in rather than imported, so that no value import makes a cycle).
 */
export const glomEmitters = (refuse: (message: string) => Error): Record<string, GlomEmitter> => ({
  PatchbayGlomLevels(config, [x], _out, ctx) {
    const width = x!.shape[1]!;
    const levels = numberOr(config.levels, 3);
    ctx.helper('GlomLevels');
    ctx.init(`self.${ctx.attr} = GlomLevels(${pyLiteral(levels)}, ${width})`);
    ctx.weight('start', 'start', 'copy', [levels, width]);
    return toExportOrder(`self.${ctx.attr}(${x!.name})`);
  },

  PatchbayGlomUpdate(config, [levels, patches], _out, ctx) {
    const [columns, count, width] = levels!.shape as [number, number, number];
    const hidden = Number(config.hiddenUnits ?? 64);
    const sharpness = numberOr(config.sharpness, 8);
    const radius = numberOr(config.radius, 0);
    const side = Math.round(Math.sqrt(columns));
    // The tfjs layer refuses this when it builds; so does the export, rather than write a model that fails.
    if (radius > 0 && side * side !== columns) throw refuse(`GLOM update's radius needs a square grid of columns, got ${columns} columns.`);
    ctx.helper('GlomLevelNetworks');
    ctx.helper('GlomUpdate');
    ctx.init(
      `self.${ctx.attr} = GlomUpdate(${columns}, ${count}, ${width}, ${pyLiteral(hidden)}, sharpness=${pyLiteral(sharpness)}${
        radius > 0 ? `, radius=${pyLiteral(radius)}` : ''
      })`,
    );
    // tfjs's build order: the bottom-up networks, the top-down ones (none with a single level), the positions.
    levelNetworkWeights(ctx, 'bottomUp', 'bottom_up', count, width, hidden);
    if (count > 1) levelNetworkWeights(ctx, 'topDown', 'top_down', count - 1, width, hidden);
    ctx.weight('position', 'position', 'copy', [columns, width]);
    return toExportOrder(`self.${ctx.attr}(${toGlomOrder(levels!.name)}, ${patches!.name})`);
  },

  PatchbayPatchesToImage(config, [x], _out, ctx) {
    ctx.helper('patches_to_image');
    return `patches_to_image(${x!.name}, ${pyLiteral(Number(config.patchSize))}, ${pyLiteral(numberOr(config.channels, 1))})`;
  },
});

export const GLOM_HELPERS: Record<GlomHelperName, string> = {
  GlomLevels: `class GlomLevels(nn.Module):
    """GLOM's starting state: patch embeddings (N, columns, width) in, (N, columns, levels, width)
    out, every column starting each level from the same learned vector (as lucidrains/glom-pytorch's
    init_levels). The patch embeddings give only the batch and the columns here: what a column sees
    of its patch reaches level 1 through the first iteration's bottom-up network."""

    def __init__(self, levels, width):
        super().__init__()
        self.start = nn.Parameter(torch.randn(levels, width))

    def forward(self, patches):
        # (N, columns, 1, width) * 0 + (levels, width): the start broadcast to every column, a new
        # tensor (not a view of the parameter), as the graph computes it.
        return patches.unsqueeze(2) * 0 + self.start`,
  GlomLevelNetworks: `class GlomLevelNetworks(nn.Module):
    """One Dense -> GELU -> Dense network per level, every column sharing its level's network. The
    weights are stacked on a first axis, one slice per level, as the graph's GLOM update holds them:
    kernel1 (levels, width, hidden), bias1 (levels, 1, hidden), kernel2 (levels, hidden, width), bias2
    (levels, 1, width). GELU is the sigmoid approximation x * sigmoid(1.702 x), as the graph computes
    it. Input and output (levels, rows, width): level l's rows go through network l."""

    def __init__(self, levels, width, hidden):
        super().__init__()
        self.kernel1 = nn.Parameter(torch.empty(levels, width, hidden))
        self.bias1 = nn.Parameter(torch.zeros(levels, 1, hidden))
        self.kernel2 = nn.Parameter(torch.empty(levels, hidden, width))
        self.bias2 = nn.Parameter(torch.zeros(levels, 1, width))
        # Glorot uniform as tfjs computes it for a stacked kernel: both fans count every level.
        bound = math.sqrt(6 / (levels * (width + hidden)))
        nn.init.uniform_(self.kernel1, -bound, bound)
        nn.init.uniform_(self.kernel2, -bound, bound)

    def forward(self, x):
        hidden = torch.matmul(x, self.kernel1) + self.bias1
        return torch.matmul(hidden * torch.sigmoid(1.702 * hidden), self.kernel2) + self.bias2`,
  GlomUpdate: `class GlomUpdate(nn.Module):
    """One GLOM iteration (Hinton, 2021, "How to represent part-whole hierarchies in a neural
    network"), as the graph's GLOM update computes it. Inputs: the level embeddings (N, columns,
    levels, width) and the patch embeddings (N, columns, width), level 0 and fixed; output: the next
    level embeddings. Each level's new embedding is the mean of four contributions, in this order
    (three at the top level, which has nothing above it):

    - its own previous state;
    - the bottom-up network of the level below (the patch embedding below level 1);
    - the top-down network of the level above plus a learned embedding of the column's position;
    - the same level of the other columns of the image, weighted by softmax over columns of
      sharpness * cos(e_i, e_j) (a column does not attend to itself; with a radius, nor to columns
      more than radius grid steps away).

    The networks read their input layer-normalised without a learned scale or offset (epsilon 1e-5).
    Iterations share their weights: apply one module several times,

        update = GlomUpdate(columns, levels, width, hidden)
        for _ in range(iterations):
            levels = update(levels, patches)

    as the glom template's procedures apply its update network."""

    def __init__(self, columns, levels, width, hidden, sharpness=8, radius=0):
        super().__init__()
        self.sharpness = sharpness
        self.radius = radius
        self.bottom_up = GlomLevelNetworks(levels, width, hidden)
        self.top_down = GlomLevelNetworks(levels - 1, width, hidden) if levels > 1 else None
        self.position = nn.Parameter(torch.randn(columns, width) * 0.02)

    @staticmethod
    def normalise(x):
        mean = x.mean(dim=-1, keepdim=True)
        variance = (x - mean).square().mean(dim=-1, keepdim=True)
        return (x - mean) / torch.sqrt(variance + 1e-5)

    def consensus_mask(self, columns, like):
        """-1e9 where column i may not attend to column j (itself, or beyond the radius), 0 elsewhere."""
        blocked = torch.eye(columns, dtype=torch.bool, device=like.device)
        if self.radius > 0:
            side = math.isqrt(columns)
            index = torch.arange(columns, device=like.device)
            row, col = index // side, index % side
            steps = torch.maximum((row[:, None] - row[None, :]).abs(), (col[:, None] - col[None, :]).abs())
            blocked = blocked | (steps > self.radius)
        return torch.zeros(columns, columns, dtype=like.dtype, device=like.device).masked_fill(blocked, -1e9)

    def forward(self, levels, patches):
        n, columns, count, width = levels.shape
        rows = n * columns
        # Levels first, (levels, N * columns, width): level l's rows go through level l's networks.
        by_level = levels.permute(2, 0, 1, 3).reshape(count, rows, width)
        below = torch.cat([patches.reshape(1, rows, width), by_level[:-1]], dim=0)
        total = by_level + self.bottom_up(self.normalise(below))
        if self.top_down is not None:
            above = (by_level[1:].reshape(count - 1, n, columns, width) + self.position).reshape(count - 1, rows, width)
            top_down = self.top_down(self.normalise(above))
            total = total + torch.cat([top_down, top_down.new_zeros(1, rows, width)], dim=0)
        # Consensus: each column's level attends to the same level of the other columns of its image.
        per_image = by_level.reshape(count * n, columns, width)
        unit = per_image / torch.sqrt(per_image.square().sum(dim=-1, keepdim=True) + 1e-12)
        scores = unit @ unit.transpose(1, 2) * self.sharpness + self.consensus_mask(columns, per_image)
        total = total + (scores.softmax(dim=-1) @ per_image).reshape(count, rows, width)
        contributions = torch.full((count, 1, 1), 4.0, dtype=total.dtype, device=total.device)
        contributions[-1] = 3.0
        return (total / contributions).reshape(count, n, columns, width).permute(1, 2, 0, 3)`,
  patches_to_image: `def patches_to_image(x, patch_size, channels):
    """Lays a square grid of patches back out as an image, as the graph's Patches to image:
    (N, g * g, p * p * c) -> (N, c, g * p, g * p). Column k is patch row k // g, patch column k % g,
    and each patch's values run row by row, channels last (the order a p x p, stride p convolution
    reads them in). No weights."""
    n, columns, _ = x.shape
    g, p = math.isqrt(columns), patch_size
    # (N * patch row, patch column, pixel row, pixel column * channel) -> swap the middle two -> rows of pixels.
    rows = x.reshape(n * g, g, p, p * channels).transpose(1, 2)
    return rows.reshape(n, g * p, g * p, channels).permute(0, 3, 1, 2)`,
};
