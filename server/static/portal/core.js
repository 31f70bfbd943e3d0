/* What every portal page shares: strings in two languages, the API call with the user's key,
 * errors shown next to the field they name, file checks before upload, a pager, a DOM builder.
 *
 * Plain ES module, no build step. Pages never use innerHTML with data: el() sets text, so a
 * hit's fields cannot inject markup.
 */

/* ---------- strings ---------- */

const STRINGS = { en: {}, ru: {} };
const LANGS = ['ru', 'en'];
const LANG_STORAGE = 'ipsim.lang';

/** Add a page's strings: `{en: {key: text}, ru: {key: text}}`. A key both define wins last. */
export function addStrings(table) {
  for (const lang of LANGS) Object.assign(STRINGS[lang], table[lang] || {});
}

function initialLang() {
  const saved = localStorage.getItem(LANG_STORAGE);
  if (LANGS.includes(saved)) return saved;
  return (navigator.language || '').toLowerCase().startsWith('ru') ? 'ru' : 'en';
}

let current = initialLang();

export const lang = () => current;

/** Switch the language, remember it, and re-translate the static parts of the page. */
export function setLang(value) {
  if (!LANGS.includes(value)) return;
  current = value;
  localStorage.setItem(LANG_STORAGE, value);
  document.documentElement.lang = value;
  translate(document);
}

/** The string for `key` in the current language ({name} placeholders filled from `vars`). */
export function t(key, vars = {}) {
  const text = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  return String(text).replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ''));
}

/** Fill `data-i18n` (text), `data-i18n-placeholder`, `data-i18n-label` (aria-label) and
 * `data-i18n-title` attributes under `root`. */
export function translate(root) {
  for (const node of root.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll('[data-i18n-placeholder]')) {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  }
  for (const node of root.querySelectorAll('[data-i18n-label]')) {
    node.setAttribute('aria-label', t(node.dataset.i18nLabel));
  }
  for (const node of root.querySelectorAll('[data-i18n-title]')) node.title = t(node.dataset.i18nTitle);
}

/** A number in the current language's format. */
export function number(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return '—';
  return Number(value).toLocaleString(current, { maximumFractionDigits: digits });
}

export const score = (value) => (value === null || value === undefined ? '—'
  : Number(value).toFixed(Math.abs(value) >= 10 ? 1 : 3));

/* ---------- the API ---------- */

const KEY_STORAGE = 'ipsim.apiKey';
let apiKey = sessionStorage.getItem(KEY_STORAGE) || '';

export const hasKey = () => Boolean(apiKey);

export function setKey(value) {
  apiKey = value.trim();
  if (apiKey) sessionStorage.setItem(KEY_STORAGE, apiKey);
  else sessionStorage.removeItem(KEY_STORAGE);
}

/** An answer of the API other than 2xx, in the CONTRACT's shape. `field` is the part of the
 * request the message names (`query.smiles` in "query.smiles: SMILES Parse Error…"), if any. */
export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
    // a path such as `documents[0].content.smiles` or `hit_tags["patents/US1"][0]`
    const named = /^([A-Za-z_][\w.-]*(?:\[[^\]]*\][\w.-]*)*): /.exec(message);
    this.field = named ? named[1] : null;
    this.detail = named ? message.slice(named[0].length) : message;
  }

  get auth() { return this.status === 401 || this.status === 403; }
}

