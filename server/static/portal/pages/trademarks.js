/* Trademarks: word marks by spelling, sound and meaning, figurative marks by image; registers
 * (Russian / international / well-known in Russia), Vienna code prefix, Nice classes (any of),
 * status; hits with the mark's image, its status badge and the modes that matched.
 *
 * The request the page sends is the CONTRACT's search body for a trademark collection:
 * `{query: {word} | {image_b64, strategy}, mode, k, offset, filter}`; the filter is built from
 * `register`, `status` (equality), `vienna_codes` ({prefix}) and `nice_classes` ({in: [...]}).
 */

import {
  addStrings, api, base64Of, clearErrors, collectionsOf, el, field, fieldError, fileProblem,
  limits, number, pager, score, section, showError, t,
} from '../core.js';
import { saveBar } from './expert.js';

const K = 10;
const MODES = ['all', 'spelling', 'phonetic', 'semantic'];
const STRATEGIES = ['composite', 'shape', 'colour', 'texture'];
const REGISTERS = ['', 'ru', 'international', 'well_known'];
const STATUSES = ['', 'registered', 'pending', 'expired', 'refused'];
const DATES = ['filed', 'registered', 'expires', 'priority'];
const VIENNA = /^([0-9]{1,2})(?:\.([0-9]{1,2}))?(?:\.([0-9]{1,2}))?$/;

/* The Vienna classification's 29 categories (8th edition), for the code picker. */
const VIENNA_EN = [
  'Celestial bodies, natural phenomena, geographical maps', 'Human beings', 'Animals',
  'Supernatural, fabulous, fantastic or unidentifiable beings', 'Plants', 'Landscapes',
  'Constructions, structures for advertisements, gates or barriers', 'Foodstuffs',
  'Textiles, clothing, sewing accessories, headwear, footwear',
  'Tobacco, smokers\' requisites, matches, travel goods, fans, toilet articles',
  'Household utensils', 'Furniture, sanitary installations',
  'Lighting, heating, cooking or refrigerating equipment, washing and drying machines',
  'Ironmongery, tools, ladders', 'Machinery, motors, engines',
  'Telecommunications, sound recording, computers, photography, cinematography, optics',
  'Horological instruments, jewellery, weights and measures', 'Transport, equipment for animals',
  'Containers and packing, representations of miscellaneous products',
  'Writing, drawing or painting materials, office requisites, stationery',
  'Games, toys, sporting articles, roundabouts',
  'Musical instruments, bells, pictures, sculptures', 'Arms, ammunition, armour',
  'Heraldry, coins, emblems, symbols', 'Ornamental motifs, surfaces or backgrounds with ornaments',
  'Geometrical figures and solids', 'Forms of writing, numerals',
  'Inscriptions in various characters', 'Colours',
];
const VIENNA_RU = [
  'Небесные тела, природные явления, географические карты', 'Люди', 'Животные',
  'Сверхъестественные, сказочные, фантастические или неопределённые существа', 'Растения', 'Пейзажи',
  'Строения, сооружения для рекламы, ворота или заграждения', 'Продукты питания',
  'Текстиль, одежда, швейные принадлежности, головные уборы, обувь',
  'Табак, принадлежности для курения, спички, дорожные принадлежности, веера, туалетные принадлежности',
  'Предметы домашнего обихода', 'Мебель, санитарно-техническое оборудование',
  'Осветительные, отопительные, кухонные и холодильные приборы, стиральные и сушильные машины',
  'Скобяные изделия, инструменты, лестницы', 'Машины, двигатели, моторы',
  'Телекоммуникации, звукозапись, компьютеры, фотография, кинематография, оптика',
  'Часы, ювелирные изделия, меры веса и длины', 'Транспорт, снаряжение для животных',
  'Тара и упаковка, изображения различных изделий',
  'Письменные, чертёжные и художественные принадлежности, канцелярские товары',
  'Игры, игрушки, спортивный инвентарь, карусели',
  'Музыкальные инструменты, колокола, картины, скульптуры', 'Оружие, боеприпасы, доспехи',
  'Геральдика, монеты, эмблемы, символы', 'Орнаментальные мотивы, поверхности или фоны с орнаментом',
  'Геометрические фигуры и тела', 'Формы письма, цифры',
  'Надписи различными шрифтами', 'Цвета',
];
const viennaKey = (n) => `tmVienna${String(n).padStart(2, '0')}`;

