import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

import { DdnError } from '../errors.js';
import { formatTick, linearTicks, logTicks, type Axis } from './ticks.js';

/** One named line of the chart, such as the training loss of one level. */
export interface LossSeries {
  name: string;
  values: { step: number; value: number }[];
}

/** Labels, scale and size of a loss chart. */
export interface LossCurveOptions {
  title?: string;
  /** Draws the y axis on a log10 scale; defaults to false. */
  logY?: boolean;
  /** Chart width in pixels; defaults to 720. */
  width?: number;
  /** Chart height in pixels; defaults to 420. */
  height?: number;
  /** Defaults to "step". */
  xLabel?: string;
  /** Defaults to "loss". */
  yLabel?: string;
}

// The ten colours of the Tableau 10 palette, reused in order.
const COLOURS = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd',
  '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf',
];
const FONT_SIZE = 12;
// Rough width of one character at FONT_SIZE in a sans-serif font.
const CHARACTER_WIDTH = 7;

/**
 * Writes a line chart of the series as a standalone SVG file, creating the
 * parent folder if needed. See renderLossCurveSvg for what is drawn.
 */
export async function writeLossCurveSvg(
  path: string,
  series: LossSeries[],
  options: LossCurveOptions = {},
): Promise<void> {
  const svg = renderLossCurveSvg(series, options);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, svg, 'utf8');
}

/**
 * Renders the series as an SVG line chart with axes, grid lines, tick
 * labels, axis labels, an optional title and a legend to the right of the
 * plot. Points with a non-finite step or value are skipped, and so are
 * values <= 0 on a log scale. A series with more than two points per pixel
 * column is thinned to the minimum and maximum of each column, which keeps
 * spikes visible.
 */
export function renderLossCurveSvg(
  series: LossSeries[],
  options: LossCurveOptions = {},
): string {
  const {
    title,
    logY = false,
    width = 720,
    height = 420,
    xLabel = 'step',
    yLabel = 'loss',
  } = options;
  if (!(width >= 200 && height >= 150)) {
    throw new DdnError(
      `writeLossCurveSvg: invalid size ${width}x${height}; expected at ` +
        'least 200x150 pixels',
    );
  }

  // Keep drawable points, sorted by step.
  const lines = series.map((line) => ({
    name: line.name,
    points: line.values
      .filter(({ step, value }) =>
        Number.isFinite(step) && Number.isFinite(value) && (!logY || value > 0))
      .sort((a, b) => a.step - b.step),
  }));
  const allPoints = lines.flatMap((line) => line.points);

  // Plot area: room for tick labels on the left, the legend on the right.
  const longestName = Math.max(0, ...lines.map((line) => line.name.length));
  const legendWidth = lines.length > 0 ? 40 + longestName * CHARACTER_WIDTH : 0;
  const plot = {
    left: 72,
    top: title ? 36 : 16,
    right: width - 16 - legendWidth,
    bottom: height - 48,
  };

  // Axes and their ticks.
  const xAxis = linearTicks(allPoints.map((point) => point.step));
  const yValues = allPoints.map((point) => point.value);
  const yAxis = logY ? logTicks(yValues) : linearTicks(yValues);
  const toX = (step: number) =>
    plot.left + ((step - xAxis.min) / (xAxis.max - xAxis.min)) * (plot.right - plot.left);
  const toY = (value: number) => {
    const position = logY ? Math.log10(value) : value;
    const low = logY ? Math.log10(yAxis.min) : yAxis.min;
    const high = logY ? Math.log10(yAxis.max) : yAxis.max;
    return plot.bottom - ((position - low) / (high - low)) * (plot.bottom - plot.top);
  };

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="${FONT_SIZE}">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
  );
  if (title) {
    parts.push(text(width / 2, 22, title, 'middle', 'font-size="14" font-weight="bold"'));
  }
  parts.push(...drawXAxis(xAxis, toX, plot), ...drawYAxis(yAxis, toY, plot));
  parts.push(
    `<rect x="${plot.left}" y="${plot.top}" width="${plot.right - plot.left}" ` +
      `height="${plot.bottom - plot.top}" fill="none" stroke="#333"/>`,
    text((plot.left + plot.right) / 2, height - 12, xLabel, 'middle'),
    text(16, (plot.top + plot.bottom) / 2, logY ? `${yLabel} (log scale)` : yLabel,
      'middle', `transform="rotate(-90 16 ${(plot.top + plot.bottom) / 2})"`),
  );
  if (allPoints.length === 0) {
    const centreX = (plot.left + plot.right) / 2;
    const centreY = (plot.top + plot.bottom) / 2;
    parts.push(text(centreX, centreY, 'no data', 'middle', 'fill="#777"'));
  }

  // One polyline per series, then the legend.
  lines.forEach((line, index) => {
    const colour = COLOURS[index % COLOURS.length]!;
    const pixels = thinToPixelColumns(
      line.points.map((point) => [toX(point.step), toY(point.value)] as const),
    );
    if (pixels.length === 1) {
      const [x, y] = pixels[0]!;
      parts.push(`<circle cx="${round(x)}" cy="${round(y)}" r="2.5" fill="${colour}"/>`);
    } else if (pixels.length > 1) {
      const coordinates = pixels.map(([x, y]) => `${round(x)},${round(y)}`).join(' ');
      parts.push(
        `<polyline fill="none" stroke="${colour}" stroke-width="1.5" ` +
          `points="${coordinates}"/>`,
      );
    }
    const legendY = plot.top + 8 + index * 18;
    const legendX = plot.right + 16;
    parts.push(
      `<line x1="${legendX}" y1="${legendY}" x2="${legendX + 20}" y2="${legendY}" ` +
        `stroke="${colour}" stroke-width="2"/>`,
      text(legendX + 26, legendY + 4, line.name, 'start'),
    );
  });

  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

