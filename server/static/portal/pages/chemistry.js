/* Chemistry: similarity, substructure, exact and formula search over a chemical collection,
 * with a structure drawing of the query and of every hit.
 *
 * Drawings are SVG made by the server's RDKit: the query's by POST …/depict, a hit's by
 * GET …/documents/{id}?depict=svg. Both are fetched as blobs (with the API key) and shown as
 * <img> from a blob: URL, so no SVG markup ever enters the page's DOM.
 */

import {
  addStrings, api, clearErrors, el, field, fieldError, fieldList, fillCollections, number, pager, score,
  section, showError, status, t,
} from '../core.js';
import { saveBar } from './expert.js';

addStrings({
  en: {
    chemistryTitle: 'Chemistry',
    chemLead: 'Find molecules by similarity to a structure, by a substructure (SMARTS), by '
      + 'identity (InChIKey) or by a molecular formula.',
    chemForm: 'Chemical structure search',
    chemMode: 'Search mode',
    chemModeSimilarity: 'Similarity',
    chemModeSubstructure: 'Substructure',
    chemModeExact: 'Exact structure',
    chemModeFormula: 'Molecular formula',
    chemInput: 'Query input',
    chemTabSmiles: 'SMILES',
    chemTabMolblock: 'Molfile',
    chemTabSmarts: 'SMARTS',
    chemTabFormula: 'Formula',
    chemSmiles: 'SMILES',
    chemSmilesHelp: 'For example caffeine: CN1C=NC2=C1C(=O)N(C(=O)N2C)C',
    chemMolblock: 'Molfile (V2000/V3000 molblock)',
    chemMolblockHelp: 'Paste the contents of a .mol file.',
    chemSmarts: 'SMARTS pattern',
    chemSmartsHelp: 'For example a primary aromatic amine: c[NX3;H2]',
    chemFormula: 'Molecular formula',
    chemFormulaHelp: 'Exact (C8H10N4O2) or with ranges: C6-8H*O2 (* = any count).',
    chemOtherElements: 'Allow elements not named in the formula',
    chemThreshold: 'Minimum similarity (0–1)',
    chemThresholdHelp: 'Leave empty for the nearest molecules.',
    chemMetric: 'Similarity measure',
    chemAlpha: 'Tversky α',
    chemBeta: 'Tversky β',
    chemChirality: 'Respect stereochemistry',
    chemConnectivity: 'Match connectivity only (ignore stereo and isotopes)',
    chemK: 'Results per page',
    chemQueryDrawing: 'Query structure',
    chemQueryAlt: 'Drawing of the query structure {text}',
    chemHitAlt: 'Structure of {id}',
    chemNoDrawing: 'No drawing available.',
    chemFound: '{n} molecules found.',
    chemResults: 'Results',
    chemNeedText: 'Enter a structure first.',
    chemScoreMatch: 'match',
  },
  ru: {
    chemistryTitle: 'Химия',
    chemLead: 'Поиск молекул по сходству со структурой, по подструктуре (SMARTS), по '
      + 'совпадению структуры (InChIKey) или по брутто-формуле.',
    chemForm: 'Поиск химических структур',
    chemMode: 'Режим поиска',
    chemModeSimilarity: 'По сходству',
    chemModeSubstructure: 'По подструктуре',
    chemModeExact: 'Точное совпадение',
    chemModeFormula: 'По брутто-формуле',
    chemInput: 'Способ ввода запроса',
    chemTabSmiles: 'SMILES',
    chemTabMolblock: 'Molfile',
    chemTabSmarts: 'SMARTS',
    chemTabFormula: 'Формула',
    chemSmiles: 'SMILES',
    chemSmilesHelp: 'Например, кофеин: CN1C=NC2=C1C(=O)N(C(=O)N2C)C',
    chemMolblock: 'Molfile (блок V2000/V3000)',
    chemMolblockHelp: 'Вставьте содержимое файла .mol.',
    chemSmarts: 'Шаблон SMARTS',
    chemSmartsHelp: 'Например, первичный ароматический амин: c[NX3;H2]',
    chemFormula: 'Брутто-формула',
    chemFormulaHelp: 'Точная (C8H10N4O2) или с диапазонами: C6-8H*O2 (* — любое число).',
    chemOtherElements: 'Допускать элементы, не указанные в формуле',
    chemThreshold: 'Минимальное сходство (0–1)',
    chemThresholdHelp: 'Оставьте пустым, чтобы получить ближайшие молекулы.',
    chemMetric: 'Мера сходства',
    chemAlpha: 'α (Тверский)',
    chemBeta: 'β (Тверский)',
    chemChirality: 'Учитывать стереохимию',
    chemConnectivity: 'Сравнивать только связность (без стереохимии и изотопов)',
    chemK: 'Результатов на странице',
    chemQueryDrawing: 'Структура запроса',
    chemQueryAlt: 'Изображение структуры запроса {text}',
    chemHitAlt: 'Структура {id}',
    chemNoDrawing: 'Изображение недоступно.',
    chemFound: 'Найдено молекул: {n}.',
    chemResults: 'Результаты',
    chemNeedText: 'Сначала введите структуру.',
    chemScoreMatch: 'совпадение',
  },
});

