// What the server told the page in the HTML shell: where the assets are, which optional features are wired,
// the court's time zone.

export function meta(name) {
  return document.querySelector(`meta[name="${name}"]`)?.content || '';
}

const assets = meta('parley-assets');
const features = new Set(meta('parley-features').split(/\s+/).filter(Boolean));

// assetURL returns the URL of an embedded file of this build.
export const assetURL = (path) => `${assets}/${path}`;

// hasFeature reports whether an optional feature (rooms, signing) is wired on this server.
export const hasFeature = (name) => !name || features.has(name);
