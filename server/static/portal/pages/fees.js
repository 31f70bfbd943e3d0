/* The fee calculator: the itemised fees of an application from the schedule in force on a
 * day (`GET /v1/fees`), recomputed on each submit; errors next to the parameter they name. */

import {
  addStrings, api, clearErrors, el, field, lang, section, showError, t,
} from '../core.js';

addStrings({
  en: {
    feesTitle: 'Fee calculator',
    feesLead: 'The fees an application costs, line by line, from the fee schedule in force on the '
      + 'day you choose.',
    feesKind: 'Object of the application',
    feesKindInvention: 'Invention',
    feesKindUtility: 'Utility model',
    feesKindDesign: 'Industrial design',
    feesKindTrademark: 'Trademark',
    feesEvents: 'Actions to pay for',
    feesEventFiling: 'Registration of the application and formal examination',
    feesEventSearch: 'Search',
    feesEventExamination: 'Substantive examination',
    feesEventGrant: 'Grant and registration',
    feesEventAnnuity: 'Annuity (maintaining the patent)',
    feesEventRenewal: 'Renewal of the registration',
    feesClaims: 'Number of claims',
    feesClasses: 'Number of Nice classes',
    feesDesigns: 'Designs in the application',
    feesYear: 'Patent year (for the annuity)',
    feesApplicant: 'Applicant',
    feesApplicantLegal: 'Legal entity',
    feesApplicantSme: 'Small or medium enterprise',
    feesApplicantIndividual: 'Individual',
    feesOn: 'Date of payment',
    feesOnHelp: 'Empty: today (Moscow time).',
    feesCompute: 'Calculate',
    feesBreakdown: 'Fee breakdown',
    feesCaption: 'Fees for {kind}, schedule {version}',
    feesColFee: 'Fee',
    feesColUnit: 'Quantity × unit amount',
    feesColAmount: 'Amount',
    feesTotal: 'Total',
    feesSchedule: 'Schedule {version}, in force from {from}{to}; quote for {on}.',
    feesScheduleTo: ' until {to}',
    feesExtra: '{event}: each {unit} over {over}',
    feesUnitClaim: 'claim',
    feesUnitClass: 'class',
    feesUnitDesign: 'design',
    feesAnnuityYear: 'Annuity for year {year}',
    feesReduction: 'Reduction for {who}: {percent}%',
    feesNoEvents: 'Choose at least one action.',
    feesNotice: 'Illustrative amounts, modelled on the structure of Rospatent’s fee regulation; '
      + 'not the official fees.',
  },
  ru: {
    feesTitle: 'Калькулятор пошлин',
    feesLead: 'Пошлины по заявке построчно — по перечню пошлин, действующему на выбранную дату.',
    feesKind: 'Объект заявки',
    feesKindInvention: 'Изобретение',
    feesKindUtility: 'Полезная модель',
    feesKindDesign: 'Промышленный образец',
    feesKindTrademark: 'Товарный знак',
    feesEvents: 'Юридически значимые действия',
    feesEventFiling: 'Регистрация заявки и формальная экспертиза',
    feesEventSearch: 'Информационный поиск',
    feesEventExamination: 'Экспертиза по существу',
    feesEventGrant: 'Регистрация и выдача охранного документа',
    feesEventAnnuity: 'Поддержание патента в силе (годовая пошлина)',
    feesEventRenewal: 'Продление срока действия регистрации',
    feesClaims: 'Количество пунктов формулы',
    feesClasses: 'Количество классов МКТУ',
    feesDesigns: 'Количество образцов в заявке',
    feesYear: 'Год действия патента (для годовой пошлины)',
    feesApplicant: 'Заявитель',
    feesApplicantLegal: 'Юридическое лицо',
    feesApplicantSme: 'Субъект малого или среднего предпринимательства',
    feesApplicantIndividual: 'Физическое лицо',
    feesOn: 'Дата уплаты',
    feesOnHelp: 'Не указана — сегодня (по московскому времени).',
    feesCompute: 'Рассчитать',
    feesBreakdown: 'Расчёт пошлин',
    feesCaption: 'Пошлины: {kind}, перечень {version}',
    feesColFee: 'Пошлина',
    feesColUnit: 'Количество × размер',
    feesColAmount: 'Сумма',
    feesTotal: 'Итого',
    feesSchedule: 'Перечень {version} действует с {from}{to}; расчёт на {on}.',
    feesScheduleTo: ' по {to}',
    feesExtra: '{event}: за каждый {unit} сверх {over}',
    feesUnitClaim: 'пункт формулы',
    feesUnitClass: 'класс',
    feesUnitDesign: 'образец',
    feesAnnuityYear: 'Поддержание в силе за {year}-й год',
    feesReduction: 'Льгота ({who}): {percent}%',
    feesNoEvents: 'Выберите хотя бы одно действие.',
    feesNotice: 'Суммы условные: структура повторяет положение о пошлинах Роспатента, но это не '
      + 'официальные размеры пошлин.',
  },
});

