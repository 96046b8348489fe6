// Small inline SVG charts for the dashboard, built with createElementNS (no markup strings).

import { s } from '../dom.js';
import { num, t } from '../i18n.js';

/** Horizontal bars: [{label, value}]. */
export function barChart(rows, { title, width = 320 } = {}) {
  const bar = 20;
  const gap = 8;
  const labelW = 110;
  const max = Math.max(1, ...rows.map((r) => r.value));
  const height = rows.length * (bar + gap) + gap;
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, width: '100%', role: 'img', 'aria-label': title, class: 'chart' },
    s('title', {}, title));
  if (rows.length === 0) {
    svg.setAttribute('viewBox', `0 0 ${width} 40`);
    svg.append(s('text', { x: 0, y: 24, class: 'chart-label' }, t('chart_no_data')));
    return svg;
  }
  rows.forEach((r, i) => {
    const y = gap + i * (bar + gap);
    const w = Math.max(1, ((width - labelW - 60) * r.value) / max);
    svg.append(
      s('text', { x: 0, y: y + bar * 0.7, class: 'chart-label' }, r.label.length > 16 ? `${r.label.slice(0, 15)}…` : r.label),
      s('rect', { x: labelW, y, width: w, height: bar, rx: 3, class: 'chart-bar' }),
      s('text', { x: labelW + w + 6, y: y + bar * 0.7, class: 'chart-value' }, num(r.value)));
  });
  return svg;
}

/** A line over time: [{t: ms, value}]. */
export function lineChart(points, { title, width = 320, height = 120 } = {}) {
  const pad = 24;
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, width: '100%', role: 'img', 'aria-label': title, class: 'chart' },
    s('title', {}, title));
  svg.append(s('line', { x1: pad, y1: height - pad, x2: width - 4, y2: height - pad, class: 'chart-axis' }));
  if (points.length < 2) {
    svg.append(s('text', { x: pad, y: height / 2, class: 'chart-label' }, t('chart_collecting')));
    return svg;
  }
  const max = Math.max(1, ...points.map((p) => p.value));
  const t0 = points[0].t;
  const span = Math.max(1, points[points.length - 1].t - t0);
  const xy = points.map((p) => [pad + ((width - pad - 8) * (p.t - t0)) / span, height - pad - ((height - 2 * pad) * p.value) / max]);
  svg.append(
    s('polyline', { points: xy.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' '), class: 'chart-line' }),
    s('text', { x: 2, y: pad - 6, class: 'chart-value' }, num(max)),
    s('text', { x: 2, y: height - pad + 4, class: 'chart-value' }, '0'));
  return svg;
}
