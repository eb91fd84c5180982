import * as React from 'react';

import { TableHead } from '../../models/components';
import { IDataset } from '../../schema';

/**
 * The datasets a run used.
 */
export function DatasetsTable(props: { datasets: IDataset[] }): JSX.Element {
  if (!props.datasets.length) {
    return <p className="jp-mm-empty">No datasets recorded.</p>;
  }
  return (
    <table className="jp-mm-table">
      <TableHead columns={['name', 'context', 'rows', 'digest', 'source']} />
      <tbody>
        {props.datasets.map(d => (
          <tr key={`${d.name}/${d.digest}/${d.context}`}>
            <td>{d.name}</td>
            <td>{d.context}</td>
            <td>{d.row_count ?? '—'}</td>
            <td>
              <code title={d.digest}>{d.digest.slice(0, 12)}</code>
            </td>
            <td>{d.source}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