const KINDS = {
  invention: 'feesKindInvention',
  utility_model: 'feesKindUtility',
  industrial_design: 'feesKindDesign',
  trademark: 'feesKindTrademark',
};
const EVENTS = {
  filing: 'feesEventFiling',
  search: 'feesEventSearch',
  examination: 'feesEventExamination',
  grant: 'feesEventGrant',
  annuity: 'feesEventAnnuity',
  renewal: 'feesEventRenewal',
};
/* Which actions apply to which object (the server checks it too). */
const EVENTS_OF = {
  invention: ['filing', 'search', 'examination', 'grant', 'annuity'],
  utility_model: ['filing', 'examination', 'grant', 'annuity'],
  industrial_design: ['filing', 'examination', 'grant', 'annuity'],
  trademark: ['filing', 'examination', 'grant', 'renewal'],
};
const COUNTS_OF = {
  invention: 'claims', utility_model: 'claims', industrial_design: 'designs', trademark: 'classes',
};
const APPLICANTS = {
  legal_entity: 'feesApplicantLegal', sme: 'feesApplicantSme', individual: 'feesApplicantIndividual',
};
const UNITS = { claims: 'feesUnitClaim', classes: 'feesUnitClass', designs: 'feesUnitDesign' };

/** A decimal string as money in the current language (the string itself is kept in data-*). */
function money(value, currency) {
  const amount = Number(value);
  if (Number.isNaN(amount)) return String(value);
  return amount.toLocaleString(lang(), {
    style: currency ? 'currency' : 'decimal', currency: currency || undefined,
    minimumFractionDigits: 2, maximumFractionDigits: 2,
  });
}

/** The line's name in the current language, from its code (the server's English otherwise). */
function lineName(line) {
  const [event, extra] = line.code.split('.', 2);
  if (!extra && EVENTS[event]) return t(EVENTS[event]);
  if (event === 'annuity' && /^year_\d+$/.test(extra || '')) {
    return t('feesAnnuityYear', { year: extra.slice(5) });
  }
  if (EVENTS[event] && extra && extra.startsWith('extra_') && UNITS[extra.slice(6)]) {
    const over = /over (\d+)/.exec(line.description);
    if (over) return t('feesExtra', { event: t(EVENTS[event]), unit: t(UNITS[extra.slice(6)]), over: over[1] });
  }
  if (event === 'reduction' && APPLICANTS[extra]) {
    const percent = /([\d.]+)%/.exec(line.description);
    if (percent) return t('feesReduction', { who: t(APPLICANTS[extra]).toLowerCase(), percent: percent[1] });
  }
  return line.description;
}

function numberInput(id, name, min, value) {
  return el('input', {
    id, name, type: 'number', min: String(min), step: '1', inputmode: 'numeric', value: String(value),
    'data-field': `${name} query.${name}`,
  });
}

