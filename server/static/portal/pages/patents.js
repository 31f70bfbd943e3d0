/* Patent search: "what are you looking for?" with a passage or a whole document.
 *
 * One request per search: POST /v1/collections/{name}/search with `{query: {text}, k, offset,
 * filter, mode}`. What the engine offers for long texts (engine/text.py, models/text.py):
 * every stored document is split into token windows ("chunks"); a hit is a document scored by
 * its best chunk, and `hit.chunk` = {index, start, end} gives that chunk's character span in
 * the document's text. A long *query* is chunked too and searched with the normalised mean of
 * its chunk vectors: one vector standing for the whole document. Hence the choice here:
 *  - passage: the text is a claim or a paragraph; any mode (dense / lexical BM25 / hybrid with
 *    `query.weight` as the dense share) applies, hybrid by default;
 *  - whole document: the request is sent with `mode: "dense"` (the pooled document vector);
 *    the lexical branch would cut a document down to its first 512 distinct terms OR-ed
 *    together, which matches nearly every chunk, so it is not offered.
 * Each hit shows the matching passage: the document is fetched (GET …/documents/{id}, a page's
 * documents in parallel, cached), and its text around [start, end) is shown with the span in
 * <mark> and the query's words in bold inside it.
 *
 * Filters: IPC prefix, country, filing date range, technology center; facet counts (GET
 * …/facets, after the search succeeded, over the same filter) drill down: a click adds the
 * value as a filter and searches again.
 */

import {
  addStrings, api, clearErrors, el, field, fieldError, fieldList, fileProblem, fillCollections,
  limits, number, pager, score, section, showError, status, t,
} from '../core.js';
import { saveBar } from './expert.js';

