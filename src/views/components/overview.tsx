import * as React from 'react';

import { overviewItems, RunViewModel } from '../runmodel';
import { Section } from './section';

/**
 * The overview facts of a run (status, duration, notebook, cell, git, environment, execution).
 */
export function Overview(props: { model: RunViewModel }): JSX.Element {
  const items = overviewItems(props.model);
  return (
    <Section title="Overview">
      <dl className="jp-mm-overview">
        {items.map(([label, value]) => (
          <React.Fragment key={label}>
            <dt>{label}</dt>
            <dd
              className={value.startsWith('⚠') ? 'jp-mm-warning' : undefined}
              data-label={label}
            >
              {value}
            </dd>
          </React.Fragment>
        ))}
      </dl>
    </Section>
  );
}