async function render(view, route) {
  const kind = el('select', { id: 'fees-kind', name: 'kind', 'data-field': 'kind query.kind' },
    Object.entries(KINDS).map(([value, key]) => el('option', { value, text: t(key) })));
  const eventBoxes = Object.entries(EVENTS).map(([value, key]) => {
    const box = el('input', { type: 'checkbox', id: `fees-event-${value}`, name: 'events', value, checked: value === 'filing' });
    return el('div', { class: 'check', 'data-event': value }, box, el('label', { for: box.id, text: t(key) }));
  });
  const events = el('fieldset', { id: 'fees-events', class: 'field', 'data-field': 'events query.events' },
    el('legend', { text: t('feesEvents') }), eventBoxes);
  const claims = numberInput('fees-claims', 'claims', 0, 10);
  const classes = numberInput('fees-classes', 'classes', 0, 1);
  const designs = numberInput('fees-designs', 'designs', 1, 1);
  const year = numberInput('fees-year', 'year', 1, 3);
  const applicant = el('select', { id: 'fees-applicant', name: 'applicant_type', 'data-field': 'applicant_type query.applicant_type' },
    Object.entries(APPLICANTS).map(([value, key]) => el('option', { value, text: t(key) })));
  const on = el('input', { id: 'fees-on', name: 'on', type: 'date', 'data-field': 'on query.on' });
  const wrappers = {
    claims: field(t('feesClaims'), claims),
    classes: field(t('feesClasses'), classes),
    designs: field(t('feesDesigns'), designs),
    year: field(t('feesYear'), year),
  };
  const form = el('form', { class: 'search', id: 'fees-form', novalidate: true },
    field(t('feesKind'), kind),
    events,
    el('div', { class: 'row' }, wrappers.claims, wrappers.classes, wrappers.designs, wrappers.year),
    field(t('feesApplicant'), applicant),
    field(t('feesOn'), on, t('feesOnHelp')),
    el('p', { class: 'form-error', role: 'alert' }),
    el('button', { type: 'submit', text: t('feesCompute') }));
  const results = el('div', { class: 'results', id: 'fees-results', 'aria-live': 'polite' });
  view.replaceChildren(section('feesTitle',
    el('p', { class: 'lead', text: t('feesLead') }),
    el('div', { class: 'layout' }, form, results)));

  const params = (route && route.params) || new URLSearchParams();
  if (KINDS[params.get('kind')]) kind.value = params.get('kind');

  const chosenEvents = () => eventBoxes.map((item) => item.querySelector('input'))
    .filter((box) => box.checked && !box.closest('[data-event]').hidden).map((box) => box.value);

  const arrange = () => {
    const allowed = EVENTS_OF[kind.value];
    for (const item of eventBoxes) item.hidden = !allowed.includes(item.dataset.event);
    for (const [name, wrapper] of Object.entries(wrappers)) {
      wrapper.hidden = name === 'year' ? !chosenEvents().includes('annuity') : COUNTS_OF[kind.value] !== name;
    }
  };
  kind.addEventListener('change', arrange);
  events.addEventListener('change', arrange);
  arrange();

  const compute = async () => {
    clearErrors(form);
    const chosen = chosenEvents();
    if (!chosen.length) {
      const first = eventBoxes.find((item) => !item.hidden).querySelector('input');
      showError(form, { message: t('feesNoEvents') });
      first.focus();
      return;
    }
    const query = { kind: kind.value, events: chosen.join(','), applicant_type: applicant.value };
    const count = COUNTS_OF[kind.value];
    query[count] = { claims, classes, designs }[count].value;
    if (chosen.includes('annuity')) query.year = year.value;
    if (on.value) query.on = on.value;
    results.setAttribute('aria-busy', 'true');
    try {
      const quote = await api('/v1/fees', { params: query });
      drawQuote(results, quote, kind.value);
    } catch (err) {
      results.replaceChildren();
      showError(form, err);
    } finally {
      results.setAttribute('aria-busy', 'false');
    }
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    compute();
  });
  await compute();
}

function drawQuote(results, quote, kind) {
  const rows = quote.lines.map((line) => el('tr', { 'data-code': line.code },
    el('td', { class: 'fee' }, el('span', { text: lineName(line) }), ' ', el('code', { text: line.code })),
    el('td', { class: 'num qty' },
      el('span', { 'data-quantity': String(line.quantity), text: String(line.quantity) }),
      ' × ',
      el('span', { 'data-unit': line.unit, text: money(line.unit) })),
    el('td', { class: 'num', 'data-amount': line.amount, text: money(line.amount) })));
  const to = quote.effective_to ? t('feesScheduleTo', { to: quote.effective_to }) : '';
  fill(results,
    el('h2', { text: t('feesBreakdown') }),
    el('div', { class: 'table-wrap' }, el('table', { id: 'fees-table' },
      el('caption', { text: t('feesCaption', { kind: t(KINDS[kind]), version: quote.schedule_version }) }),
      el('thead', {}, el('tr', {},
        el('th', { scope: 'col', text: t('feesColFee') }),
        el('th', { scope: 'col', class: 'num', text: t('feesColUnit') }),
        el('th', { scope: 'col', class: 'num', text: t('feesColAmount') }))),
      el('tbody', {}, rows),
      el('tfoot', {}, el('tr', {},
        el('th', { scope: 'row', colspan: '2', text: t('feesTotal') }),
        el('td', {
          class: 'num', id: 'fees-total', 'data-amount': quote.total, 'data-currency': quote.currency,
          text: money(quote.total, quote.currency),
        }))))),
    el('p', { class: 'help', text: t('feesSchedule', {
      version: quote.schedule_version, from: quote.effective_from || '—', to, on: quote.on,
    }) }),
    quote.notice ? el('p', { class: 'banner', id: 'fees-notice', text: t('feesNotice') }) : null);
}

/** `node.replaceChildren` without the absent children (the DOM would write them as "null"). */
const fill = (node, ...children) => node.replaceChildren(...children.filter((c) => c !== null && c !== undefined && c !== false));

export default { id: 'fees', title: 'feesTitle', render };