addStrings({
  en: {
    patentsTitle: 'Patents',
    patHeading: 'Patents: what are you looking for?',
    patLead: 'Describe the invention in your own words, paste a claim or a passage, or load a '
      + 'whole application: the most similar patent documents come first, each with the passage '
      + 'that matched.',
    patText: 'Passage or document text',
    patTextPlaceholder: 'e.g. a negative electrode pre-lithiated before the cell is assembled',
    patTextHelp: 'Up to {n} characters.',
    patTextTooLong: 'The text has {n} characters; at most {max} can be searched.',
    patTextEmpty: 'Enter a passage or load a file.',
    patFile: 'Or load a text file (.txt, .md)',
    patFileHelp: 'The file is read in the browser into the text box above; nothing is sent until you search.',
    patFileLoaded: 'Loaded {name}: {n} characters.',
    patScope: 'What is the text?',
    patScopePassage: 'A passage',
    patScopeDocument: 'A whole document',
    patScopePassageHelp: 'A claim, an abstract or a paragraph. Searched in the mode chosen below; '
      + 'hybrid adds exact-word (BM25) matching to the meaning model.',
    patScopeDocumentHelp: 'A complete application. It is cut into the model\'s windows and searched '
      + 'as one vector, the mean of its windows (dense mode; word matching is not used for a '
      + 'whole document).',
    patMode: 'Search mode',
    patModeDense: 'Meaning (dense vectors)',
    patModeLexical: 'Exact words (BM25)',
    patModeHybrid: 'Hybrid: meaning + words',
    patModeHelpDocument: 'A whole document is always searched by meaning.',
    patWeight: 'Meaning share in hybrid: {w}',
    patWeightHelp: '1 = meaning only, 0 = words only.',
    patFilters: 'Filters',
    patIpc: 'IPC code (prefix)',
    patIpcPlaceholder: 'e.g. A61K',
    patIpcHelp: 'A code (A61K, A61K 31/00) keeps the documents classified under it; other text, the codes starting with it.',
    patCountry: 'Country',
    patCountryPlaceholder: 'e.g. RU',
    patTc: 'Technology center',
    patFrom: 'Filed from',
    patTo: 'Filed until',
    patDateHelp: 'YYYY-MM-DD or DD.MM.YYYY',
    patClear: 'Clear filters',
    patFacets: 'Refine by classification',
    patFacetsHelp: 'Documents matching the filters, by value; choose one to add it as a filter.',
    patFacetIpc: 'IPC',
    patFacetTc: 'Technology center',
    patFacetCountry: 'Country',
    patFacetNone: 'No classification counts for these documents.',
    patFacetIpcNone: 'This collection has no IPC codes.',
    patFacetAdd: 'Add filter {field} = {value} ({n} documents)',
    patFacetAdded: 'Filter added: {field} = {value}.',
    patFacetUp: 'IPC: up one level',
    patShown: 'Shown {from}–{to} of {total}.',
    patResults: 'Results',
    patPassage: 'Matching passage (part {n})',
    patNoPassage: 'The document text could not be loaded.',
    patScore: 'Similarity {s}',
    patFieldCountry: 'Country',
    patFieldTc: 'Technology center',
    patFieldTcDescription: 'Center\'s field',
    patFieldArtUnit: 'Art unit',
    patFieldFilingDate: 'Filing date',
    patFieldPatentNumber: 'Patent number',
    patFieldIpc: 'IPC',
    patFieldApplicant: 'Applicant',
    patFieldPublicationDate: 'Publication date',
  },
  ru: {
    patentsTitle: 'Патенты',
    patHeading: 'Патенты: что вы ищете?',
    patLead: 'Опишите изобретение своими словами, вставьте пункт формулы или фрагмент текста либо '
      + 'загрузите заявку целиком: первыми идут наиболее близкие патентные документы, у каждого '
      + 'показан совпавший фрагмент.',
    patText: 'Фрагмент или текст документа',
    patTextPlaceholder: 'например: отрицательный электрод, предварительно литированный до сборки элемента',
    patTextHelp: 'Не более {n} символов.',
    patTextTooLong: 'В тексте {n} символов; искать можно не более {max}.',
    patTextEmpty: 'Введите фрагмент текста или загрузите файл.',
    patFile: 'Или загрузите текстовый файл (.txt, .md)',
    patFileHelp: 'Файл читается в браузере в поле текста выше; ничего не отправляется до начала поиска.',
    patFileLoaded: 'Загружен файл {name}: символов — {n}.',
    patScope: 'Что представляет собой текст?',
    patScopePassage: 'Фрагмент',
    patScopeDocument: 'Документ целиком',
    patScopePassageHelp: 'Пункт формулы, реферат или абзац. Поиск в выбранном ниже режиме; '
      + 'гибридный режим добавляет к смысловой модели поиск по точным словам (BM25).',
    patScopeDocumentHelp: 'Заявка целиком. Текст делится на окна модели и ищется одним вектором — '
      + 'средним по окнам (смысловой режим; поиск по словам для целого документа не применяется).',
    patMode: 'Режим поиска',
    patModeDense: 'По смыслу (векторы)',
    patModeLexical: 'По точным словам (BM25)',
    patModeHybrid: 'Гибридный: смысл + слова',
    patModeHelpDocument: 'Документ целиком всегда ищется по смыслу.',
    patWeight: 'Доля смысла в гибридном режиме: {w}',
    patWeightHelp: '1 — только смысл, 0 — только слова.',
    patFilters: 'Фильтры',
    patIpc: 'Индекс МПК (начало)',
    patIpcPlaceholder: 'например: A61K',
    patIpcHelp: 'Индекс (A61K, A61K 31/00) оставляет документы, отнесённые к нему или к его подрубрикам; иной текст — индексы, начинающиеся с него.',
    patCountry: 'Страна',
    patCountryPlaceholder: 'например: RU',
    patTc: 'Технологический центр',
    patFrom: 'Дата подачи с',
    patTo: 'Дата подачи по',
    patDateHelp: 'ГГГГ-ММ-ДД или ДД.ММ.ГГГГ',
    patClear: 'Сбросить фильтры',
    patFacets: 'Уточнить по классификации',
    patFacetsHelp: 'Число документов, отвечающих фильтрам, по значениям; выберите значение, чтобы добавить его в фильтр.',
    patFacetIpc: 'МПК',
    patFacetTc: 'Технологический центр',
    patFacetCountry: 'Страна',
    patFacetNone: 'Для этих документов нет данных классификации.',
    patFacetIpcNone: 'В этой коллекции нет индексов МПК.',
    patFacetAdd: 'Добавить фильтр {field} = {value} (документов: {n})',
    patFacetAdded: 'Добавлен фильтр: {field} = {value}.',
    patFacetUp: 'МПК: на уровень выше',
    patShown: 'Показаны {from}–{to} из {total}.',
    patResults: 'Результаты',
    patPassage: 'Совпавший фрагмент (часть {n})',
    patNoPassage: 'Не удалось загрузить текст документа.',
    patScore: 'Сходство {s}',
    patFieldCountry: 'Страна',
    patFieldTc: 'Технологический центр',
    patFieldTcDescription: 'Область центра',
    patFieldArtUnit: 'Экспертный отдел',
    patFieldFilingDate: 'Дата подачи',
    patFieldPatentNumber: 'Номер патента',
    patFieldIpc: 'МПК',
    patFieldApplicant: 'Заявитель',
    patFieldPublicationDate: 'Дата публикации',
  },
});

