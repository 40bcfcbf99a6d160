/**
 * Nearest-node search over K moving 2-D points with a uniform grid of
 * buckets on [−1, 1]². A query scans square rings of cells around its own
 * cell and stops once no unscanned cell can hold a closer node, so it
 * costs about the number of nodes in a few cells, not K. Moving a node
 * updates its bucket in O(1).
 *
 * Nodes outside [−1, 1]² are kept in the nearest edge cell. The search
 * stays exact, because such a node lies beyond its edge cell, so it is at
 * least as far from any query as the ring bound of that cell.
 */
export class NodeGrid {
  readonly xs: Float64Array;
  readonly ys: Float64Array;
  readonly cellsPerSide: number;

  /** Closest node index found by the last search. */
  first = -1;
  /** Second closest node of the last `nearestTwo` call, or −1 when K = 1. */
  second = -1;

  private readonly cellSize: number;
  private readonly cellOfNode: Int32Array;
  private readonly slotOfNode: Int32Array;
  private readonly members: Int32Array[];
  private readonly sizes: Int32Array;

  /**
   * Indexes the nodes in xs, ys ([K] each). The grid keeps these arrays,
   * so positions must change only through `move`.
   */
  constructor(xs: Float64Array, ys: Float64Array, cellsPerSide?: number) {
    const k = xs.length;
    this.xs = xs;
    this.ys = ys;
    // About two nodes per cell on average by default.
    this.cellsPerSide =
      cellsPerSide ?? Math.max(1, Math.round(Math.sqrt(k / 2)));
    this.cellSize = 2 / this.cellsPerSide;

    const cellCount = this.cellsPerSide * this.cellsPerSide;
    this.members = [];
    for (let cell = 0; cell < cellCount; cell++) {
      this.members.push(new Int32Array(4));
    }
    this.sizes = new Int32Array(cellCount);
    this.cellOfNode = new Int32Array(k);
    this.slotOfNode = new Int32Array(k);
    for (let node = 0; node < k; node++) {
      this.insert(node, this.cellAt(xs[node]!, ys[node]!));
    }
  }

  /** Moves one node and updates its bucket. */
  move(node: number, x: number, y: number): void {
    this.xs[node] = x;
    this.ys[node] = y;
    const cell = this.cellAt(x, y);
    if (cell !== this.cellOfNode[node]) {
      this.remove(node);
      this.insert(node, cell);
    }
  }

  /** Returns the index of the node closest (L2) to (x, y). */
  nearest(x: number, y: number): number {
    this.search(x, y, false);
    return this.first;
  }

  /** Finds the two closest nodes; read them from `first` and `second`. */
  nearestTwo(x: number, y: number): void {
    this.search(x, y, true);
  }

  private search(x: number, y: number, wantSecond: boolean): void {
    const side = this.cellsPerSide;
    const cellSize = this.cellSize;
    const xs = this.xs;
    const ys = this.ys;
    const centreCol = this.axisCell(x);
    const centreRow = this.axisCell(y);

    let first = -1;
    let second = -1;
    let firstDistance = Infinity;
    let secondDistance = Infinity;

    for (let ring = 0; ; ring++) {
      const low = -ring;
      const high = ring;

      // Scan the cells at Chebyshev distance `ring` from the centre cell.
      for (let dRow = low; dRow <= high; dRow++) {
        const row = centreRow + dRow;
        if (row < 0 || row >= side) {
          continue;
        }
        // Inner rows of the ring contribute only their two end cells.
        const onEdgeRow = dRow === low || dRow === high;
        const colStep = onEdgeRow ? 1 : high - low;
        for (let dCol = low; dCol <= high; dCol += colStep) {
          const col = centreCol + dCol;
          if (col < 0 || col >= side) {
            continue;
          }
          const cell = row * side + col;
          const nodes = this.members[cell]!;
          const size = this.sizes[cell]!;
          for (let slot = 0; slot < size; slot++) {
            const node = nodes[slot]!;
            const dx = xs[node]! - x;
            const dy = ys[node]! - y;
            const distance = dx * dx + dy * dy;
            if (distance < firstDistance) {
              second = first;
              secondDistance = firstDistance;
              first = node;
              firstDistance = distance;
            } else if (distance < secondDistance) {
              second = node;
              secondDistance = distance;
            }
          }
        }
      }

      // Distance from the query to the nearest unscanned cell. A side of
      // the scanned square that reaches the grid edge has nothing beyond.
      let bound = Infinity;
      if (centreCol - ring > 0) {
        bound = Math.min(bound, x - (-1 + (centreCol - ring) * cellSize));
      }
      if (centreCol + ring < side - 1) {
        bound = Math.min(bound, -1 + (centreCol + ring + 1) * cellSize - x);
      }
      if (centreRow - ring > 0) {
        bound = Math.min(bound, y - (-1 + (centreRow - ring) * cellSize));
      }
      if (centreRow + ring < side - 1) {
        bound = Math.min(bound, -1 + (centreRow + ring + 1) * cellSize - y);
      }
      const needed = wantSecond ? secondDistance : firstDistance;
      if (bound === Infinity || (bound > 0 && needed <= bound * bound)) {
        break;
      }
    }
    this.first = first;
    this.second = second;
  }

  private axisCell(value: number): number {
    const index = Math.floor((value + 1) / this.cellSize);
    if (index < 0) {
      return 0;
    }
    return index >= this.cellsPerSide ? this.cellsPerSide - 1 : index;
  }

  private cellAt(x: number, y: number): number {
    return this.axisCell(y) * this.cellsPerSide + this.axisCell(x);
  }

  private insert(node: number, cell: number): void {
    let nodes = this.members[cell]!;
    const size = this.sizes[cell]!;
    if (size === nodes.length) {
      const grown = new Int32Array(nodes.length * 2);
      grown.set(nodes);
      this.members[cell] = grown;
      nodes = grown;
    }
    nodes[size] = node;
    this.sizes[cell] = size + 1;
    this.cellOfNode[node] = cell;
    this.slotOfNode[node] = size;
  }

  /** Removes a node from its bucket by moving the bucket's last node in. */
  private remove(node: number): void {
    const cell = this.cellOfNode[node]!;
    const slot = this.slotOfNode[node]!;
    const nodes = this.members[cell]!;
    const last = this.sizes[cell]! - 1;
    const moved = nodes[last]!;
    nodes[slot] = moved;
    this.slotOfNode[moved] = slot;
    this.sizes[cell] = last;
  }
}
