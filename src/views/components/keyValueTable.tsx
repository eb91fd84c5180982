import * as React from 'react';

import { formatValue } from '../metrics';

/**
 * Keys and values as a two-column table of text.
 */
export function KeyValueTable(props: {
  values: Record<string, string | number>;
  empty: string;
}): JSX.Element {
  const keys = Object.keys(props.values).sort();
  if (!keys.length) {
    return <p className="jp-mm-empty">{props.empty}</p>;
  }
  return (
    <table className="jp-mm-table jp-mm-kv">
      <tbody>
        {keys.map(k => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>{formatValue(props.values[k])}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