const K = 10;
const CACHED_DOCUMENTS = 60;
const CONTEXT = 200; // characters of the document shown on each side of the matching chunk
const MODES = [['hybrid', 'patModeHybrid'], ['dense', 'patModeDense'], ['lexical', 'patModeLexical']];
const FACETS = [ // [field, label key, filter control id]
  ['ipc', 'patFacetIpc', 'pat-ipc'],
  ['technology_center', 'patFacetTc', 'pat-tc'],
  ['country', 'patFacetCountry', 'pat-country'],
];
const SKIP_FIELDS = ['title', 'status', 'kind'];
const FIELD_LABELS = {
  country: 'patFieldCountry', technology_center: 'patFieldTc', tc_description: 'patFieldTcDescription',
  art_unit: 'patFieldArtUnit', filing_date: 'patFieldFilingDate', patent_number: 'patFieldPatentNumber',
  ipc: 'patFieldIpc', applicant: 'patFieldApplicant', publication_date: 'patFieldPublicationDate',
};
/* IPC codes the facet route accepts as a prefix (a code with children). */
const IPC_PREFIX = /^[A-H](\d\d([A-Z]( ?\d{1,4}\/00)?)?)?$/;
/* A whole IPC code (section to subgroup): filtered with `under`, whatever its spelling. */
const IPC_CODE = /^[A-H](\d\d([A-Z]( ?\d{1,4}\/\d{2,6})?)?)?$/;

/* What survives a re-render (the language switch redraws the page). */
const saved = {
  collection: '', text: '', scope: 'passage', mode: 'hybrid', weight: '0.7',
  ipc: '', country: '', tc: '', from: '', to: '',
};
let last = null; // {search, answer, facets}
let sequence = 0; // the newest search; older answers are dropped
const documents = new Map(); // `${collection}/${id}` → Promise of the document text

function documentText(collection, id) {
  const key = `${collection}/${id}`;
  if (!documents.has(key)) {
    const promise = api(`/v1/collections/${encodeURIComponent(collection)}/documents/${encodeURIComponent(id)}`)
      .then((doc) => String((doc.content && doc.content.text) || ''));
    promise.catch(() => documents.delete(key));
    documents.set(key, promise);
    // keep the last few pages' documents only (a document may hold megabytes of text)
    if (documents.size > CACHED_DOCUMENTS) documents.delete(documents.keys().next().value);
  }
  return documents.get(key);
}

/** `16.08.2022` → `2022-08-16`; anything else as typed (the server names a bad date). */
function isoDate(text) {
  const value = text.trim();
  const dotted = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/.exec(value);
  if (!dotted) return value;
  return `${dotted[3]}-${dotted[2].padStart(2, '0')}-${dotted[1].padStart(2, '0')}`;
}