const MODES = ['similarity', 'substructure', 'exact', 'formula'];
const MODE_KEYS = {
  similarity: 'chemModeSimilarity', substructure: 'chemModeSubstructure',
  exact: 'chemModeExact', formula: 'chemModeFormula',
};
/** The query inputs each mode accepts (the server's `_STRUCTURES`). */
const INPUTS = {
  similarity: ['smiles', 'molblock'],
  substructure: ['smiles', 'smarts', 'molblock'],
  exact: ['smiles', 'molblock'],
  formula: ['formula'],
};
const TABS = [
  ['smiles', 'chemTabSmiles'], ['molblock', 'chemTabMolblock'],
  ['smarts', 'chemTabSmarts'], ['formula', 'chemTabFormula'],
];
const METRICS = ['tanimoto', 'dice', 'tversky'];
/** Fields a hit shows first; element counts and the long InChI are left out. */
const SHOWN_FIRST = ['name', 'formula', 'mol_weight', 'smiles', 'inchikey', 'heavy_atoms', 'source'];
const SKIPPED = ['inchi', 'inchikey_connectivity'];

let blobUrls = [];
let generation = 0;

function forgetBlobs() {
  for (const url of blobUrls) URL.revokeObjectURL(url);
  blobUrls = [];
}

function blobUrl(blob) {
  const url = URL.createObjectURL(blob);
  blobUrls.push(url);
  return url;
}

/** A tab list with roving focus: arrows, Home and End move between the visible tabs. */
function tabList(label, tabs, onSelect) {
  const list = el('div', { class: 'tabs', role: 'tablist', 'aria-label': label });
  const buttons = tabs.map(([id, key]) => el('button', {
    type: 'button', role: 'tab', id: `chem-tab-${id}`, 'data-tab': id,
    'aria-controls': `chem-panel-${id}`, 'aria-selected': 'false', tabindex: '-1',
    text: t(key), onclick: () => onSelect(id, true),
  }));
  list.append(...buttons);
  list.addEventListener('keydown', (event) => {
    const visible = buttons.filter((b) => !b.hidden);
    const at = visible.indexOf(document.activeElement);
    if (at < 0) return;
    const moves = {
      ArrowRight: at + 1, ArrowDown: at + 1, ArrowLeft: at - 1, ArrowUp: at - 1,
      Home: 0, End: visible.length - 1,
    };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const next = visible[(moves[event.key] + visible.length) % visible.length];
    onSelect(next.dataset.tab, true);
  });
  return { list, buttons };
}

