import * as React from 'react';

import { IChartSettings } from '../chart';
import { RunViewModel } from '../runmodel';
import { ChartControls, ChartView } from '../widgets';
import { KeyValueTable } from './keyValueTable';
import { Section } from './section';

/**
 * A run's latest metric values and one live chart per metric key.
 */
export function MetricsSection(props: { model: RunViewModel }): JSX.Element {
  const { model } = props;
  const run = model.run!;
  const [settings, setSettings] = React.useState<IChartSettings>({
    axis: 'step',
    smoothing: 0,
    logY: false
  });
  const keys = Object.keys(run.metrics).sort();
  return (
    <Section title="Metrics" count={keys.length}>
      {keys.length === 0 ? (
        <p className="jp-mm-empty">No metrics.</p>
      ) : (
        <>
          <ChartControls settings={settings} onChange={setSettings} />
          <KeyValueTable values={run.metrics} empty="" />
          <div className="jp-mm-charts">
            {keys.map(key => (
              <ChartView
                key={key}
                api={model.api}
                runIds={[run.id]}
                keys={[key]}
                title={key}
                startTimes={{ [run.id]: run.start_time }}
                settings={settings}
                tick={model.metricsTick}
              />
            ))}
          </div>
        </>
      )}
    </Section>
  );
}