/** A CSS class for a status badge: granted / refused-or-lapsed / pending. */
function statusClass(value) {
  const text = String(value || '').toLowerCase();
  if (/abandon|expired|withdrawn|reject|refus|lapsed/.test(text)) return 'rejected';
  if (/patented|granted|allowed|issue fee|registered/.test(text)) return 'granted';
  return 'pending';
}

const STOP_WORDS = new Set(('the and for with that this from are was were which into its has have '
  + 'than such said where when what who wherein или для при что как это его она они так также '
  + 'который которая которые через между после более менее').split(' '));

/** Words of the query worth marking inside a passage (3+ letters, no stop words, no repeats);
 * each marks the words it begins (`electrode` marks `electrodes`). */
function queryWords(text) {
  const words = (text.toLowerCase().match(/[\p{L}\p{N}]{3,}/gu) || []);
  return [...new Set(words)].filter((w) => !STOP_WORDS.has(w)).slice(0, 200);
}

/** `text` as nodes with the query's words in <b class="qterm">. */
function withWords(text, words) {
  if (!words.length) return [text];
  const escaped = words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}])(${escaped.join('|')})`, 'giu');
  const nodes = [];
  let at = 0;
  for (const found of text.matchAll(pattern)) {
    if (found.index > at) nodes.push(text.slice(at, found.index));
    nodes.push(el('b', { class: 'qterm', text: found[0] }));
    at = found.index + found[0].length;
  }
  if (at < text.length) nodes.push(text.slice(at));
  return nodes;
}

/** The passage of `text` around [start, end), the span in <mark>. */
function passage(text, chunk, words) {
  const start = Math.max(0, Math.min(chunk.start, text.length));
  const end = Math.max(start, Math.min(chunk.end, text.length));
  const before = Math.max(0, start - CONTEXT);
  const after = Math.min(text.length, end + CONTEXT);
  return el('blockquote', {
    class: 'passage', tabindex: '0', 'data-start': String(start), 'data-end': String(end),
    'aria-label': t('patPassage', { n: chunk.index + 1 }),
  },
  before > 0 ? '… ' : '',
  text.slice(before, start),
  el('mark', { 'data-chunk': String(chunk.index) }, ...withWords(text.slice(start, end), words)),
  text.slice(end, after),
  after < text.length ? ' …' : '');
}

function readForm(form) {
  saved.collection = form.elements.collection.value;
  saved.text = form.elements.text.value;
  saved.scope = form.elements.scope.value;
  saved.mode = form.elements.mode.value;
  saved.weight = form.elements.weight.value;
  for (const name of ['ipc', 'country', 'tc', 'from', 'to']) saved[name] = form.elements[name].value;
}

/** The request the form describes: `{collection, query, k, offset, filter?, mode}`. */
function requestOf(offset = 0) {
  const filter = {};
  const ipc = saved.ipc.trim().toUpperCase();
  // a whole code: the documents classified under it (`A61K 31/00` also finds `A61K0031495000`);
  // anything else (`A61K 3`) compares the stored strings' beginnings
  if (ipc) filter.ipc = IPC_CODE.test(ipc) ? { under: ipc } : { prefix: ipc };
  const country = saved.country.trim().toUpperCase();
  if (country) filter.country = country;
  if (saved.tc.trim()) filter.technology_center = saved.tc.trim();
  const range = {};
  if (saved.from.trim()) range.gte = isoDate(saved.from);
  if (saved.to.trim()) range.lte = isoDate(saved.to);
  if (Object.keys(range).length) filter.filing_date = range;
  const whole = saved.scope === 'document';
  const mode = whole ? 'dense' : saved.mode;
  const query = { text: saved.text };
  if (mode === 'hybrid') query.weight = Number(saved.weight);
  const search = { collection: saved.collection, query, k: K, offset, mode };
  if (Object.keys(filter).length) search.filter = filter;
  return search;
}

async function render(view, route) {
  const q = route.params.get('q');
  if (q) saved.text = q;
  const collection = el('select', { id: 'pat-collection', name: 'collection', 'data-field': 'collection' });
  const text = el('textarea', {
    id: 'pat-text', name: 'text', rows: 7, 'data-field': 'query query.text',
    placeholder: t('patTextPlaceholder'), value: saved.text,
  });
  const file = el('input', {
    id: 'pat-file', name: 'file', type: 'file', accept: '.txt,.md,text/plain,text/markdown',
  });
  const scopeRadio = (value, labelKey, helpKey) => {
    const id = `pat-scope-${value}`;
    return el('div', { class: 'choice' },
      el('input', {
        type: 'radio', id, name: 'scope', value, checked: saved.scope === value,
        'aria-describedby': `${id}-help`,
      }),
      el('label', { for: id, text: t(labelKey) }),
      el('small', { id: `${id}-help`, class: 'help', text: t(helpKey) }));
  };
  const scope = el('fieldset', { id: 'pat-scope' },
    el('legend', { text: t('patScope') }),
    scopeRadio('passage', 'patScopePassage', 'patScopePassageHelp'),
    scopeRadio('document', 'patScopeDocument', 'patScopeDocumentHelp'));
  const mode = el('select', { id: 'pat-mode', name: 'mode', 'data-field': 'mode' },
    MODES.map(([value, key]) => new Option(t(key), value)));
  mode.value = saved.mode;
  const weight = el('input', {
    id: 'pat-weight', name: 'weight', type: 'range', min: 0, max: 1, step: 0.05,
    value: saved.weight, 'data-field': 'query.weight',
  });
  const weightLabel = el('label', { for: 'pat-weight' });
  const weightField = el('div', { class: 'field', id: 'pat-weight-field' }, weightLabel, weight,
    el('small', { class: 'help', id: 'pat-weight-help', text: t('patWeightHelp') }));
  weight.setAttribute('aria-describedby', 'pat-weight-help');
  const modeHelp = el('small', { id: 'pat-mode-help', class: 'help' });
  mode.setAttribute('aria-describedby', 'pat-mode-help');
  const modeField = el('div', { class: 'field' }, el('label', { for: 'pat-mode', text: t('patMode') }), mode, modeHelp);

  const input = (id, name, dataField, value, extra = {}) => el('input', {
    id, name, type: 'text', value, 'data-field': dataField, autocomplete: 'off', ...extra,
  });
  const ipc = input('pat-ipc', 'ipc', 'filter.ipc', saved.ipc, { placeholder: t('patIpcPlaceholder') });
  ipc.setAttribute('autocapitalize', 'characters');
  const country = input('pat-country', 'country', 'filter.country', saved.country, {
    placeholder: t('patCountryPlaceholder'), autocapitalize: 'characters',
  });
  country.setAttribute('list', 'pat-country-list'); // `list` is a read-only property
  const tc = input('pat-tc', 'tc', 'filter.technology_center', saved.tc);
  tc.setAttribute('list', 'pat-tc-list');
  const from = input('pat-from', 'from', 'filter.filing_date.gte filter.filing_date', saved.from, {
    placeholder: t('patDateHelp'), inputmode: 'numeric',
  });
  const to = input('pat-to', 'to', 'filter.filing_date.lte', saved.to, {
    placeholder: t('patDateHelp'), inputmode: 'numeric',
  });

  const summary = el('p', { id: 'pat-summary', class: 'result-summary', 'aria-live': 'polite' });
  const facets = el('div', { id: 'pat-facets', class: 'pat-facets', hidden: true });
  const results = el('div', { id: 'pat-results' });

  const form = el('form', { class: 'search', id: 'pat-form', novalidate: true },
    field(t('collection'), collection),
    field(t('patText'), text, null),
    field(t('patFile'), file, t('patFileHelp')),
    scope,
    modeField,
    weightField,
    el('fieldset', { id: 'pat-filters' },
      el('legend', { text: t('patFilters') }),
      field(t('patIpc'), ipc, t('patIpcHelp')),
      el('div', { class: 'row' }, field(t('patCountry'), country), field(t('patTc'), tc)),
      el('div', { class: 'row' }, field(t('patFrom'), from, t('patDateHelp')),
        field(t('patTo'), to, t('patDateHelp'))),
      el('datalist', { id: 'pat-country-list' }),
      el('datalist', { id: 'pat-tc-list' }),
      el('button', {
        type: 'button', id: 'pat-clear', text: t('patClear'),
        onclick: () => {
          for (const node of [ipc, country, tc, from, to]) node.value = '';
          if (last) search(form, 0);
        },
      })),
    el('p', { class: 'form-error', role: 'alert' }),
    el('button', { type: 'submit', id: 'pat-submit', text: t('search') }));

  const sync = () => {
    const whole = form.elements.scope.value === 'document';
    mode.disabled = whole;
    modeHelp.textContent = whole ? t('patModeHelpDocument') : '';
    const hybrid = !whole && mode.value === 'hybrid';
    weightField.hidden = !hybrid;
    weightLabel.textContent = t('patWeight', { w: Number(weight.value).toFixed(2) });
  };
  scope.addEventListener('change', sync);
  mode.addEventListener('change', sync);
  weight.addEventListener('input', sync);
  file.addEventListener('change', () => loadFile(form, file, text));
  form.addEventListener('input', () => readForm(form)); // kept across a re-render
  form.addEventListener('change', () => readForm(form));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    search(form, 0);
  });

  view.replaceChildren(section('patHeading',
    el('p', { class: 'lead', text: t('patLead') }),
    el('div', { class: 'layout' },
      el('div', {}, form, facets),
      el('div', { class: 'results', 'aria-labelledby': 'pat-results-title' },
        el('h2', { id: 'pat-results-title', class: 'visually-hidden', text: t('patResults') }),
        summary, results))));
  sync();

  limits().then((l) => {
    const help = el('small', { id: 'pat-text-help', class: 'help', text: t('patTextHelp', { n: number(l.text_chars) }) });
    text.after(help);
    text.setAttribute('aria-describedby', 'pat-text-help');
  }).catch(() => {});
  try {
    await fillCollections(collection, 'text', ['patents']);
    if (saved.collection) collection.value = saved.collection;
  } catch (err) {
    showError(form, err);
    return;
  }
  if (q) search(form, 0);
  else if (last && last.search.collection === collection.value) {
    draw(form, last.search, last.answer, last.facets);
  }
}

async function loadFile(form, file, text) {
  clearErrors(form);
  const chosen = file.files[0];
  if (!chosen) return;
  let max;
  try {
    max = (await limits()).text_chars;
  } catch (err) {
    showError(form, err);
    return;
  }
  // A character is at most 4 bytes of UTF-8: a larger file cannot fit; a smaller one is
  // checked again once read.
  const problem = fileProblem(chosen, {
    maxBytes: max * 4, types: ['text/plain', 'text/markdown'], extensions: ['txt', 'md'],
  });
  if (problem) {
    fieldError(file, problem);
    file.value = '';
    return;
  }
  const content = await chosen.text();
  if (content.length > max) {
    fieldError(file, t('patTextTooLong', { n: number(content.length), max: number(max) }));
    file.value = '';
    return;
  }
  text.value = content;
  readForm(form);
  status(t('patFileLoaded', { name: chosen.name, n: number(content.length) }));
}

/** Search with the form's request (`again`: a page of the last request, the form unread). */
async function search(form, offset, again = null) {
  clearErrors(form);
  const textBox = form.elements.text;
  if (!again) {
    readForm(form);
    if (!saved.text.trim()) {
      fieldError(textBox, t('patTextEmpty'));
      textBox.focus();
      return;
    }
    try {
      const max = (await limits()).text_chars;
      if (saved.text.length > max) {
        fieldError(textBox, t('patTextTooLong', { n: number(saved.text.length), max: number(max) }));
        textBox.focus();
        return;
      }
    } catch (_) { /* the server checks the length anyway */ }
  }
  const request = again ? { ...again, offset } : requestOf(offset);
  const { collection, ...body } = request;
  const mine = ++sequence;
  const submit = form.querySelector('#pat-submit');
  submit.disabled = true;
  status(t('loading'));
  const results = document.getElementById('pat-results');
  if (results) results.setAttribute('aria-busy', 'true');
  try {
    const answer = await api(`/v1/collections/${encodeURIComponent(collection)}/search`, { method: 'POST', body });
    if (mine !== sequence) return;
    const facetAnswer = again && last ? last.facets : null;
    last = { search: request, answer, facets: facetAnswer };
    status('');
    draw(form, request, answer, facetAnswer);
    if (facetAnswer === null) loadFacets(form, request, mine);
  } catch (err) {
    if (mine !== sequence) return;
    status('');
    showError(form, err);
  } finally {
    if (mine === sequence) {
      submit.disabled = false;
      if (results) results.removeAttribute('aria-busy');
    }
  }
}

/** Facet counts over the documents passing the search's filter, one GET per field. */
async function loadFacets(form, request, mine) {
  const filter = request.filter ? JSON.stringify(request.filter) : undefined;
  const ipc = request.filter && request.filter.ipc;
  const ipcPrefix = ipc ? ipc.under || ipc.prefix : '';
  const path = `/v1/collections/${encodeURIComponent(request.collection)}/facets`;
  const answers = await Promise.all(FACETS.map(([name]) => {
    const prefix = name === 'ipc' && IPC_PREFIX.test(ipcPrefix) ? ipcPrefix : undefined;
    if (name === 'ipc' && ipcPrefix && !prefix) return null; // not a code the facet can expand
    return api(path, { params: { field: name, prefix, limit: 20, filter } }).catch(() => null);
  }));
  if (mine !== sequence || !last) return;
  last.facets = answers;
  drawFacets(form, answers);
}

function drawFacets(form, answers) {
  const box = document.getElementById('pat-facets');
  if (!box) return;
  const groups = [];
  FACETS.forEach(([name, labelKey, controlId], i) => {
    const answer = answers && answers[i];
    const values = (answer && answer.values || []).filter((v) => v.count > 0);
    if (name === 'ipc') {
      const prefix = (answer && answer.prefix) || '';
      const up = prefix ? el('button', {
        type: 'button', class: 'pat-facet-up', text: `↑ ${t('patFacetUp')}`,
        onclick: () => {
          const parent = ipcParent(prefix);
          form.elements.ipc.value = parent;
          search(form, 0);
        },
      }) : null;
      if (!values.length) {
        if (!prefix) {
          groups.push(el('div', { class: 'pat-facet', 'data-facet': name },
            el('h3', { text: t(labelKey) }),
            el('p', { class: 'help', text: t('patFacetIpcNone') })));
          return;
        }
        groups.push(el('div', { class: 'pat-facet', 'data-facet': name }, el('h3', { text: `${t(labelKey)}: ${prefix}` }), up));
        return;
      }
      groups.push(facetGroup(form, name, prefix ? `${t(labelKey)}: ${prefix}` : t(labelKey), values, controlId, up));
      return;
    }
    if (values.length) groups.push(facetGroup(form, name, t(labelKey), values, controlId, null));
    const list = document.getElementById(name === 'country' ? 'pat-country-list' : 'pat-tc-list');
    if (list && values.length && name !== 'ipc') {
      list.replaceChildren(...values.map((v) => el('option', { value: String(v.value) })));
    }
  });
  box.hidden = false;
  box.replaceChildren(el('div', { class: 'box' },
    el('h2', { text: t('patFacets') }),
    el('p', { class: 'help', text: t('patFacetsHelp') }),
    ...groups));
}

function facetGroup(form, name, title, values, controlId, extra) {
  const label = form.querySelector(`label[for="${controlId}"]`);
  const fieldName = label ? label.textContent : name;
  return el('div', { class: 'pat-facet', 'data-facet': name },
    el('h3', { text: title }),
    extra,
    el('ul', { class: 'plain' }, values.map((v) => el('li', {},
      el('button', {
        type: 'button', class: 'pat-facet-value', 'data-facet-field': name, 'data-value': String(v.value),
        'aria-label': t('patFacetAdd', { field: fieldName, value: v.value, n: number(v.count) }),
        onclick: () => {
          document.getElementById(controlId).value = String(v.value);
          status(t('patFacetAdded', { field: fieldName, value: v.value }));
          search(form, 0);
        },
      }, el('span', { text: String(v.value) }), ' ', el('span', { class: 'pat-count', text: number(v.count) }))))));
}

/** The IPC code one level up: `A61K 31/00` → `A61K` → `A61` → `A` → ''. */
function ipcParent(code) {
  if (/\//.test(code)) return code.split(/[ /]/)[0].slice(0, 4);
  if (code.length === 4) return code.slice(0, 3);
  if (code.length === 3) return code.slice(0, 1);
  return '';
}

function draw(form, request, answer, facetAnswer) {
  const results = document.getElementById('pat-results');
  const summary = document.getElementById('pat-summary');
  if (!results) return;
  const { collection } = request;
  const hits = answer.hits || [];
  const total = answer.total ?? hits.length;
  summary.textContent = hits.length
    ? t('patShown', {
      from: number(request.offset + 1), to: number(request.offset + hits.length), total: number(total),
    })
    : t('noHits');
  const onPage = (offset) => {
    search(form, offset, request).then(() => {
      const heading = document.getElementById('pat-summary');
      if (heading) heading.scrollIntoView({ block: 'nearest' });
    });
  };
  const words = request.mode === 'dense' && request.query.text.length > 2000 ? [] : queryWords(request.query.text);
  const list = el('ol', { class: 'hits', id: 'pat-hits', start: String(request.offset + 1) });
  for (const hit of hits) list.append(hitItem(collection, hit, words));
  results.replaceChildren(
    saveBar(() => ({
      search: request,
      hits: hits.map((h) => ({ collection, id: h.id, score: h.score })),
    })),
    pager({ total, k: request.k, offset: request.offset, onPage, truncated: Boolean(answer.truncated) }),
    hits.length ? list : '',
    hits.length > 3 ? pager({ total, k: request.k, offset: request.offset, onPage, truncated: Boolean(answer.truncated) }) : '',
  );
  if (facetAnswer) drawFacets(form, facetAnswer);
  // the passages: every document of the page at once
  for (const hit of hits) {
    if (!hit.chunk) continue;
    const slot = list.querySelector(`[data-passage-for="${CSS.escape(hit.id)}"]`);
    documentText(collection, hit.id).then((text) => {
      // a document that is only its title: the title above already shows the match
      const title = String((hit.fields && hit.fields.title) || '').trim();
      if (title && text.trim() === title) slot.remove();
      else slot.replaceChildren(passage(text, hit.chunk, words));
    }).catch(() => {
      slot.replaceChildren(el('p', { class: 'help', text: t('patNoPassage') }));
    });
  }
}

/** The field names of a hit's list in the user's language (`data-field` keeps the name). */
function labelled(list) {
  for (const dt of list.querySelectorAll('dt')) {
    const name = dt.textContent;
    dt.dataset.field = name;
    const key = FIELD_LABELS[name];
    if (key) dt.textContent = t(key);
  }
  return list;
}

function hitItem(collection, hit, words) {
  const fields = hit.fields || {};
  const title = fields.title ? String(fields.title) : '';
  return el('li', { class: 'hit', 'data-id': hit.id },
    el('div', { class: 'hit-body' },
      el('div', { class: 'hit-head' },
        el('span', { class: 'hit-id', text: hit.id }),
        el('span', { class: 'hit-score', text: t('patScore', { s: score(hit.score) }) }),
        fields.status ? el('span', { class: `badge ${statusClass(fields.status)}`, text: String(fields.status) }) : ''),
      title ? el('h3', { class: 'hit-title' }, ...withWords(title, words)) : '',
      labelled(fieldList(fields, SKIP_FIELDS)),
      hit.chunk ? el('div', { class: 'pat-passage', 'data-passage-for': hit.id }) : ''));
}

export default {
  id: 'patents',
  title: 'patentsTitle',
  render,
  leave() { sequence += 1; },
};
