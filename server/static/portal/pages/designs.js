/* Industrial designs: search 3D models by shape with an uploaded mesh (STL, OBJ, PLY, OFF).
 *
 * The query file is checked against the server's limits before it is sent and drawn in the
 * browser by three.js (vendored under vendor/three/, loaded only by this page); each hit shows
 * its PNG thumbnail and opens an interactive viewer of its GLB preview. Previews are fetched
 * with the API key (api(…, {as: 'blob'})) and parsed from their bytes: nothing is loaded from
 * another origin.
 */

import {
  addStrings, api, base64Of, bytes, clearErrors, el, field, fieldError, fieldList,
  fileProblem as coreFileProblem, fillCollections, limits, number, pager, score, section, showError,
  status, t,
} from '../core.js';
import { saveBar } from './expert.js';

addStrings({
  en: {
    designsTitle: 'Industrial designs',
    dzLead: 'Upload a 3D model to find registered designs of a similar shape.',
    dzForm: '3D model search',
    dzFile: '3D model file',
    dzFileHelp: 'STL, OBJ, PLY or OFF, at most {max}.',
    dzClass: 'Class',
    dzAnyClass: 'Any class',
    dzK: 'Results per page',
    dzQuery: 'Your model',
    dzQueryText: '{name}: {faces} triangles, {vertices} vertices.',
    dzNoPreview: 'This file cannot be shown here: {reason}',
    dzNeedFile: 'Choose a 3D model file first.',
    dzView: 'View in 3D',
    dzHide: 'Close the 3D view',
    dzThumbAlt: 'Thumbnail of {id}',
    dzNoThumb: 'No thumbnail.',
    dzViewer: '3D view of {name}',
    dzViewerHelp: 'Drag, or use the arrow keys, to turn the model; + and − (or the wheel) zoom; '
      + 'Home resets the view.',
    dzModelText: '3D model of {name}: {faces} faces, {vertices} vertices.',
    dzLeft: 'Turn left',
    dzRight: 'Turn right',
    dzUp: 'Turn up',
    dzDown: 'Turn down',
    dzZoomIn: 'Zoom in',
    dzZoomOut: 'Zoom out',
    dzReset: 'Reset view',
    dzLoading3d: 'Loading the 3D model…',
    dzNo3d: 'The 3D view is not available: {reason}',
    dzResults: 'Results',
    dzFound: '{n} designs found.',
    dzScore: 'similarity',
  },
  ru: {
    designsTitle: 'Промышленные образцы',
    dzLead: 'Загрузите 3D-модель, чтобы найти зарегистрированные образцы похожей формы.',
    dzForm: 'Поиск по 3D-модели',
    dzFile: 'Файл 3D-модели',
    dzFileHelp: 'STL, OBJ, PLY или OFF, не более {max}.',
    dzClass: 'Класс',
    dzAnyClass: 'Любой класс',
    dzK: 'Результатов на странице',
    dzQuery: 'Ваша модель',
    dzQueryText: '{name}: треугольников — {faces}, вершин — {vertices}.',
    dzNoPreview: 'Этот файл невозможно показать: {reason}',
    dzNeedFile: 'Сначала выберите файл 3D-модели.',
    dzView: 'Открыть в 3D',
    dzHide: 'Закрыть 3D-просмотр',
    dzThumbAlt: 'Миниатюра {id}',
    dzNoThumb: 'Миниатюры нет.',
    dzViewer: '3D-просмотр: {name}',
    dzViewerHelp: 'Перетаскивайте модель или поворачивайте её клавишами со стрелками; + и − '
      + '(или колесо мыши) меняют масштаб; Home возвращает исходный вид.',
    dzModelText: '3D-модель {name}: граней — {faces}, вершин — {vertices}.',
    dzLeft: 'Повернуть влево',
    dzRight: 'Повернуть вправо',
    dzUp: 'Повернуть вверх',
    dzDown: 'Повернуть вниз',
    dzZoomIn: 'Приблизить',
    dzZoomOut: 'Отдалить',
    dzReset: 'Исходный вид',
    dzLoading3d: 'Загрузка 3D-модели…',
    dzNo3d: '3D-просмотр недоступен: {reason}',
    dzResults: 'Результаты',
    dzFound: 'Найдено образцов: {n}.',
    dzScore: 'сходство',
  },
});

