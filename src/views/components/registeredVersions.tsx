import * as React from 'react';

import type { IRunModelsReply } from '../../schema';
import { formatTime } from '../../format';

/**
 * The model versions registered from the run, each a link to its version
 * view (names are user text: rendered as text).
 */
export function RegisteredVersions(props: {
  versions: IRunModelsReply['versions'];
  openVersion?: (name: string, version: number) => void;
}): JSX.Element {
  const { versions, openVersion } = props;
  if (!versions.length) {
    return <p className="jp-mm-empty">No version registered from this run.</p>;
  }
  return (
    <ul className="jp-mm-plain-list jp-mm-registered-versions">
      {versions.map(v => (
        <li key={`${v.name}/${v.version}`}>
          {openVersion ? (
            <a
              href="#"
              className="jp-mm-link"
              onClick={e => {
                e.preventDefault();
                openVersion(v.name, v.version);
              }}
            >
              {`${v.name} v${v.version}`}
            </a>
          ) : (
            `${v.name} v${v.version}`
          )}
          <span className="jp-mm-dim">
            {` registered ${formatTime(new Date(v.creation_time))}`}
            {v.user_id ? ` by ${v.user_id}` : ''}
            {v.logged_model_id ? ` from ${v.logged_model_id}` : ''}
          </span>
        </li>
      ))}
    </ul>
  );
}
