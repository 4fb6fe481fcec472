// The 3D view: the zone box and its entities in the coordinates the Minecraft plugin uses
// (WIRE.md 1.3): x, y, z are 0-1 fractions of the zone size, y = 0 is the floor, `scale` is the
// edge of a block display in blocks, centred on its position (the plugin offsets each display by
// half its scale). One InstancedMesh draws every entity in a single call.
import * as THREE from 'three';
import { OrbitControls } from 'three/addons/OrbitControls.js';
import { BANDS } from '../protocol.js';

const BAND_COLORS = BANDS.map((b) => new THREE.Color(b.color));
const WHITE = new THREE.Color(0xffffff);
const MAX_ENTITIES = 1024;
// Display entities interpolate over 2 ticks (100 ms) in Minecraft; ease towards targets similarly
// so the preview moves like the real thing rather than jumping at the 60 Hz frame rate.
const EASE_S = 0.05;

export class PreviewScene {
  constructor(container) {
    this.container = container;
    this.size = new THREE.Vector3(10, 10, 10);
    this.renderer = new THREE.WebGLRenderer({ antialias: true, powerPreference: 'high-performance' });
    this.renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
    this.renderer.setClearColor(0x05060d, 1);
    container.append(this.renderer.domElement);

    this.scene = new THREE.Scene();
    this.scene.fog = new THREE.Fog(0x05060d, 40, 110);
    this.camera = new THREE.PerspectiveCamera(50, 1, 0.1, 500);
    this.controls = new OrbitControls(this.camera, this.renderer.domElement);
    this.controls.enableDamping = true;
    this.controls.minDistance = 3;
    this.controls.maxDistance = 120;
    this.controls.maxPolarAngle = Math.PI * 0.495; // stay above the floor
    this.controls.autoRotateSpeed = 0.6;

    this.ambient = new THREE.AmbientLight(0xffffff, 0.9);
    this.key = new THREE.DirectionalLight(0xffffff, 1.5);
    this.key.position.set(8, 20, 12);
    this.scene.add(this.ambient, this.key);

    this.zone = new THREE.Group();
    this.scene.add(this.zone);

    const geometry = new THREE.BoxGeometry(1, 1, 1);
    const material = new THREE.MeshLambertMaterial({ color: 0xffffff });
    this.mesh = new THREE.InstancedMesh(geometry, material, MAX_ENTITIES);
    this.mesh.instanceMatrix.setUsage(THREE.DynamicDrawUsage);
    this.mesh.count = 0;
    this.mesh.frustumCulled = false;
    this.zone.add(this.mesh);

    // Per-entity eased state: [x, y, z, scale, rotationDeg] in world units.
    this.cur = new Float32Array(MAX_ENTITIES * 5);
    this.tgt = new Float32Array(MAX_ENTITIES * 5);
    this.band = new Uint8Array(MAX_ENTITIES);
    this.bright = new Float32Array(MAX_ENTITIES).fill(1);
    this.count = 0;
    this.visibleCount = 0;
    this.flash = 0;
    this.frameCount = 0;
    this._m = new THREE.Matrix4();
    this._q = new THREE.Quaternion();
    this._p = new THREE.Vector3();
    this._s = new THREE.Vector3();
    this._c = new THREE.Color();
    this._yAxis = new THREE.Vector3(0, 1, 0);

    this._buildZone();
    this.resetCamera();
    this._resize = () => this.resize();
    window.addEventListener('resize', this._resize);
    new ResizeObserver(this._resize).observe(container);
    this.resize();
  }

  _buildZone() {
    for (const child of [...this.zone.children]) if (child !== this.mesh) {
      this.zone.remove(child);
      child.geometry?.dispose();
      child.material?.dispose();
    }
    const { x: sx, y: sy, z: sz } = this.size;
    const box = new THREE.LineSegments(
      new THREE.EdgesGeometry(new THREE.BoxGeometry(sx, sy, sz)),
      new THREE.LineBasicMaterial({ color: 0x28d4f0, transparent: true, opacity: 0.45 }),
    );
    box.position.set(0, sy / 2, 0);
    this.box = box;
    const grid = new THREE.GridHelper(Math.max(sx, sz) * 4, Math.max(sx, sz) * 4, 0x1e2a55, 0x121836);
    grid.position.y = -0.01;
    const floor = new THREE.Mesh(new THREE.PlaneGeometry(sx, sz),
      new THREE.MeshBasicMaterial({ color: 0x28d4f0, transparent: true, opacity: 0.05, depthWrite: false }));
    floor.rotation.x = -Math.PI / 2;
    this.floor = floor;
    this.zone.add(box, grid, floor);
  }