addStrings({
  en: {
    trademarksTitle: 'Trademarks',
    tmHeading: 'Trademark search',
    tmSearchKind: 'Kind of search',
    tmTabWord: 'Word mark',
    tmTabImage: 'Figurative mark',
    tmWordLabel: 'Word or phrase',
    tmWordHelp: 'Latin or Cyrillic; “PRO100” also finds “про сто”.',
    tmModeLabel: 'Similarity',
    tmMode_all: 'All: spelling, sound, meaning',
    tmMode_spelling: 'Spelling',
    tmMode_phonetic: 'Sound (phonetic)',
    tmMode_semantic: 'Meaning (semantic)',
    tmMode_image: 'Image',
    tmImageLabel: 'Image of the mark',
    tmImageHelp: 'PNG, JPEG, GIF or WebP, at most {max}.',
    tmImageNeeded: 'Choose an image of the mark.',
    tmPreview: 'Preview of the chosen image',
    tmStrategyLabel: 'Compare by',
    tmStrategy_composite: 'Overall look',
    tmStrategy_shape: 'Shape (colour ignored)',
    tmStrategy_colour: 'Colour',
    tmStrategy_texture: 'Texture',
    tmRegisterLegend: 'Register',
    tmRegister_: 'All registers',
    tmRegister_ru: 'Russian marks',
    tmRegister_international: 'International marks',
    tmRegister_well_known: 'Well-known marks in Russia',
    tmFilters: 'Filter',
    tmViennaLabel: 'Vienna classification code',
    tmViennaHelp: 'A category, division or section, e.g. 03, 03.01 or 03.01.08.',
    tmViennaBad: 'Not a Vienna code: write category 01–29, then division and section, e.g. 03.01.08.',
    tmNiceLegend: 'Nice classes (any of)',
    tmNiceClear: 'Clear classes',
    tmNiceClass: 'Class {n}',
    tmStatusLabel: 'Status',
    tmStatus_: 'Any status',
    tmStatus_registered: 'registered',
    tmStatus_pending: 'pending',
    tmStatus_expired: 'expired',
    tmStatus_refused: 'refused',
    tmResults: 'Results',
    tmFound: '{n} marks found; page {page}.',
    tmFailed: 'The search failed.',
    tmFigurative: '(figurative mark)',
    tmImageAlt: 'Image of trademark {id}',
    tmFieldRegister: 'Register',
    tmFieldNice: 'Nice classes',
    tmFieldVienna: 'Vienna codes',
    tmFieldOwner: 'Owner',
    tmFieldNumber: 'Number',
    tmField_filed: 'Filed',
    tmField_registered: 'Registered',
    tmField_expires: 'Expires',
    tmField_priority: 'Priority',
    tmFieldMatched: 'Matched by',
    tmRank: 'rank {n}',
    ...Object.fromEntries(VIENNA_EN.map((name, i) => [viennaKey(i + 1), name])),
  },
  ru: {
    trademarksTitle: 'Товарные знаки',
    tmHeading: 'Поиск товарных знаков',
    tmSearchKind: 'Вид поиска',
    tmTabWord: 'Словесный',
    tmTabImage: 'Изобразительный',
    tmWordLabel: 'Слово или словосочетание',
    tmWordHelp: 'Латиницей или кириллицей; по «PRO100» найдётся и «про сто».',
    tmModeLabel: 'Вид сходства',
    tmMode_all: 'Все виды сходства',
    tmMode_spelling: 'Графическое (написание)',
    tmMode_phonetic: 'Звуковое (фонетическое)',
    tmMode_semantic: 'Смысловое (семантическое)',
    tmMode_image: 'Изображение',
    tmImageLabel: 'Изображение знака',
    tmImageHelp: 'PNG, JPEG, GIF или WebP, не более {max}.',
    tmImageNeeded: 'Выберите изображение знака.',
    tmPreview: 'Просмотр выбранного изображения',
    tmStrategyLabel: 'Сравнивать по',
    tmStrategy_composite: 'общему виду',
    tmStrategy_shape: 'форме (без учёта цвета)',
    tmStrategy_colour: 'цвету',
    tmStrategy_texture: 'текстуре',
    tmRegisterLegend: 'Реестр',
    tmRegister_: 'Все реестры',
    tmRegister_ru: 'ТЗ РФ',
    tmRegister_international: 'Международные ТЗ',
    tmRegister_well_known: 'Общеизвестные ТЗ РФ',
    tmFilters: 'Фильтр',
    tmViennaLabel: 'Код МКИЭТЗ (Венская классификация)',
    tmViennaHelp: 'Категория, раздел или подраздел, например 03, 03.01 или 03.01.08.',
    tmViennaBad: 'Это не код МКИЭТЗ: укажите категорию 01–29, затем раздел и подраздел, например 03.01.08.',
    tmNiceLegend: 'Классы МКТУ (любой из)',
    tmNiceClear: 'Сбросить классы',
    tmNiceClass: 'Класс {n}',
    tmStatusLabel: 'Статус',
    tmStatus_: 'Любой статус',
    tmStatus_registered: 'зарегистрирован',
    tmStatus_pending: 'заявка на рассмотрении',
    tmStatus_expired: 'срок действия истёк',
    tmStatus_refused: 'отказано',
    tmResults: 'Результаты',
    tmFound: 'Найдено знаков: {n}; страница {page}.',
    tmFailed: 'Поиск не удался.',
    tmFigurative: '(изобразительный знак)',
    tmImageAlt: 'Изображение товарного знака {id}',
    tmFieldRegister: 'Реестр',
    tmFieldNice: 'Классы МКТУ',
    tmFieldVienna: 'Коды МКИЭТЗ',
    tmFieldOwner: 'Правообладатель',
    tmFieldNumber: 'Номер',
    tmField_filed: 'Дата подачи',
    tmField_registered: 'Дата регистрации',
    tmField_expires: 'Срок действия до',
    tmField_priority: 'Приоритет',
    tmFieldMatched: 'Сходство',
    tmRank: 'место {n}',
    ...Object.fromEntries(VIENNA_RU.map((name, i) => [viennaKey(i + 1), name])),
  },
});