const SKIPPED_FIELDS = ['sha256'];
const STEP = Math.PI / 12;

/* ---------- three.js, loaded on first use ---------- */

const VENDOR = '../vendor/three';
let threeModules = null;

function three() {
  if (!threeModules) {
    threeModules = Promise.all([
      import(`${VENDOR}/three.module.min.js`),
      import(`${VENDOR}/addons/controls/OrbitControls.js`),
    ]).then(([THREE, controls]) => ({ THREE, OrbitControls: controls.OrbitControls }));
    threeModules.catch(() => { threeModules = null; });
  }
  return threeModules;
}

/** An OFF file (``OFF`` header optional, ``#`` comments, polygons fanned into triangles). */
function parseOff(THREE, text) {
  const lines = text.split(/\r?\n/).map((l) => l.replace(/#.*/, '').trim()).filter(Boolean);
  let tokens = lines.join(' ').split(/\s+/);
  if (/^[A-Z]*OFF$/.test(tokens[0])) tokens = tokens.slice(1);
  const numbers = tokens.map(Number);
  const [nv, nf] = numbers;
  if (!Number.isInteger(nv) || !Number.isInteger(nf)) throw new Error('bad OFF header');
  let at = 3;
  const positions = new Float32Array(numbers.slice(at, at + nv * 3));
  at += nv * 3;
  const lineOf = [];
  // faces: the rest, one per line after the vertices
  const faceLines = lines.slice(lines.length - nf);
  for (const line of faceLines) {
    const parts = line.split(/\s+/).map(Number);
    const n = parts[0];
    for (let i = 2; i < n; i += 1) lineOf.push(parts[1], parts[i], parts[i + 1]);
  }
  if (positions.length !== nv * 3 || lineOf.some((i) => !(i >= 0 && i < nv))) {
    throw new Error('bad OFF data');
  }
  const geometry = new THREE.BufferGeometry();
  geometry.setAttribute('position', new THREE.BufferAttribute(positions, 3));
  geometry.setIndex(lineOf);
  return geometry;
}

/** A three.js object for a mesh file's bytes in `format` (stl, obj, ply, off, glb). */
async function meshObject(buffer, format) {
  const { THREE } = await three();
  if (format === 'glb') {
    const { GLTFLoader } = await import(`${VENDOR}/addons/loaders/GLTFLoader.js`);
    const { scene } = await new GLTFLoader().parseAsync(buffer, '');
    scene.traverse((node) => {
      if (!node.isMesh) return;
      if (!node.geometry.getAttribute('normal')) node.geometry.computeVertexNormals();
      node.material = material(THREE);
    });
    return scene;
  }
  let geometry;
  if (format === 'stl') {
    const { STLLoader } = await import(`${VENDOR}/addons/loaders/STLLoader.js`);
    geometry = new STLLoader().parse(buffer);
  } else if (format === 'ply') {
    const { PLYLoader } = await import(`${VENDOR}/addons/loaders/PLYLoader.js`);
    geometry = new PLYLoader().parse(buffer);
  } else if (format === 'obj') {
    const { OBJLoader } = await import(`${VENDOR}/addons/loaders/OBJLoader.js`);
    const group = new OBJLoader().parse(new TextDecoder().decode(buffer));
    const meshes = [];
    group.traverse((node) => { if (node.isMesh) meshes.push(node); });
    if (!meshes.length) throw new Error('no faces');
    for (const mesh of meshes) mesh.material = material(THREE);
    return group;
  } else {
    geometry = parseOff(THREE, new TextDecoder().decode(buffer));
  }
  if (!geometry.getAttribute('position') || geometry.getAttribute('position').count === 0) {
    throw new Error('no vertices');
  }
  geometry.computeVertexNormals();
  return new THREE.Mesh(geometry, material(THREE));
}

function material(THREE) {
  return new THREE.MeshStandardMaterial({
    color: 0x6f86a6, roughness: 0.65, metalness: 0.1, side: THREE.DoubleSide, flatShading: false,
  });
}

/** Counts of an object's triangles and vertices (for the text alternative). */
function counts(object) {
  let faces = 0;
  let vertices = 0;
  object.traverse((node) => {
    if (!node.isMesh) return;
    const g = node.geometry;
    const n = g.getAttribute('position').count;
    vertices += n;
    faces += g.index ? g.index.count / 3 : n / 3;
  });
  return { faces: Math.round(faces), vertices };
}

const viewers = new Set();

/** An interactive viewer of `object` in `host`: OrbitControls (mouse, touch, wheel), arrow
 * keys and buttons; it draws on demand, not in a loop. */
async function viewer(host, object, name) {
  const { THREE, OrbitControls } = await three();
  const canvas = el('canvas', {
    class: 'dz-canvas', tabindex: '0', role: 'img',
    'aria-label': `${t('dzViewer', { name })}. ${t('dzViewerHelp')}`,
  });
  const renderer = new THREE.WebGLRenderer({ canvas, antialias: true, preserveDrawingBuffer: true });
  renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
  const scene = new THREE.Scene();
  scene.background = new THREE.Color(0xffffff);
  scene.add(new THREE.HemisphereLight(0xffffff, 0x8090a0, 1.6));
  const camera = new THREE.PerspectiveCamera(40, 4 / 3, 0.01, 1000);
  const light = new THREE.DirectionalLight(0xffffff, 1.8);
  light.position.set(1, 2, 3);
  camera.add(light);
  scene.add(camera);

  // centre the model at the origin and scale it to a unit sphere
  const box = new THREE.Box3().setFromObject(object);
  const sphere = box.getBoundingSphere(new THREE.Sphere());
  const radius = sphere.radius || 1;
  const holder = new THREE.Group();
  object.position.sub(sphere.center);
  holder.add(object);
  holder.scale.setScalar(1 / radius);
  scene.add(holder);

  const home = new THREE.Vector3(1.6, 1.1, 2.2).setLength(3.2);
  camera.position.copy(home);
  camera.lookAt(0, 0, 0);
  const controls = new OrbitControls(camera, canvas);
  controls.minDistance = 1.2;
  controls.maxDistance = 12;
  const draw = () => renderer.render(scene, camera);
  controls.addEventListener('change', draw);

  const turn = (dTheta, dPhi) => {
    const offset = camera.position.clone().sub(controls.target);
    const s = new THREE.Spherical().setFromVector3(offset);
    s.theta += dTheta;
    s.phi = Math.min(Math.PI - 0.01, Math.max(0.01, s.phi + dPhi));
    offset.setFromSpherical(s);
    camera.position.copy(controls.target).add(offset);
    controls.update();
    draw();
  };
  const zoom = (factor) => {
    const offset = camera.position.clone().sub(controls.target);
    const length = Math.min(controls.maxDistance, Math.max(controls.minDistance, offset.length() * factor));
    camera.position.copy(controls.target).add(offset.setLength(length));
    controls.update();
    draw();
  };
  const reset = () => {
    controls.target.set(0, 0, 0);
    camera.position.copy(home);
    controls.update();
    draw();
  };
  const keys = {
    ArrowLeft: () => turn(-STEP, 0), ArrowRight: () => turn(STEP, 0),
    ArrowUp: () => turn(0, -STEP), ArrowDown: () => turn(0, STEP),
    '+': () => zoom(0.85), '=': () => zoom(0.85), '-': () => zoom(1 / 0.85), Home: reset,
  };
  canvas.addEventListener('keydown', (event) => {
    if (!(event.key in keys)) return;
    event.preventDefault();
    keys[event.key]();
  });

  const button = (key, text, action) => el('button', {
    type: 'button', class: 'dz-control', 'aria-label': t(key), title: t(key), text, onclick: action,
  });
  const buttons = el('div', { class: 'dz-controls', role: 'toolbar', 'aria-label': t('dzViewer', { name }) },
    button('dzLeft', '⟲', () => turn(-STEP, 0)), button('dzRight', '⟳', () => turn(STEP, 0)),
    button('dzUp', '↑', () => turn(0, -STEP)), button('dzDown', '↓', () => turn(0, STEP)),
    button('dzZoomIn', '+', () => zoom(0.85)), button('dzZoomOut', '−', () => zoom(1 / 0.85)),
    button('dzReset', '⌂', reset));
  host.replaceChildren(canvas, buttons, el('p', { class: 'help', text: t('dzViewerHelp') }));

  const resize = () => {
    const width = Math.max(160, Math.floor(host.clientWidth || 320));
    const height = Math.round(Math.min(width * 0.75, 360));
    renderer.setSize(width, height, false);
    canvas.style.width = '100%';
    canvas.style.height = `${height}px`;
    camera.aspect = width / height;
    camera.updateProjectionMatrix();
    draw();
  };
  const observer = new ResizeObserver(resize);
  observer.observe(host);
  resize();
  canvas.dataset.drawn = 'true';

  const handle = {
    canvas,
    dispose() {
      observer.disconnect();
      controls.dispose();
      scene.traverse((node) => {
        if (node.geometry) node.geometry.dispose();
        if (node.material) [].concat(node.material).forEach((m) => m.dispose());
      });
      renderer.dispose();
      renderer.forceContextLoss();
      viewers.delete(handle);
    },
  };
  viewers.add(handle);
  return handle;
}

/* ---------- the page ---------- */

let blobUrls = [];
let generation = 0;

function forget() {
  for (const url of blobUrls) URL.revokeObjectURL(url);
  blobUrls = [];
  for (const handle of [...viewers]) handle.dispose();
}

function formatOf(file) {
  const match = /\.([a-z0-9]+)$/i.exec(file.name);
  return match ? match[1].toLowerCase() : '';
}

function render(view) {
  forget();
  const mine = ++generation;
  const state = { file: null, queryViewer: null };

  const collection = el('select', { id: 'dz-collection', name: 'collection', 'data-field': 'collection' });
  const fileInput = el('input', {
    id: 'dz-file', name: 'mesh', type: 'file', accept: '.stl,.obj,.ply,.off', 'data-field': 'query',
  });
  const fileField = field(t('dzFile'), fileInput, t('dzFileHelp', { max: '…' }));
  const klass = el('select', { id: 'dz-class', name: 'class', 'data-field': 'filter' },
    el('option', { value: '', text: t('dzAnyClass') }));
  const k = el('select', { id: 'dz-k', name: 'k', 'data-field': 'k' },
    [10, 20, 50].map((n) => el('option', { value: String(n), text: String(n) })));
  const queryHost = el('div', { class: 'dz-viewer', id: 'dz-query-viewer' });
  const queryText = el('p', { class: 'help', id: 'dz-query-text' });
  const queryBox = el('figure', { class: 'dz-query', id: 'dz-query', hidden: true },
    el('figcaption', { text: t('dzQuery') }), queryHost, queryText);

  const form = el('form', { class: 'search', id: 'dz-form', 'aria-label': t('dzForm'), novalidate: true },
    field(t('collection'), collection),
    fileField,
    queryBox,
    el('div', { class: 'row' }, field(t('dzClass'), klass), field(t('dzK'), k)),
    el('p', { class: 'form-error', role: 'alert' }),
    el('button', { type: 'submit', id: 'dz-submit', text: t('search') }));
  const results = el('div', { class: 'results', id: 'dz-results', 'aria-live': 'polite', 'aria-busy': 'false' });

  view.replaceChildren(section('designsTitle',
    el('p', { class: 'lead', text: t('dzLead') }),
    el('div', { class: 'layout' }, form,
      el('div', { class: 'results-col' }, el('h2', { class: 'visually-hidden', text: t('dzResults') }), results))));

  limits().then((lim) => {
    fileField.querySelector('.help').textContent = t('dzFileHelp', { max: bytes(lim.mesh_bytes) });
  }).catch(() => {});

  /** The chosen file, or null after showing why it cannot be sent. */
  async function checkedFile() {
    const file = fileInput.files[0];
    if (!file) {
      fieldError(fileInput, t('dzNeedFile'));
      return null;
    }
    const lim = await limits();
    const problem = fileProblem(file, lim);
    if (problem) {
      fieldError(fileInput, problem);
      return null;
    }
    return file;
  }

  async function previewQuery(file) {
    if (state.queryViewer) state.queryViewer.dispose();
    state.queryViewer = null;
    queryBox.hidden = false;
    queryHost.replaceChildren(el('p', { class: 'help', text: t('dzLoading3d') }));
    queryText.textContent = '';
    try {
      const object = await meshObject(await file.arrayBuffer(), formatOf(file));
      if (mine !== generation || fileInput.files[0] !== file) return;
      const { faces, vertices } = counts(object);
      state.queryViewer = await viewer(queryHost, object, file.name);
      queryText.textContent = t('dzQueryText', { name: file.name, faces: number(faces), vertices: number(vertices) });
    } catch (err) {
      queryHost.replaceChildren();
      queryText.textContent = t('dzNoPreview', { reason: err.message || String(err) });
    }
  }

  fileInput.addEventListener('change', async () => {
    clearErrors(form);
    const file = await checkedFile();
    if (!file) {
      queryBox.hidden = true;
      return;
    }
    previewQuery(file);
  });

  async function run(offset) {
    clearErrors(form);
    const file = await checkedFile();
    if (!file) {
      fileInput.focus();
      return;
    }
    const name = collection.value;
    const request = {
      query: { mesh_b64: await base64Of(file), format: formatOf(file) },
      k: Number(k.value),
      offset,
    };
    if (klass.value) request.filter = { class: klass.value };
    results.setAttribute('aria-busy', 'true');
    status(t('loading'));
    let answer;
    try {
      answer = await api(`/v1/collections/${encodeURIComponent(name)}/search`, { method: 'POST', body: request });
    } catch (err) {
      if (mine !== generation) return;
      status('');
      results.setAttribute('aria-busy', 'false');
      showError(form, err);
      return;
    }
    if (mine !== generation) return;
    status('');
    showHits(name, request, answer);
    results.setAttribute('aria-busy', 'false');
  }

  function showHits(name, request, answer) {
    for (const url of blobUrls) URL.revokeObjectURL(url);
    blobUrls = [];
    for (const handle of [...viewers]) if (handle !== state.queryViewer) handle.dispose();
    const shown = answer.hits.map((hit) => ({ collection: name, id: hit.id, score: hit.score }));
    // the saved search names the file, not its bytes
    const { mesh_b64: _, ...query } = request.query;
    const search = { collection: name, ...request, query: { ...query, file: fileInput.files[0]?.name } };
    const list = el('ol', { class: 'hits', id: 'dz-hits', start: String(request.offset + 1) },
      answer.hits.map((hit, i) => hitItem(name, hit, i)));
    results.replaceChildren(
      el('p', { class: 'dz-found', text: t('dzFound', { n: number(answer.total) }) }),
      saveBar(() => ({ search, hits: shown })),
      pager({
        total: answer.total, k: request.k, offset: request.offset, truncated: answer.truncated,
        onPage: (offset) => run(offset),
      }),
      answer.hits.length ? list : el('p', { text: t('noHits') }));
  }

  function hitItem(name, hit, i) {
    const fields = hit.fields || {};
    const media = el('div', { class: 'hit-media' });
    const viewerId = `dz-viewer-${i}`;
    const host = el('div', { class: 'dz-viewer dz-hit-viewer', id: viewerId, hidden: true,
      role: 'region', 'aria-label': t('dzViewer', { name: hit.id }) });
    const text = t('dzModelText', { name: hit.id, faces: number(fields.faces), vertices: number(fields.vertices) });
    let handle = null;
    const open = el('button', {
      type: 'button', class: 'dz-open', 'aria-expanded': 'false', 'aria-controls': viewerId,
      text: t('dzView'), disabled: !hit.preview,
    });
    open.addEventListener('click', async () => {
      if (open.getAttribute('aria-expanded') === 'true') {
        if (handle) handle.dispose();
        handle = null;
        host.hidden = true;
        host.replaceChildren();
        open.setAttribute('aria-expanded', 'false');
        open.textContent = t('dzView');
        return;
      }
      open.setAttribute('aria-expanded', 'true');
      open.textContent = t('dzHide');
      host.hidden = false;
      host.replaceChildren(el('p', { class: 'help', text: t('dzLoading3d') }));
      try {
        const blob = await api(hit.preview.glb, { as: 'blob' });
        const object = await meshObject(await blob.arrayBuffer(), 'glb');
        if (open.getAttribute('aria-expanded') !== 'true') return;
        handle = await viewer(host, object, hit.id);
        host.append(el('p', { class: 'dz-model-text', text }));
        handle.canvas.focus();
      } catch (err) {
        host.replaceChildren(el('p', { class: 'help', text: t('dzNo3d', { reason: err.message || String(err) }) }));
      }
    });
    if (hit.preview) {
      const image = el('img', { alt: t('dzThumbAlt', { id: hit.id }), width: 128, height: 128, class: 'dz-thumb' });
      media.append(image);
      api(hit.preview.png, { as: 'blob' }).then((blob) => {
        if (mine !== generation) return;
        const url = URL.createObjectURL(blob);
        blobUrls.push(url);
        image.src = url;
      }).catch(() => media.replaceChildren(el('p', { class: 'help', text: t('dzNoThumb') })));
    }
    return el('li', { class: 'hit dz-hit', 'data-id': hit.id },
      media,
      el('div', { class: 'hit-body' },
        el('div', { class: 'hit-head' },
          el('span', { class: 'hit-id', text: hit.id }),
          el('span', { class: 'hit-score', 'data-score': String(hit.score) }, `${t('dzScore')} ${score(hit.score)}`)),
        fieldList(fields, SKIPPED_FIELDS),
        open),
      host);
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    run(0);
  });

  fillCollections(collection, 'mesh', ['designs']).then(() => fillClasses()).catch((err) => showError(form, err));
  collection.addEventListener('change', () => fillClasses());

  async function fillClasses() {
    klass.replaceChildren(el('option', { value: '', text: t('dzAnyClass') }));
    if (!collection.value) return;
    try {
      const answer = await api(`/v1/collections/${encodeURIComponent(collection.value)}/facets`,
        { params: { field: 'class' } });
      for (const v of answer.values) {
        klass.append(el('option', { value: v.value, text: `${v.value} (${number(v.count)})` }));
      }
    } catch (_) { /* a collection without classes: the filter stays "any" */ }
  }
}

/** core.js's fileProblem with the server's mesh limits. */
function fileProblem(file, lim) {
  return coreFileProblem(file, { maxBytes: lim.mesh_bytes, extensions: lim.mesh_formats });
}

export default {
  id: 'designs',
  title: 'designsTitle',
  render,
  leave() {
    generation += 1;
    forget();
  },
};
