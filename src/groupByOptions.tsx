import * as React from 'react';

import { columnLabel } from './columns';

/**
 * The options of a "Group by" picker: None, then each group key (a param or
 * tag column id) as `param lr` / `tag team`. Labels are text nodes.
 */
export function GroupByOptions(props: {
  keys: ReadonlyArray<string>;
}): JSX.Element {
  return (
    <>
      <option value="">None</option>
      {props.keys.map(id => (
        <option key={id} value={id}>
          {`${id.startsWith('tags.') ? 'tag' : 'param'} ${columnLabel(id)}`}
        </option>
      ))}
    </>
  );
}