/* What the page remembers across re-renders (a language switch draws the page again). */
const memory = {
  tab: 'word', word: '', mode: 'all', strategy: 'composite', register: '', vienna: '',
  nice: [], status: '', image: null, collection: null, body: null,
};
let controller = null;
const documents = new Map();

/** A string key for a value that may be unknown (`tmStatus_x` → the value itself). */
const known = (prefix, value) => {
  const key = `${prefix}${value}`;
  const text = t(key);
  return text === key ? String(value) : text;
};

/** `3.1` → `03.01`, `18.01.00` → `18.01`; null when not a Vienna code (category 01–29). */
export function viennaPrefix(value) {
  const match = VIENNA.exec(value.trim());
  if (!match) return null;
  const parts = match.slice(1).filter((p) => p !== undefined).map(Number);
  while (parts.length > 1 && parts[parts.length - 1] === 0) parts.pop();
  if (parts[0] < 1 || parts[0] > 29 || parts.slice(1).includes(0)) return null;
  return parts.map((p) => String(p).padStart(2, '0')).join('.');
}

/** The image type of base64 bytes, from their magic number. */
function imageType(b64) {
  if (b64.startsWith('iVBOR')) return 'image/png';
  if (b64.startsWith('/9j/')) return 'image/jpeg';
  if (b64.startsWith('R0lG')) return 'image/gif';
  if (b64.startsWith('UklG')) return 'image/webp';
  return 'application/octet-stream';
}