  /** Zone dimensions in blocks (from the plugin's zone object when known). */
  setZoneSize(x, y, z) {
    const v = [x, y, z].map((n) => (Number.isFinite(n) && n > 0 ? Math.min(n, 500) : 10));
    if (v[0] === this.size.x && v[1] === this.size.y && v[2] === this.size.z) return;
    this.size.set(v[0], v[1], v[2]);
    this._buildZone();
    this.resetCamera();
  }

  resetCamera() {
    const { x: sx, y: sy, z: sz } = this.size;
    const r = Math.max(sx, sy, sz);
    this.camera.position.set(r * 1.3, r * 0.9, r * 1.75);
    this.controls.target.set(0, sy * 0.4, 0);
    this.controls.update();
  }

  setAutoRotate(on) {
    this.controls.autoRotate = !!on;
  }

  resize() {
    const w = this.container.clientWidth || 1;
    const h = this.container.clientHeight || 1;
    this.renderer.setSize(w, h, false);
    this.camera.aspect = w / h;
    this.camera.updateProjectionMatrix();
  }

  /** Take a `state` frame's entities as new targets. */
  setEntities(entities) {
    const list = Array.isArray(entities) ? entities : [];
    const n = Math.min(list.length, MAX_ENTITIES);
    const { x: sx, y: sy, z: sz } = this.size;
    let visible = 0;
    for (let i = 0; i < n; i++) {
      const e = list[i] || {};
      const hidden = e.visible === false;
      const scale = hidden ? 0 : clamp(num(e.scale, 0.5), 0, 4);
      const o = i * 5;
      const fresh = i >= this.count; // new ids appear in place, not flying in from the origin
      this.tgt[o] = (clamp(num(e.x, 0.5), 0, 1) - 0.5) * sx;
      this.tgt[o + 1] = clamp(num(e.y, 0), 0, 1) * sy;
      this.tgt[o + 2] = (clamp(num(e.z, 0.5), 0, 1) - 0.5) * sz;
      this.tgt[o + 3] = scale;
      this.tgt[o + 4] = clamp(num(e.rotation, 0), -360, 360);
      if (fresh) for (let k = 0; k < 5; k++) this.cur[o + k] = this.tgt[o + k];
      this.band[i] = clamp(Math.trunc(num(e.band, i % 5)), 0, 4);
      this.bright[i] = typeof e.brightness === 'number' ? clamp(e.brightness / 15, 0.15, 1) : 1;
      if (scale > 0.001) visible += 1;
    }
    this.count = n;
    this.visibleCount = visible;
  }

  beat(intensity = 1) {
    this.flash = Math.max(this.flash, clamp(0.35 + 0.65 * intensity, 0, 1));
  }

  /** Advance easing and flash, then draw. */
  render(dt) {
    const k = 1 - Math.exp(-dt / EASE_S);
    const n = this.count;
    for (let i = 0; i < n; i++) {
      const o = i * 5;
      for (let j = 0; j < 5; j++) this.cur[o + j] += (this.tgt[o + j] - this.cur[o + j]) * k;
      const s = Math.max(this.cur[o + 3], 1e-4);
      this._p.set(this.cur[o], this.cur[o + 1], this.cur[o + 2]);
      this._q.setFromAxisAngle(this._yAxis, (this.cur[o + 4] * Math.PI) / 180);
      this._s.set(s, s, s);
      this._m.compose(this._p, this._q, this._s);
      this.mesh.setMatrixAt(i, this._m);
      this._c.copy(BAND_COLORS[this.band[i]]).multiplyScalar(this.bright[i]).lerp(WHITE, this.flash * 0.3);
      this.mesh.setColorAt(i, this._c);
    }
    this.mesh.count = n;
    this.mesh.instanceMatrix.needsUpdate = true;
    if (this.mesh.instanceColor) this.mesh.instanceColor.needsUpdate = true;
    // Beat flash: the zone frame and floor light up, then decay over ~300 ms.
    this.box.material.opacity = 0.45 + 0.55 * this.flash;
    this.floor.material.opacity = 0.05 + 0.18 * this.flash;
    this.ambient.intensity = 0.9 + 0.7 * this.flash;
    this.flash = Math.max(0, this.flash - dt * 3.3);
    this.controls.update(dt);
    this.renderer.render(this.scene, this.camera);
    this.frameCount += 1;
  }
}

function num(v, fallback) {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}
function clamp(v, lo, hi) {
  return Math.min(hi, Math.max(lo, v));
}
