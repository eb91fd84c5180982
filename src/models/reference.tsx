/**
 * The version view's "Reference profile" section: what drift monitoring
 * compares each window with (`GET .../versions/{v}/reference`): the row
 * count and digests, per feature its kind, null rate and a few quantiles (or
 * its most frequent levels), and the score distribution.
 *
 * Feature names and category levels are user data: text nodes only.
 */

import * as React from 'react';

import type { IReferenceReply } from '../schema';
import { TableHead } from './components';
import { shortDigest } from './format';

/**
 * The version tag naming the stored profile's SHA-256 (core/registry/reference.py).
 */
export const REFERENCE_TAG = 'mm.reference';

/**
 * The quantile levels summarised per numeric feature.
 */
const SUMMARY_LEVELS: Array<[number, string]> = [
  [0, 'min'],
  [0.25, 'p25'],
  [0.5, 'median'],
  [0.75, 'p75'],
  [1, 'max']
];

/**
 * The most frequent levels listed per categorical feature.
 */
const TOP_LEVELS = 3;

type Json = { [key: string]: unknown };

function asObject(value: unknown): Json | null {
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Json)
    : null;
}

function asNumbers(value: unknown): number[] {
  return Array.isArray(value)
    ? value.map(v => (typeof v === 'number' ? v : NaN))
    : [];
}

/**
 * A number for the profile view: three significant digits, a dash when absent.
 */
export function num(value: unknown): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return value === null || value === undefined ? '—' : String(value);
  }
  return String(Number(value.toPrecision(3)));
}

function percent(value: unknown): string {
  return typeof value === 'number' && Number.isFinite(value)
    ? `${Number((100 * value).toPrecision(3))}%`
    : '—';
}

/**
 * The value of the frozen quantile function at `level`, by linear
 * interpolation between the grid's levels (the profile keeps min, the
 * midpoints of 100 strata and max, so p25 lies between 0.245 and 0.255).
 */
export function quantileAt(
  levels: number[],
  quantiles: number[],
  level: number
): number | null {
  const n = Math.min(levels.length, quantiles.length);
  if (n === 0) {
    return null;
  }
  for (let i = 0; i < n; i++) {
    if (levels[i] >= level) {
      if (i === 0 || levels[i] === level) {
        return quantiles[i];
      }
      const t = (level - levels[i - 1]) / (levels[i] - levels[i - 1]);
      return quantiles[i - 1] + t * (quantiles[i] - quantiles[i - 1]);
    }
  }
  return quantiles[n - 1];
}

/**
 * One feature's (or the score's) distribution in a line of text.
 */
export function featureSummary(feature: Json, levels: number[]): string {
  if (feature.kind === 'categorical') {
    const cats = asObject(feature.categories);
    const names = Array.isArray(cats?.levels)
      ? (cats!.levels as unknown[])
      : [];
    const props = asNumbers(cats?.proportions);
    const shown = names
      .slice(0, TOP_LEVELS)
      .map((level, i) => `${String(level)} ${percent(props[i])}`);
    const more = names.length - shown.length;
    const other = typeof cats?.other === 'number' ? cats.other : 0;
    return [
      ...shown,
      ...(more > 0 ? [`${more} more`] : []),
      ...(other > 0 ? [`other ${other}`] : [])
    ].join(' · ');
  }
  const quantiles = asNumbers(feature.quantiles);
  if (quantiles.length === 0) {
    return 'no non-null values';
  }
  return SUMMARY_LEVELS.map(
    ([level, label]) => `${label} ${num(quantileAt(levels, quantiles, level))}`
  ).join(' · ');
}

function Digest(props: { digest: unknown }): JSX.Element {
  const digest = typeof props.digest === 'string' ? props.digest : null;
  return (
    <code className="jp-mm-digest" title={digest ?? ''}>
      {shortDigest(digest)}
    </code>
  );
}

export function ReferenceProfileView(props: {
  reply: IReferenceReply | null;
  /**
   * Whether the version names a profile (its `mm.reference` tag).
   */
  tagged: boolean;
}): JSX.Element {
  const profile = asObject(props.reply?.profile);
  if (props.tagged && !props.reply) {
    return <p className="jp-mm-dim">Loading…</p>;
  }
  if (!props.reply || !profile) {
    return (
      <p className="jp-mm-dim jp-mm-reference-none">
        No reference profile: mm.set_reference(name, version, data) freezes one
        (mm.register_model does from the run&apos;s logged evaluation dataset).
      </p>
    );
  }
  const options = asObject(profile.options);
  const levels = asNumbers(options?.quantile_levels);
  const features = Object.entries(asObject(profile.features) ?? {});
  const score = asObject(profile.score);
  const perf = asObject(profile.performance);
  return (
    <>
      <dl className="jp-mm-kv jp-mm-reference-facts">
        <dt>Rows</dt>
        <dd>{num(profile.rows)}</dd>
        <dt>Data digest</dt>
        <dd>
          <Digest digest={profile.data_digest} />
        </dd>
        <dt>Profile digest</dt>
        <dd>
          <Digest digest={props.reply.digest} />
        </dd>
        {typeof profile.created === 'string' ? (
          <>
            <dt>Computed</dt>
            <dd>{profile.created}</dd>
          </>
        ) : null}
        <dt>Score</dt>
        <dd className="jp-mm-reference-score">
          {score
            ? `${num(score.count)} scores · mean ${num(score.mean)} · ` +
              featureSummary(score, levels)
            : 'no score distribution'}
        </dd>
        {perf ? (
          <>
            <dt>Performance</dt>
            <dd className="jp-mm-reference-performance">
              {`AUC ${num(perf.auc)} · bad rate ${num(perf.bad_rate)} · ` +
                (asObject(perf.calibration)?.calibrated
                  ? 'calibrated'
                  : 'not calibrated')}
            </dd>
          </>
        ) : null}
      </dl>
      <table
        className="jp-mm-table jp-mm-reference-features"
        aria-label="Reference features"
      >
        <TableHead columns={['Feature', 'Kind', 'Null rate', 'Distribution']} />
        <tbody>
          {features.map(([name, value]) => {
            const f = asObject(value) ?? {};
            return (
              <tr key={name} data-feature={name}>
                <td>{name}</td>
                <td>{String(f.kind ?? '?')}</td>
                <td>{percent(f.null_rate)}</td>
                <td>{featureSummary(f, levels)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}