function tabs(onChange) {
  const list = el('div', { class: 'tabs', role: 'tablist', 'aria-label': t('tmSearchKind') });
  const buttons = ['word', 'image'].map((name) => el('button', {
    type: 'button', role: 'tab', id: `tm-tab-${name}`, 'data-tab': name,
    'aria-controls': `tm-panel-${name}`, text: t(name === 'word' ? 'tmTabWord' : 'tmTabImage'),
    onclick: () => select(name),
  }));
  list.append(...buttons);
  function select(name, focus = false) {
    for (const button of buttons) {
      const on = button.dataset.tab === name;
      button.setAttribute('aria-selected', String(on));
      button.tabIndex = on ? 0 : -1;
      if (on && focus) button.focus();
    }
    onChange(name);
  }
  list.addEventListener('keydown', (event) => {
    const at = buttons.findIndex((b) => b.getAttribute('aria-selected') === 'true');
    const next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: buttons.length - 1 }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    select(buttons[(next + buttons.length) % buttons.length].dataset.tab, true);
  });
  return { list, select };
}

function registerControl(onChange) {
  const set = el('fieldset', { class: 'tm-registers', id: 'tm-register', 'data-field': 'filter.register' },
    el('legend', { text: t('tmRegisterLegend') }));
  for (const value of REGISTERS) {
    const id = `tm-register-${value || 'all'}`;
    set.append(el('span', { class: 'tm-segment' },
      el('input', {
        type: 'radio', name: 'tm-register', id, value, checked: memory.register === value,
        onchange: () => onChange(value),
      }),
      el('label', { for: id, text: t(`tmRegister_${value}`) })));
  }
  return set;
}

function niceGrid() {
  const set = el('fieldset', { class: 'tm-nice', id: 'tm-nice', 'data-field': 'filter.nice_classes' },
    el('legend', { text: t('tmNiceLegend') }));
  const grid = el('div', { class: 'tm-nice-grid' });
  for (let n = 1; n <= 45; n += 1) {
    const id = `tm-nice-${n}`;
    grid.append(el('span', { class: 'tm-nice-box' },
      el('input', {
        type: 'checkbox', id, name: 'nice', value: String(n), checked: memory.nice.includes(n),
        'aria-label': t('tmNiceClass', { n }),
      }),
      el('label', { for: id, text: String(n), 'aria-hidden': 'true' })));
  }
  set.append(grid, el('button', {
    type: 'button', class: 'tm-nice-clear', text: t('tmNiceClear'),
    onclick: () => { for (const box of grid.querySelectorAll('input')) box.checked = false; },
  }));
  return set;
}

function choice(id, values, prefix, chosen, dataField) {
  return el('select', { id, 'data-field': dataField },
    values.map((v) => el('option', { value: v, selected: v === chosen, text: t(`${prefix}${v}`) })));
}