function render(view, route) {
  forgetBlobs();
  const mine = ++generation;
  const state = { input: 'smiles', offset: 0 };

  const collection = el('select', { id: 'chem-collection', name: 'collection', 'data-field': 'collection' });
  const mode = el('select', { id: 'chem-mode', name: 'mode', 'data-field': 'mode' },
    MODES.map((m) => el('option', { value: m, text: t(MODE_KEYS[m]) })));

  const smiles = el('input', {
    id: 'chem-smiles', name: 'smiles', type: 'text', autocomplete: 'off', spellcheck: false,
    'data-field': 'query.smiles', class: 'mono',
  });
  const molblock = el('textarea', {
    id: 'chem-molblock', name: 'molblock', rows: 8, spellcheck: false,
    'data-field': 'query.molblock', class: 'mono',
  });
  const smarts = el('input', {
    id: 'chem-smarts', name: 'smarts', type: 'text', autocomplete: 'off', spellcheck: false,
    'data-field': 'query.smarts', class: 'mono',
  });
  const formula = el('input', {
    id: 'chem-formula', name: 'formula', type: 'text', autocomplete: 'off', spellcheck: false,
    'data-field': 'query.formula', class: 'mono',
  });
  const controls = { smiles, molblock, smarts, formula };
  const panels = {
    smiles: field(t('chemSmiles'), smiles, t('chemSmilesHelp')),
    molblock: field(t('chemMolblock'), molblock, t('chemMolblockHelp')),
    smarts: field(t('chemSmarts'), smarts, t('chemSmartsHelp')),
    formula: field(t('chemFormula'), formula, t('chemFormulaHelp')),
  };
  for (const [id, panel] of Object.entries(panels)) {
    panel.id = `chem-panel-${id}`;
    panel.setAttribute('role', 'tabpanel');
    panel.setAttribute('aria-labelledby', `chem-tab-${id}`);
  }

  const threshold = el('input', {
    id: 'chem-threshold', name: 'threshold', type: 'number', min: '0', max: '1', step: '0.05',
    inputmode: 'decimal', 'data-field': 'query.threshold',
  });
  const metric = el('select', { id: 'chem-metric', name: 'metric', 'data-field': 'query.metric' },
    METRICS.map((m) => el('option', { value: m, text: m[0].toUpperCase() + m.slice(1) })));
  const alpha = el('input', {
    id: 'chem-alpha', name: 'alpha', type: 'number', min: '0', max: '10', step: '0.1', value: '1',
    'data-field': 'query.alpha',
  });
  const beta = el('input', {
    id: 'chem-beta', name: 'beta', type: 'number', min: '0', max: '10', step: '0.1', value: '1',
    'data-field': 'query.beta',
  });
  const tversky = el('div', { class: 'row' }, field(t('chemAlpha'), alpha), field(t('chemBeta'), beta));
  const similarityOptions = el('div', { class: 'chem-options', 'data-mode': 'similarity' },
    el('div', { class: 'row' }, field(t('chemThreshold'), threshold, t('chemThresholdHelp')),
      field(t('chemMetric'), metric)),
    tversky);
  const checkbox = (id, name, key, fieldPath) => {
    const box = el('input', { id, name, type: 'checkbox', 'data-field': fieldPath });
    return [box, el('div', { class: 'field check' }, box, el('label', { for: id, text: t(key) }))];
  };
  const [chirality, chiralityField] = checkbox('chem-chirality', 'chirality', 'chemChirality', 'query.chirality');
  const [connectivity, connectivityField] = checkbox('chem-connectivity', 'connectivity', 'chemConnectivity', 'query.connectivity');
  const [otherElements, otherField] = checkbox('chem-other', 'allow_other_elements', 'chemOtherElements', 'query.allow_other_elements');
  const modeOptions = {
    similarity: similarityOptions,
    substructure: el('div', { class: 'chem-options', 'data-mode': 'substructure' }, chiralityField),
    exact: el('div', { class: 'chem-options', 'data-mode': 'exact' }, connectivityField),
    formula: el('div', { class: 'chem-options', 'data-mode': 'formula' }, otherField),
  };
  const k = el('select', { id: 'chem-k', name: 'k', 'data-field': 'k' },
    [10, 20, 50].map((n) => el('option', { value: String(n), text: String(n) })));

  const tabs = tabList(t('chemInput'), TABS, (id, focus) => selectInput(id, focus));

  const form = el('form', { class: 'search', id: 'chem-form', 'aria-label': t('chemForm'), novalidate: true },
    el('div', { class: 'row' }, field(t('collection'), collection), field(t('chemMode'), mode)),
    tabs.list,
    ...Object.values(panels),
    ...Object.values(modeOptions),
    el('div', { class: 'row' }, field(t('chemK'), k)),
    el('p', { class: 'form-error', role: 'alert' }),
    el('button', { type: 'submit', id: 'chem-submit', text: t('search') }));

  const queryImage = el('img', { id: 'chem-query-img', alt: '', hidden: true, width: 300, height: 200 });
  const queryNote = el('p', { class: 'help', id: 'chem-query-note' });
  const queryBox = el('figure', { class: 'box chem-query', id: 'chem-query', hidden: true },
    el('figcaption', { text: t('chemQueryDrawing') }), queryImage, queryNote);
  const results = el('div', { class: 'results', id: 'chem-results', 'aria-live': 'polite', 'aria-busy': 'false' });

  view.replaceChildren(section('chemistryTitle',
    el('p', { class: 'lead', text: t('chemLead') }),
    el('div', { class: 'layout' }, form,
      el('div', { class: 'results-col' }, queryBox,
        el('h2', { class: 'visually-hidden', text: t('chemResults') }), results))));

  function selectInput(id, focus = false) {
    state.input = id;
    for (const button of tabs.buttons) {
      const on = button.dataset.tab === id;
      button.setAttribute('aria-selected', String(on));
      button.tabIndex = on ? 0 : -1;
      if (on && focus) button.focus();
    }
    for (const [name, panel] of Object.entries(panels)) panel.hidden = name !== id;
  }

  function modeChanged() {
    const allowed = INPUTS[mode.value];
    for (const button of tabs.buttons) button.hidden = !allowed.includes(button.dataset.tab);
    for (const [name, box] of Object.entries(modeOptions)) box.hidden = name !== mode.value;
    tversky.hidden = metric.value !== 'tversky';
    selectInput(allowed.includes(state.input) ? state.input : allowed[0]);
  }
  mode.addEventListener('change', modeChanged);
  metric.addEventListener('change', () => { tversky.hidden = metric.value !== 'tversky'; });

  // a link may preset the form: #/chemistry?mode=exact&smiles=…
  const params = route.params;
  if (MODES.includes(params.get('mode'))) mode.value = params.get('mode');
  for (const name of ['smiles', 'smarts', 'formula', 'molblock']) {
    if (params.get(name)) {
      controls[name].value = params.get(name);
      state.input = name;
    }
  }
  modeChanged();

  /** The query object the server expects for this mode, or null when the input is empty. */
  function buildQuery() {
    const text = controls[state.input].value;
    if (!text.trim()) return null;
    const query = { [state.input]: text };
    if (mode.value === 'similarity') {
      if (threshold.value !== '') query.threshold = Number(threshold.value);
      if (metric.value !== 'tanimoto') query.metric = metric.value;
      if (metric.value === 'tversky') {
        query.alpha = Number(alpha.value);
        query.beta = Number(beta.value);
      }
    } else if (mode.value === 'substructure' && chirality.checked) query.chirality = true;
    else if (mode.value === 'exact' && connectivity.checked) query.connectivity = true;
    else if (mode.value === 'formula' && otherElements.checked) query.allow_other_elements = true;
    return query;
  }

  async function run(offset) {
    clearErrors(form);
    const query = buildQuery();
    if (!query) {
      const control = controls[state.input];
      fieldError(control, t('chemNeedText'));
      control.focus();
      return;
    }
    state.offset = offset;
    const request = { query, k: Number(k.value), offset, mode: mode.value };
    const name = collection.value;
    results.setAttribute('aria-busy', 'true');
    status(t('loading'));
    forgetBlobs();
    let answer;
    try {
      answer = await api(`/v1/collections/${encodeURIComponent(name)}/search`, { method: 'POST', body: request });
    } catch (err) {
      if (mine !== generation) return;
      results.setAttribute('aria-busy', 'false');
      status('');
      showError(form, err);
      return;
    }
    if (mine !== generation) return;
    status('');
    showQuery(name, query);
    showHits(name, request, answer);
    results.setAttribute('aria-busy', 'false');
  }

  async function showQuery(name, query) {
    queryNote.textContent = '';
    if (mode.value === 'formula') {
      queryBox.hidden = true;
      return;
    }
    queryBox.hidden = false;
    queryImage.hidden = true;
    const structure = { [state.input]: query[state.input] };
    try {
      const blob = await api(`/v1/collections/${encodeURIComponent(name)}/depict`,
        { method: 'POST', body: { query: structure }, as: 'blob' });
      if (mine !== generation) return;
      queryImage.alt = t('chemQueryAlt', { text: state.input === 'molblock' ? '' : query[state.input] });
      queryImage.src = blobUrl(blob);
      queryImage.hidden = false;
    } catch (err) {
      queryNote.textContent = `${t('chemNoDrawing')} ${err.message || ''}`;
    }
  }

  function showHits(name, request, answer) {
    const shown = answer.hits.map((hit) => ({ collection: name, id: hit.id, score: hit.score }));
    const scoreLabel = mode.value === 'similarity' ? (request.query.metric || 'tanimoto') : t('chemScoreMatch');
    const list = el('ol', { class: 'hits', id: 'chem-hits', start: String(request.offset + 1) },
      answer.hits.map((hit) => hitItem(name, hit, scoreLabel)));
    results.replaceChildren(
      el('p', { class: 'chem-found', text: t('chemFound', { n: number(answer.total) }) }),
      saveBar(() => ({ search: { collection: name, ...request }, hits: shown })),
      pager({
        total: answer.total, k: request.k, offset: request.offset, truncated: answer.truncated,
        onPage: (offset) => run(offset),
      }),
      answer.hits.length ? list : el('p', { text: t('noHits') }));
  }

  function hitItem(name, hit, scoreLabel) {
    const image = el('img', {
      alt: t('chemHitAlt', { id: hit.id }), width: 128, height: 128,
      'data-depict': hit.id,
    });
    const media = el('div', { class: 'hit-media' }, image);
    drawHit(name, hit.id, image, media);
    const fields = hit.fields || {};
    const ordered = {};
    for (const key of SHOWN_FIRST) if (key in fields) ordered[key] = fields[key];
    for (const [key, value] of Object.entries(fields)) {
      if (!(key in ordered) && !SKIPPED.includes(key) && !key.startsWith('element_')) ordered[key] = value;
    }
    return el('li', { class: 'hit', 'data-id': hit.id },
      media,
      el('div', { class: 'hit-body' },
        el('div', { class: 'hit-head' },
          el('span', { class: 'hit-id', text: hit.id }),
          el('span', { class: 'hit-score', 'data-score': String(hit.score) }, `${scoreLabel} ${score(hit.score)}`)),
        fieldList(ordered)));
  }

  async function drawHit(name, id, image, media) {
    try {
      const blob = await api(`/v1/collections/${encodeURIComponent(name)}/documents/${encodeURIComponent(id)}`,
        { params: { depict: 'svg' }, as: 'blob' });
      if (mine !== generation) return;
      image.src = blobUrl(blob);
    } catch (_) {
      media.replaceChildren(el('p', { class: 'help', text: t('chemNoDrawing') }));
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    run(0);
  });

  fillCollections(collection, 'chemical', ['molecules']).catch((err) => showError(form, err));
}

export default {
  id: 'chemistry',
  title: 'chemistryTitle',
  render,
  leave() {
    generation += 1;
    forgetBlobs();
  },
};
