import { LabIcon } from '@jupyterlab/ui-components';

/**
 * A rising metric curve over a baseline: the jupyter-mm sidebar icon.
 * `jp-icon3` lets the theme pick the colour.
 */
const MM_ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M3 19h18v2H3z"/>
    <path d="M4.4 16.6 3 15.2l5.3-5.3 3.5 3.5 5.9-6.6 1.5 1.3-7.3 8.2-3.6-3.6z"/>
    <circle cx="19.5" cy="6" r="2"/>
  </g>
</svg>`;

export const mmIcon = new LabIcon({
  name: 'jupyter-mm:sidebar',
  svgstr: MM_ICON_SVG
});

/**
 * A tagged box: the registry sidebar's icon.
 */
const REGISTRY_ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M12 2 3 6.5v11L12 22l9-4.5v-11zm0 2.2 6.6 3.3L12 10.8 5.4 7.5zM5 9.1l6 3v7.3l-6-3zm8 10.3v-7.3l6-3v7.3z"/>
  </g>
</svg>`;

export const registryIcon = new LabIcon({
  name: 'jupyter-mm:registry',
  svgstr: REGISTRY_ICON_SVG
});