async function render(view, route) {
  if (route.params.get('word')) {
    Object.assign(memory, { tab: 'word', word: route.params.get('word'), body: null });
    if (MODES.includes(route.params.get('mode'))) memory.mode = route.params.get('mode');
  }
  const word = el('input', {
    type: 'search', id: 'tm-word', name: 'word', value: memory.word, maxLength: 200,
    autocomplete: 'off', 'data-field': 'query.word query',
  });
  const mode = choice('tm-mode', MODES, 'tmMode_', memory.mode, 'mode');
  const file = el('input', {
    type: 'file', id: 'tm-image', name: 'image', accept: 'image/png,image/jpeg,image/gif,image/webp',
    'data-field': 'query.image_b64',
  });
  const preview = el('img', {
    id: 'tm-preview', class: 'preview-image', alt: t('tmPreview'), hidden: !memory.image,
    src: memory.image ? `data:${memory.image.type};base64,${memory.image.b64}` : null,
  });
  const strategy = choice('tm-strategy', STRATEGIES, 'tmStrategy_', memory.strategy, 'query.strategy');
  const vienna = el('input', {
    type: 'text', id: 'tm-vienna', name: 'vienna', value: memory.vienna,
    inputMode: 'decimal', autocomplete: 'off', pattern: '[0-9]{1,2}(\\.[0-9]{1,2}){0,2}',
    'data-field': 'filter.vienna_codes',
  });
  vienna.setAttribute('list', 'tm-vienna-list'); // `list` is a read-only property
  const viennaList = el('datalist', { id: 'tm-vienna-list' },
    VIENNA_EN.map((_, i) => el('option', {
      value: String(i + 1).padStart(2, '0'), label: t(viennaKey(i + 1)),
    })));
  const statusSelect = choice('tm-status', STATUSES, 'tmStatus_', memory.status, 'filter.status');
  const collection = el('select', { id: 'tm-collection', 'data-field': 'collection' });
  const imageHelp = el('small', { id: 'tm-image-help', class: 'help' });

  const panels = {
    word: el('div', { role: 'tabpanel', id: 'tm-panel-word', 'aria-labelledby': 'tm-tab-word' },
      field(t('tmWordLabel'), word, t('tmWordHelp')), field(t('tmModeLabel'), mode)),
    image: el('div', { role: 'tabpanel', id: 'tm-panel-image', 'aria-labelledby': 'tm-tab-image' },
      el('div', { class: 'field' }, el('label', { for: 'tm-image', text: t('tmImageLabel') }), file,
        imageHelp, preview),
      field(t('tmStrategyLabel'), strategy)),
  };
  file.setAttribute('aria-describedby', 'tm-image-help');
  const { list: tabList, select: selectTab } = tabs((name) => {
    memory.tab = name;
    panels.word.hidden = name !== 'word';
    panels.image.hidden = name !== 'image';
  });

  const form = el('form', { class: 'search', id: 'tm-form', noValidate: true },
    tabList, panels.word, panels.image,
    el('fieldset', { class: 'tm-filters' }, el('legend', { text: t('tmFilters') }),
      field(t('tmViennaLabel'), vienna, t('tmViennaHelp')), viennaList,
      niceGrid(),
      el('div', { class: 'row' }, field(t('tmStatusLabel'), statusSelect),
        field(t('collection'), collection))),
    el('p', { class: 'form-error', role: 'alert' }),
    el('button', { type: 'submit', id: 'tm-submit', text: t('search') }));

  const summary = el('p', { id: 'tm-summary', class: 'tm-summary', 'aria-live': 'polite' });
  const results = el('div', { class: 'results', id: 'tm-results', 'aria-labelledby': 'tm-results-title' },
    el('h2', { id: 'tm-results-title', class: 'visually-hidden', text: t('tmResults') }),
    summary, el('div', { id: 'tm-hits' }));
  const registers = registerControl((value) => {
    memory.register = value;
    if (memory.body) run(0);
  });
  view.replaceChildren(section('trademarksTitle', registers,
    el('div', { class: 'layout' }, form, results)));
  selectTab(memory.tab);

  limits().then((lim) => {
    imageHelp.textContent = t('tmImageHelp', { max: bytesText(lim.image_bytes) });
    file.accept = lim.image_types.join(',');
  }).catch((err) => showError(form, err));
  collectionsOf('trademark', ['trademarks']).then((names) => {
    collection.replaceChildren(...names.map((n) => new Option(n, n)));
    if (names.includes(memory.collection)) collection.value = memory.collection;
  }).catch((err) => showError(form, err));

  file.addEventListener('change', async () => {
    clearErrors(form);
    memory.image = null;
    preview.hidden = true;
    preview.removeAttribute('src');
    const chosen = file.files[0];
    if (!chosen) return;
    const lim = await limits();
    const problem = fileProblem(chosen, { maxBytes: lim.image_bytes, types: lim.image_types });
    if (problem) {
      file.value = '';
      fieldError(file, problem);
      return;
    }
    const b64 = await base64Of(chosen);
    memory.image = { b64, type: chosen.type, name: chosen.name };
    preview.src = `data:${chosen.type};base64,${b64}`;
    preview.hidden = false;
  });

  /** The request body from the form, or null (with the problem shown) when it cannot be sent. */
  function bodyOf() {
    clearErrors(form);
    Object.assign(memory, {
      word: word.value, mode: mode.value, strategy: strategy.value, vienna: vienna.value,
      status: statusSelect.value, collection: collection.value || memory.collection,
      nice: [...form.querySelectorAll('input[name=nice]:checked')].map((box) => Number(box.value)),
    });
    const body = { query: {}, k: K, offset: 0 };
    if (memory.tab === 'word') {
      body.query.word = memory.word;
      body.mode = memory.mode;
    } else {
      if (!memory.image) {
        fieldError(file, t('tmImageNeeded'));
        return null;
      }
      body.query = { image_b64: memory.image.b64, strategy: memory.strategy };
      body.mode = 'image';
    }
    const filter = {};
    if (memory.vienna.trim()) {
      const prefix = viennaPrefix(memory.vienna);
      if (!prefix) {
        fieldError(vienna, t('tmViennaBad'));
        vienna.focus();
        return null;
      }
      filter.vienna_codes = { prefix };
    }
    if (memory.nice.length) filter.nice_classes = { in: memory.nice };
    if (memory.status) filter.status = memory.status;
    if (Object.keys(filter).length) body.filter = filter;
    return body;
  }

  async function run(offset) {
    const body = { ...memory.body, offset };
    if (memory.register) body.filter = { ...(body.filter || {}), register: memory.register };
    else if (body.filter) {
      const { register: _, ...rest } = body.filter;
      body.filter = Object.keys(rest).length ? rest : undefined;
    }
    if (!body.filter) delete body.filter;
    const name = memory.collection || 'trademarks';
    if (controller) controller.abort();
    controller = new AbortController();
    const { signal } = controller;
    summary.textContent = t('loading');
    results.setAttribute('aria-busy', 'true');
    try {
      const answer = await api(`/v1/collections/${encodeURIComponent(name)}/search`,
        { method: 'POST', body, signal });
      if (signal.aborted) return;
      showHits(name, body, answer);
    } catch (err) {
      if (signal.aborted || err.name === 'AbortError') return;
      memory.body = null; // not drawn again after a language switch
      summary.textContent = t('tmFailed');
      results.querySelector('#tm-hits').replaceChildren();
      showError(form, err);
    } finally {
      if (!signal.aborted) results.removeAttribute('aria-busy');
    }
  }

  function showHits(name, body, answer) {
    const total = answer.total ?? answer.hits.length;
    const page = Math.floor(body.offset / body.k) + 1;
    summary.textContent = total ? t('tmFound', { n: number(total), page }) : t('noHits');
    const hits = answer.hits;
    const list = el('ol', { class: 'hits tm-hits', start: body.offset + 1 }, hits.map((hit) => hitItem(name, hit)));
    results.querySelector('#tm-hits').replaceChildren(
      pager({ total, k: body.k, offset: body.offset, truncated: Boolean(answer.truncated), onPage: run }),
      saveBar(() => ({
        search: { collection: name, ...body },
        hits: hits.map((h) => ({ collection: name, id: h.id, score: h.score })),
      })),
      list);
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const body = bodyOf();
    if (!body) return;
    memory.body = body;
    run(0);
  });

  if (route.params.get('word')) form.requestSubmit();
  else if (memory.body) run(memory.body.offset || 0);
}

