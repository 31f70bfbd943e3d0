/* Attorney search: the register of patent attorneys (`GET /v1/attorneys`) by name, region,
 * specialization, language and status, a page at a time. */

import {
  addStrings, api, clearErrors, el, field, lang, pager, section, showError, t,
} from '../core.js';

addStrings({
  en: {
    attorneysTitle: 'Patent attorneys',
    attLead: 'Find a registered patent attorney by name, region, specialization or language.',
    attName: 'Name',
    attNameHelp: 'Every word must occur in the name, in any case.',
    attRegion: 'Region',
    attRegionHelp: 'A federal subject: its name (Москва) or code (RU-MOW).',
    attSpecialization: 'Specialization',
    attLanguage: 'Working language',
    attStatus: 'Status',
    attAny: 'Any',
    attLimit: 'Per page',
    attResults: 'Attorneys',
    attNumber: 'Registration No. {n}',
    attLanguages: 'Languages',
    attSpecializations: 'Specializations',
    attEmail: 'E-mail',
    attPhone: 'Phone',
    attDemo: 'Demo data: generated attorneys, not the official register.',
    attSpec_inventions: 'Inventions',
    attSpec_utility_models: 'Utility models',
    attSpec_industrial_designs: 'Industrial designs',
    attSpec_trademarks: 'Trademarks',
    attSpec_geographical_indications: 'Geographical indications and appellations of origin',
    attSpec_software_and_databases: 'Software and databases',
    attSpec_topologies: 'Integrated circuit topologies',
    attStatus_active: 'active',
    attStatus_suspended: 'suspended',
    attStatus_revoked: 'revoked',
    attStatus_any: 'any',
  },
  ru: {
    attorneysTitle: 'Патентные поверенные',
    attLead: 'Поиск зарегистрированного патентного поверенного по фамилии и имени, региону, '
      + 'специализации или языку.',
    attName: 'Фамилия, имя',
    attNameHelp: 'Все слова должны встречаться в имени; регистр не важен.',
    attRegion: 'Регион',
    attRegionHelp: 'Субъект Российской Федерации: название (Москва) или код (RU-MOW).',
    attSpecialization: 'Специализация',
    attLanguage: 'Рабочий язык',
    attStatus: 'Статус',
    attAny: 'Любая',
    attLimit: 'На странице',
    attResults: 'Патентные поверенные',
    attNumber: 'Рег. № {n}',
    attLanguages: 'Языки',
    attSpecializations: 'Специализации',
    attEmail: 'Эл. почта',
    attPhone: 'Телефон',
    attDemo: 'Демонстрационные данные: поверенные сгенерированы, это не официальный реестр.',
    attSpec_inventions: 'Изобретения',
    attSpec_utility_models: 'Полезные модели',
    attSpec_industrial_designs: 'Промышленные образцы',
    attSpec_trademarks: 'Товарные знаки',
    attSpec_geographical_indications: 'Географические указания и наименования места происхождения',
    attSpec_software_and_databases: 'Программы для ЭВМ и базы данных',
    attSpec_topologies: 'Топологии интегральных микросхем',
    attStatus_active: 'действует',
    attStatus_suspended: 'приостановлен',
    attStatus_revoked: 'аннулирован',
    attStatus_any: 'любой',
  },
});

const SPECIALIZATIONS = [
  'inventions', 'utility_models', 'industrial_designs', 'trademarks', 'geographical_indications',
  'software_and_databases', 'topologies',
];
const STATUSES = ['active', 'suspended', 'revoked', 'any'];
const LANGUAGES = ['ru', 'en', 'de', 'fr', 'es', 'it', 'zh', 'ja', 'ko', 'ar', 'pt', 'tr'];
const STATUS_BADGE = { active: 'ok', suspended: 'pending', revoked: 'refused' };

/* Regions seen in the register's answers: what the region field suggests. */
const seenRegions = new Map();

function languageName(code) {
  try {
    const name = new Intl.DisplayNames([lang()], { type: 'language' }).of(code);
    return name && name !== code ? `${name} (${code})` : code;
  } catch (_) {
    return code;
  }
}