type Plot = { left: number; top: number; right: number; bottom: number };

function drawXAxis(axis: Axis, toX: (step: number) => number, plot: Plot): string[] {
  return axis.ticks.flatMap((tick) => {
    const x = round(toX(tick));
    return [
      `<line x1="${x}" y1="${plot.top}" x2="${x}" y2="${plot.bottom + 4}" stroke="#ddd"/>`,
      text(x, plot.bottom + 18, formatTick(tick, axis.spacing), 'middle'),
    ];
  });
}

function drawYAxis(axis: Axis, toY: (value: number) => number, plot: Plot): string[] {
  return axis.ticks.flatMap((tick) => {
    const y = round(toY(tick));
    return [
      `<line x1="${plot.left - 4}" y1="${y}" x2="${plot.right}" y2="${y}" stroke="#ddd"/>`,
      text(plot.left - 8, y + 4, formatTick(tick, axis.spacing), 'end'),
    ];
  });
}

/**
 * Reduces a polyline to at most two points per pixel column (the lowest and
 * highest, in their original order) once it has more than two per column
 * on average. Input must be sorted by x.
 */
function thinToPixelColumns(
  points: (readonly [number, number])[],
): (readonly [number, number])[] {
  if (points.length === 0) return points;
  const columnCount = points[points.length - 1]![0] - points[0]![0] + 1;
  if (points.length <= 2 * columnCount) return points;

  const output: (readonly [number, number])[] = [];
  let start = 0;
  while (start < points.length) {
    const column = Math.floor(points[start]![0]);
    let end = start;
    let lowest = start;
    let highest = start;
    while (end < points.length && Math.floor(points[end]![0]) === column) {
      if (points[end]![1] < points[lowest]![1]) lowest = end;
      if (points[end]![1] > points[highest]![1]) highest = end;
      end++;
    }
    for (const index of [...new Set([lowest, highest])].sort((a, b) => a - b)) {
      output.push(points[index]!);
    }
    start = end;
  }
  return output;
}

function text(
  x: number,
  y: number,
  content: string,
  anchor: 'start' | 'middle' | 'end',
  extra = '',
): string {
  const attributes = extra ? ` ${extra}` : '';
  const position = `x="${round(x)}" y="${round(y)}" text-anchor="${anchor}"`;
  return `<text ${position}${attributes}>${escapeXml(content)}</text>`;
}

function escapeXml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