function bytesText(n) {
  return n >= 1024 ** 2 ? `${number(n / 1024 ** 2, 1)} MiB` : `${number(n / 1024, 1)} KiB`;
}

function thumbnail(name, hit) {
  const img = el('img', { alt: t('tmImageAlt', { id: hit.fields.word || hit.id }), width: 128, height: 128 });
  const key = `${name}/${hit.id}`;
  if (!documents.has(key)) {
    const promise = api(`/v1/collections/${encodeURIComponent(name)}/documents/${encodeURIComponent(hit.id)}`);
    promise.catch(() => documents.delete(key));
    documents.set(key, promise);
  }
  documents.get(key).then((doc) => {
    const b64 = doc.content && doc.content.image_b64;
    if (b64) img.src = `data:${imageType(b64)};base64,${b64}`;
  }).catch(() => { img.alt = `${img.alt} (—)`; });
  return el('div', { class: 'hit-media' }, img);
}

function matched(match) {
  if (!match) return null;
  const modes = match.mode === 'all' ? Object.entries(match.modes || {}) : [[match.mode, match]];
  return el('span', { class: 'tm-matched' }, modes.map(([mode, m]) => {
    const parts = [known('tmMode_', mode)];
    if (m.rank) parts.push(t('tmRank', { n: m.rank }));
    if (m.score !== undefined) parts.push(score(m.score));
    if (m.query_key) parts.push(`${m.query_key} ~ ${m.mark_key}`);
    else if (m.query !== undefined && m.mark !== undefined) parts.push(`${m.query} ~ ${m.mark}`);
    if (m.strategy) parts.push(known('tmStrategy_', m.strategy));
    return el('span', { class: 'tag', 'data-mode': mode, text: parts.join(' · ') });
  }));
}