async function render(view, route) {
  const q = el('input', { id: 'att-q', name: 'q', type: 'search', autocomplete: 'off', 'data-field': 'q query.q' });
  const regions = el('datalist', { id: 'att-regions' });
  const region = el('input', {
    id: 'att-region', name: 'region', type: 'text', autocomplete: 'off',
    'data-field': 'region query.region',
  });
  region.setAttribute('list', 'att-regions'); // `list` is a read-only property: set the attribute
  const specialization = el('select', { id: 'att-specialization', name: 'specialization', 'data-field': 'specialization query.specialization' },
    el('option', { value: '', text: t('attAny') }),
    SPECIALIZATIONS.map((s) => el('option', { value: s, text: t(`attSpec_${s}`) })));
  const language = el('select', { id: 'att-language', name: 'language', 'data-field': 'language query.language' },
    el('option', { value: '', text: t('attAny') }),
    LANGUAGES.map((code) => el('option', { value: code, text: languageName(code) })));
  const status = el('select', { id: 'att-status', name: 'status', 'data-field': 'status query.status' },
    STATUSES.map((s) => el('option', { value: s, text: t(`attStatus_${s}`) })));
  const limit = el('select', { id: 'att-limit', name: 'limit', 'data-field': 'limit query.limit offset query.offset' },
    [10, 20, 50, 100].map((n) => el('option', { value: String(n), text: String(n), selected: n === 20 })));
  const form = el('form', { class: 'search', id: 'att-form', role: 'search', novalidate: true },
    field(t('attName'), q, t('attNameHelp')),
    field(t('attRegion'), region, t('attRegionHelp')), regions,
    field(t('attSpecialization'), specialization),
    el('div', { class: 'row' }, field(t('attLanguage'), language), field(t('attStatus'), status),
      field(t('attLimit'), limit)),
    el('p', { class: 'form-error', role: 'alert' }),
    el('button', { type: 'submit', text: t('search') }));
  const results = el('div', { class: 'results', id: 'att-results', 'aria-live': 'polite' });
  view.replaceChildren(section('attorneysTitle',
    el('p', { class: 'lead', text: t('attLead') }),
    el('div', { class: 'layout' }, form, results)));

  const params = (route && route.params) || new URLSearchParams();
  for (const [name, control] of [['q', q], ['region', region], ['specialization', specialization]]) {
    if (params.get(name)) control.value = params.get(name);
  }
  const fillRegions = () => regions.replaceChildren(...[...seenRegions].sort((a, b) => a[1].localeCompare(b[1], 'ru'))
    .map(([code, name]) => el('option', { value: name, label: code })));
  fillRegions();

  let request = null;
  const search = async (offset) => {
    clearErrors(form);
    const sent = { ...request, offset };
    results.setAttribute('aria-busy', 'true');
    try {
      const answer = await api('/v1/attorneys', { params: sent });
      for (const a of answer.attorneys) seenRegions.set(a.region, a.region_name);
      fillRegions();
      drawAttorneys(results, answer, sent, search);
    } catch (err) {
      results.replaceChildren();
      showError(form, err);
    } finally {
      results.setAttribute('aria-busy', 'false');
    }
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    request = {
      q: q.value.trim(), region: region.value.trim(), specialization: specialization.value,
      language: language.value, status: status.value, limit: Number(limit.value),
    };
    search(0);
  });
  request = {
    q: q.value.trim(), region: region.value.trim(), specialization: specialization.value,
    language: '', status: 'active', limit: 20,
  };
  await search(0);
}

function drawAttorneys(results, answer, sent, onPage) {
  const nav = () => pager({ total: answer.total, k: sent.limit, offset: sent.offset, onPage });
  const items = answer.attorneys.map((a) => el('li', { class: 'hit', 'data-id': a.registration_number },
    el('div', { class: 'hit-body' },
      el('div', { class: 'hit-head' },
        el('span', { class: 'hit-id', text: a.name }),
        el('span', { class: 'hit-score', text: t('attNumber', { n: a.registration_number }) }),
        el('span', { class: `badge ${STATUS_BADGE[a.status] || ''}`, 'data-status': a.status, text: t(`attStatus_${a.status}`) })),
      el('dl', { class: 'fields' },
        el('dt', { text: t('attRegion') }),
        el('dd', { 'data-region': a.region, text: `${a.region_name} (${a.region})` }),
        el('dt', { text: t('attSpecializations') }),
        el('dd', {}, a.specializations.map((s) => el('span', { class: 'tag', 'data-specialization': s, text: t(`attSpec_${s}`) }))),
        el('dt', { text: t('attLanguages') }),
        el('dd', { text: a.languages.map(languageName).join(', ') }),
        a.email ? [el('dt', { text: t('attEmail') }), el('dd', {}, el('a', { href: `mailto:${a.email}`, text: a.email }))] : null,
        a.phone ? [el('dt', { text: t('attPhone') }), el('dd', {}, el('a', { href: `tel:${a.phone.replace(/[^\d+]/g, '')}`, text: a.phone }))] : null))));
  fill(results,
    el('h2', { text: t('attResults') }),
    answer.demo ? el('p', { class: 'banner', id: 'att-demo', text: t('attDemo') }) : null,
    nav(),
    items.length ? el('ol', { class: 'hits', start: String(sent.offset + 1) }, items) : el('p', { text: t('noHits') }),
    items.length > 0 && answer.total > sent.limit ? nav() : null);
}

/** `node.replaceChildren` without the absent children (the DOM would write them as "null"). */
const fill = (node, ...children) => node.replaceChildren(...children.filter((c) => c !== null && c !== undefined && c !== false));

export default { id: 'attorneys', title: 'attorneysTitle', render };
