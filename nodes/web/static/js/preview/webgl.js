// Can this browser draw WebGL at all? Checked before three.js is loaded, so a machine without a
// GPU gets a clear message on the page instead of an exception in the console.
export function webglAvailable() {
  try {
    const c = document.createElement('canvas');
    const gl = c.getContext('webgl2') || c.getContext('webgl');
    // Give the probe context back at once; browsers cap how many may exist.
    if (gl) gl.getExtension('WEBGL_lose_context')?.loseContext();
    return !!gl;
  } catch {
    return false;
  }
}