function hitItem(name, hit) {
  const f = hit.fields || {};
  const rows = [];
  const row = (label, value, key) => {
    if (value === null || value === undefined || value === '' || (Array.isArray(value) && !value.length)) return;
    rows.push(el('dt', { text: label }),
      el('dd', { 'data-field': key }, value instanceof Node ? value : String(value)));
  };
  row(t('tmFieldRegister'), f.register ? known('tmRegister_', f.register) : null, 'register');
  row(t('tmFieldNice'), (f.nice_classes || []).join(', '), 'nice_classes');
  row(t('tmFieldVienna'), (f.vienna_codes || []).join(', '), 'vienna_codes');
  row(t('tmFieldOwner'), f.owner, 'owner');
  row(t('tmFieldNumber'), f.number, 'number');
  for (const date of DATES) row(t(`tmField_${date}`), f[date], date);
  row(t('tmFieldMatched'), matched(hit.match), 'match');
  const status = f.status ? el('span', {
    class: `badge ${String(f.status).toLowerCase().replace(/[^a-z_-]/g, '')}`,
    'data-status': f.status, text: known('tmStatus_', f.status),
  }) : null;
  return el('li', {
    class: 'hit', 'data-id': hit.id, 'data-score': String(hit.score), 'data-register': f.register || '',
  },
  f.has_image ? thumbnail(name, hit) : null,
  el('div', { class: 'hit-body' },
    el('div', { class: 'hit-head' },
      el('strong', { class: 'tm-word', text: f.word || t('tmFigurative') }),
      status,
      el('span', { class: 'hit-id', text: hit.id }),
      el('span', { class: 'hit-score', text: `${t('score')} ${score(hit.score)}` })),
    el('dl', { class: 'fields' }, rows)));
}

export default {
  id: 'trademarks',
  title: 'trademarksTitle',
  render,
  leave() {
    if (controller) controller.abort();
    controller = null;
  },
};