function queryString(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params || {})) {
    if (value === '' || value === null || value === undefined) continue;
    if (Array.isArray(value)) value.forEach((v) => search.append(name, v));
    else search.set(name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** Call the API: JSON in and out by default. `as`: 'json' (default), 'text', 'blob' or
 * 'response'; `raw`: a File/Blob sent as the body itself (with its own type) instead of JSON.
 * Throws ApiError for a non-2xx answer, with the server's code and message. */
export async function api(path, {
  method = 'GET', body, raw, params, headers = {}, as = 'json', signal,
} = {}) {
  const sent = { Accept: as === 'json' ? 'application/json' : '*/*', ...headers };
  if (apiKey) sent.Authorization = `Bearer ${apiKey}`;
  if (raw !== undefined) sent['Content-Type'] = raw.type || 'application/octet-stream';
  else if (body !== undefined) sent['Content-Type'] = 'application/json';
  const payload = raw !== undefined ? raw : body === undefined ? undefined : JSON.stringify(body);
  const response = await fetch(path + queryString(params), {
    method, headers: sent, signal, body: payload,
  });
  if (!response.ok) {
    let code = `http_${response.status}`;
    let message = response.statusText || code;
    try {
      ({ code, message } = (await response.json()).error);
    } catch (_) { /* not the CONTRACT's error shape: keep the status line */ }
    throw new ApiError(response.status, code, message, response.headers.get('Retry-After'));
  }
  if (as === 'response') return response;
  if (as === 'text') return response.text();
  if (as === 'blob') return response.blob();
  return response.status === 204 ? null : response.json();
}

let limitsPromise = null;

/** The server's upload limits (`GET /v1/limits`), fetched once. */
export function limits() {
  if (!limitsPromise) limitsPromise = api('/v1/limits').catch((err) => { limitsPromise = null; throw err; });
  return limitsPromise;
}

const collectionsCache = new Map();

/** Names of the server's collections of `modality` (demo names first when present). */
export async function collectionsOf(modality, preferred = []) {
  if (!collectionsCache.has(modality)) {
    const promise = api('/v1/collections').then((answer) => answer.collections
      .filter((c) => !modality || c.modality === modality).map((c) => c.name));
    promise.catch(() => collectionsCache.delete(modality));
    collectionsCache.set(modality, promise);
  }
  const names = await collectionsCache.get(modality);
  return [...preferred.filter((n) => names.includes(n)), ...names.filter((n) => !preferred.includes(n))];
}

/** Fill a <select> with the collections of `modality`; keeps the current choice if present. */
export async function fillCollections(select, modality, preferred = []) {
  const chosen = select.value;
  const names = await collectionsOf(modality, preferred);
  select.replaceChildren(...names.map((n) => new Option(n, n)));
  if (names.includes(chosen)) select.value = chosen;
  return names;
}

/* ---------- status and errors ---------- */

/** A message in the page's top status line (errors in red, read out by screen readers). */
export function status(text, isError = false) {
  const line = document.getElementById('global-status');
  line.textContent = text;
  line.classList.toggle('error', isError);
}

/** Remove the errors shown in `form`. */
export function clearErrors(form) {
  for (const node of form.querySelectorAll('.field-error')) node.remove();
  for (const node of form.querySelectorAll('[aria-invalid]')) {
    node.removeAttribute('aria-invalid');
    const described = (node.getAttribute('aria-describedby') || '').split(' ')
      .filter((id) => id && !id.endsWith('-error')).join(' ');
    if (described) node.setAttribute('aria-describedby', described);
    else node.removeAttribute('aria-describedby');
  }
  const general = form.querySelector('.form-error');
  if (general) general.textContent = '';
}

/** Show `message` under the control `input` (a field-level error, read out at once). */
export function fieldError(input, message) {
  const id = `${input.id}-error`;
  let note = document.getElementById(id);
  if (!note) {
    note = el('p', { id, class: 'field-error', role: 'alert' });
    (input.closest('.field') || input.parentElement).append(note);
  }
  note.textContent = message;
  input.setAttribute('aria-invalid', 'true');
  const described = new Set((input.getAttribute('aria-describedby') || '').split(' ').filter(Boolean));
  described.add(id);
  input.setAttribute('aria-describedby', [...described].join(' '));
}

/** The control of `form` for a field path: the longest `data-field` that is the path or a
 * prefix of it at a segment boundary (`query` matches `query.smiles`, `query.smiles[2]`). */
function controlFor(form, path) {
  let best = null;
  for (const node of form.querySelectorAll('[data-field]')) {
    for (const name of node.dataset.field.split(' ')) {
      const fits = path === name || path.startsWith(`${name}.`) || path.startsWith(`${name}[`);
      if (fits && (!best || name.length > best.name.length)) best = { node, name };
    }
  }
  return best && best.node;
}

/** Show an error of the API where it belongs: next to the control whose `data-field` names
 * the field of the message, else in the form's `.form-error` line; a refused key also in the
 * page's status line, with the key field focused. */
export function showError(form, err) {
  const message = err instanceof ApiError ? err.message : String(err.message || err);
  if (err instanceof ApiError && err.auth) {
    const text = hasKey() ? t('badKey', { message }) : t('needKey');
    status(text, true);
    document.getElementById('api-key').focus();
  }
  const control = err instanceof ApiError && err.field && form ? controlFor(form, err.field) : null;
  if (control) {
    fieldError(control, err.detail);
    return;
  }
  const general = form && form.querySelector('.form-error');
  const text = err instanceof ApiError && err.status === 429
    ? t('busy', { seconds: err.retryAfter || '1' }) : message;
  if (general) general.textContent = text;
  else status(text, true);
}

/* ---------- files ---------- */

/** Why `file` cannot be sent (too large, wrong type), or null. `types`: accepted MIME types;
 * `extensions`: accepted name endings (either may match). */
export function fileProblem(file, { maxBytes, types = [], extensions = [] }) {
  const name = file.name.toLowerCase();
  const typed = types.includes(file.type) || extensions.some((ext) => name.endsWith(`.${ext}`));
  if ((types.length || extensions.length) && !typed) {
    return t('fileType', { name: file.name, accepted: [...types, ...extensions.map((e) => `.${e}`)].join(', ') });
  }
  if (maxBytes && file.size > maxBytes) {
    return t('fileTooLarge', { name: file.name, size: bytes(file.size), max: bytes(maxBytes) });
  }
  if (file.size === 0) return t('fileEmpty', { name: file.name });
  return null;
}

export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

/** The file's bytes as base64 (no data: prefix). */
export function base64Of(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(',', 2)[1] || '');
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

/* ---------- DOM ---------- */

const ATTRIBUTES_ONLY = new Set(['for', 'class', 'list', 'form', 'style']);

/** Set `name` as a property when the element has a writable one (value, checked, disabled…). */
function setProperty(node, name, value) {
  if (!(name in node) || ATTRIBUTES_ONLY.has(name) || name.startsWith('aria-') || name.startsWith('data-')) {
    return false;
  }
  try {
    node[name] = value;
    return true;
  } catch (_) {  // a read-only property (input.list): the attribute it reflects
    return false;
  }
}

/** Build an element: `props` sets attributes (`class`, `for`, `data-*`, `aria-*`), `on*`
 * functions become listeners, `text` sets textContent; children are nodes or strings. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'text') node.textContent = value;
    else if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
    else if (!setProperty(node, name, value)) {
      node.setAttribute(name === 'className' ? 'class' : name, value === true ? '' : value);
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** A labelled control in a `.field` wrapper: `el('input', …)` with a <label> and optional help. */
export function field(label, control, help = null) {
  const children = [el('label', { for: control.id, text: label }), control];
  if (help) {
    const helpId = `${control.id}-help`;
    children.push(el('small', { id: helpId, class: 'help', text: help }));
    control.setAttribute('aria-describedby', helpId);
  }
  return el('div', { class: 'field' }, ...children);
}

/** A pager: "Total records: N" and page links; `onPage(offset)` when one is chosen. */
export function pager({ total, k, offset, onPage, truncated = false }) {
  const pages = Math.max(1, Math.ceil(total / k));
  const page = Math.floor(offset / k) + 1;
  const nav = el('nav', { class: 'pager', 'aria-label': t('pages') });
  nav.append(el('p', { class: 'total', 'data-total': String(total) },
    t(truncated ? 'totalAtLeast' : 'total', { n: number(total) })));
  if (pages <= 1) return nav;
  const list = el('ul');
  const go = (n, text, label) => el('li', {}, el('button', {
    type: 'button', 'data-page': String(n), 'aria-label': label || t('pageN', { n }),
    'aria-current': n === page ? 'page' : null, disabled: n === page || n < 1 || n > pages,
    onclick: () => onPage((n - 1) * k),
  }, text ?? String(n)));
  list.append(go(page - 1, '‹', t('previous')));
  const shown = new Set([1, pages, page - 1, page, page + 1].filter((n) => n >= 1 && n <= pages));
  let last = 0;
  for (const n of [...shown].sort((a, b) => a - b)) {
    if (n > last + 1) list.append(el('li', { class: 'gap', 'aria-hidden': 'true' }, '…'));
    list.append(go(n));
    last = n;
  }
  list.append(go(page + 1, '›', t('next')));
  nav.append(list);
  return nav;
}

/** A page's view: a heading and a body; `view.replaceChildren(section(...))`. */
export function section(titleKey, ...children) {
  return el('section', { class: 'page', 'aria-labelledby': 'page-title' },
    el('h1', { id: 'page-title', text: t(titleKey) }), ...children);
}

/** `<dl>` of a hit's fields (skipping `skip`); lists joined by commas. */
export function fieldList(fields, skip = []) {
  const list = el('dl', { class: 'fields' });
  for (const [name, value] of Object.entries(fields || {})) {
    if (skip.includes(name) || value === null || value === undefined || value === '') continue;
    const shown = Array.isArray(value) ? value.join(', ')
      : typeof value === 'object' ? JSON.stringify(value) : String(value);
    list.append(el('dt', { text: name }), el('dd', { text: shown }));
  }
  return list;
}

addStrings({
  en: {
    skip: 'Skip to the content',
    brand: 'ipsim · IP search',
    language: 'Language',
    menu: 'Sections',
    apiKey: 'API key',
    useKey: 'Use key',
    forgetKey: 'Forget key',
    keyHelp: 'Needed only when the server has API keys. Kept in this tab only.',
    keySaved: 'API key in use for this tab.',
    keyForgotten: 'API key forgotten.',
    needKey: 'This server needs an API key: enter it above.',
    badKey: 'The server refused the API key: {message}',
    busy: 'The server is busy; try again in {seconds} s.',
    footer: 'ipsim: one server for patents, trademarks, designs, chemistry and sequences.',
    dashboards: 'Analytics dashboards',
    developers: 'For developers',
    total: 'Total records: {n}',
    totalAtLeast: 'Total records: at least {n}',
    pages: 'Pages',
    pageN: 'Page {n}',
    previous: 'Previous page',
    next: 'Next page',
    loading: 'Searching…',
    noHits: 'Nothing found.',
    search: 'Search',
    collection: 'Collection',
    score: 'score',
    fileType: '{name}: not an accepted type (accepted: {accepted}).',
    fileTooLarge: '{name} is {size}; at most {max} can be sent.',
    fileEmpty: '{name} is empty.',
    notFoundPage: 'No such page.',
  },
  ru: {
    skip: 'Перейти к содержимому',
    brand: 'ipsim · поиск по объектам ИС',
    language: 'Язык',
    menu: 'Разделы',
    apiKey: 'API-ключ',
    useKey: 'Применить',
    forgetKey: 'Забыть ключ',
    keyHelp: 'Нужен, только если сервер требует ключи. Хранится только в этой вкладке.',
    keySaved: 'API-ключ используется в этой вкладке.',
    keyForgotten: 'API-ключ забыт.',
    needKey: 'Сервер требует API-ключ: введите его выше.',
    badKey: 'Сервер отклонил API-ключ: {message}',
    busy: 'Сервер занят; повторите через {seconds} с.',
    footer: 'ipsim: один сервер для патентов, товарных знаков, образцов, химии и последовательностей.',
    dashboards: 'Аналитические панели',
    developers: 'Разработчикам',
    total: 'Всего записей: {n}',
    totalAtLeast: 'Всего записей: не менее {n}',
    pages: 'Страницы',
    pageN: 'Страница {n}',
    previous: 'Предыдущая страница',
    next: 'Следующая страница',
    loading: 'Идёт поиск…',
    noHits: 'Ничего не найдено.',
    search: 'Найти',
    collection: 'Коллекция',
    score: 'сходство',
    fileType: '{name}: этот тип не принимается (допустимы: {accepted}).',
    fileTooLarge: 'Файл {name} занимает {size}; можно отправить не более {max}.',
    fileEmpty: 'Файл {name} пуст.',
    notFoundPage: 'Такой страницы нет.',
  },
});
