/* Filing and status tracking (the personal account): file an invention, utility model, design or
 * trademark with a fees preview; follow an application at #/filing/<id> (status, history, fees,
 * deadlines, correspondence and the preliminary novelty assessment); list the caller's own.
 *
 * Submitting sends an Idempotency-Key made once per form fill, so a double click or a retry
 * files one application; editing the form after a filing starts a new fill (a new key). */

import {
  addStrings, api, clearErrors, el, field, fieldError, fileProblem, lang, limits,
  number, pager, score, section, showError, status, t,
} from '../core.js';

addStrings({
  en: {
    filingTitle: 'Filing and status',
    filingLead: 'File an application online and follow it through examination.',
    filingNew: 'New application',
    filingKind: 'Kind of application',
    filingKind_invention: 'Invention',
    filingKind_utility_model: 'Utility model',
    filingKind_industrial_design: 'Industrial design',
    filingKind_trademark: 'Trademark',
    filingTitleField: 'Title',
    filingApplicant: 'Applicant',
    filingName: 'Name or company name',
    filingCountry: 'Country (ISO code)',
    filingCountryHelp: 'Two letters, e.g. RU.',
    filingType: 'Applicant type',
    filingType_individual: 'Individual',
    filingType_sme: 'Small or medium enterprise',
    filingType_legal_entity: 'Legal entity',
    filingEmail: 'E-mail (optional)',
    filingContent: 'Content',
    filingAbstract: 'Abstract',
    filingClaims: 'Claims',
    filingClaimsHelp: 'Separate the claims with an empty line.',
    filingDescription: 'Description (optional)',
    filingIpc: 'IPC codes (optional)',
    filingIpcHelp: 'Comma-separated, e.g. H01M 10/60, F28F 3/12.',
    filingLocarno: 'Locarno class',
    filingLocarnoHelp: 'e.g. 12-11 or 12.',
    filingViews: 'Views: 3D models or images',
    filingViewsHelp: 'STL, OBJ, PLY, OFF, GLB, PNG or JPEG; several files allowed.',
    filingWord: 'Word element',
    filingImage: 'Image of the mark (optional)',
    filingImageHelp: 'PNG or JPEG.',
    filingNice: 'Nice classes',
    filingNiceHelp: 'Comma-separated numbers 1–45, e.g. 9, 42.',
    filingVienna: 'Vienna codes (optional)',
    filingGoods: 'Goods and services (optional)',
    filingFees: 'Fees preview',
    filingFeesNone: 'Choose the kind and applicant to see the fees.',
    filingFeeTotalLabel: 'Total',
    filingFeeItem: 'Item',
    filingFeeAmount: 'Amount',
    filingSubmit: 'File the application',
    filingSending: 'Filing…',
    filingUploading: 'Uploading {name}…',
    filingFiled: 'Application filed',
    filingReplayed: 'This form was already filed: the same application is shown.',
    filingId: 'Application number',
    filingStatus: 'Status',
    filingOpen: 'Open the application',
    filingTrack: 'Track an application',
    filingTrackId: 'Application number',
    filingTrackGo: 'Show',
    filingMine: 'My applications',
    filingMineEmpty: 'No applications yet.',
    filingColId: 'Number',
    filingColTitle: 'Title',
    filingColKind: 'Kind',
    filingColStatus: 'Status',
    filingColUpdated: 'Updated',
    filingBack: 'All applications',
    filingRefresh: 'Refresh',
    filingHistory: 'Status history',
    filingNext: 'May follow: {statuses}',
    filingFinal: 'Final status.',
    filingFeesIncurred: 'Fees',
    filingDeadlines: 'Deadlines',
    filingDue: '{subject}: due {due}',
    filingOverdue: 'overdue',
    filingMessages: 'Correspondence',
    filingNoMessages: 'No messages yet.',
    filingAssessment: 'Preliminary novelty assessment',
    filingAssessHelp: 'Searches the collections with the application\'s content and reports the nearest prior art.',
    filingAssess: 'Assess novelty',
    filingAssessing: 'Assessing…',
    filingAssessFailed: 'The assessment failed: {error}',
    filingVerdict: 'Verdict: {verdict}',
    filingMaxScore: 'highest similarity {score}',
    filingElement: '{element}: {excerpt}',
    filingNoPriorArt: 'No prior art found for this element.',
    filingPart_abstract: 'abstract',
    filingPart_claim: 'claim {n}',
    filingPart_view: 'view {n}',
    filingPart_word: 'word element',
    filingPart_image: 'image',
    filingReport: 'Printable report',
    filingWithdraw: 'Withdraw the application',
    filingWithdrawn: 'The application was withdrawn.',
    filingEvent_filed: 'Filed',
    filingEvent_transition: 'Status change',
    filingEvent_message: 'Message',
    filingEvent_assessment: 'Novelty assessment',
    filingEvent_fees: 'Fee charged',
    filingEventFee: '{event}: {total} {currency}',
    filingFeeEvent_filing: 'filing fee',
    filingFeeEvent_search: 'search fee',
    filingFeeEvent_examination: 'examination fee',
    filingFeeEvent_grant: 'grant or registration fee',
    verdict_likely_novel: 'likely novel',
    verdict_needs_review: 'needs review',
    verdict_likely_anticipated: 'likely anticipated',
    status_received: 'received',
    status_formal_examination: 'formal examination',
    status_search: 'search',
    status_substantive_examination: 'substantive examination',
    status_decision_to_grant: 'decision to grant',
    status_granted: 'granted',
    status_refusal: 'decision to refuse',
    status_refused: 'refused',
    status_appeal: 'appeal',
    status_refused_on_appeal: 'refused on appeal',
    status_publication: 'publication',
    status_opposition_period: 'opposition period',
    status_registered: 'registered',
    status_withdrawn: 'withdrawn',
  },
  ru: {
    filingTitle: 'Подача заявки и статус',
    filingLead: 'Подайте заявку онлайн и следите за ходом её рассмотрения.',
    filingNew: 'Новая заявка',
    filingKind: 'Вид заявки',
    filingKind_invention: 'Изобретение',
    filingKind_utility_model: 'Полезная модель',
    filingKind_industrial_design: 'Промышленный образец',
    filingKind_trademark: 'Товарный знак',
    filingTitleField: 'Название',
    filingApplicant: 'Заявитель',
    filingName: 'ФИО или наименование организации',
    filingCountry: 'Страна (код ISO)',
    filingCountryHelp: 'Две буквы, например RU.',
    filingType: 'Категория заявителя',
    filingType_individual: 'Физическое лицо',
    filingType_sme: 'Субъект малого или среднего предпринимательства',
    filingType_legal_entity: 'Юридическое лицо',
    filingEmail: 'Электронная почта (необязательно)',
    filingContent: 'Содержание',
    filingAbstract: 'Реферат',
    filingClaims: 'Формула',
    filingClaimsHelp: 'Пункты формулы разделяйте пустой строкой.',
    filingDescription: 'Описание (необязательно)',
    filingIpc: 'Индексы МПК (необязательно)',
    filingIpcHelp: 'Через запятую, например H01M 10/60, F28F 3/12.',
    filingLocarno: 'Класс МКПО (Локарно)',
    filingLocarnoHelp: 'Например 12-11 или 12.',
    filingViews: 'Изображения: 3D-модели или снимки',
    filingViewsHelp: 'STL, OBJ, PLY, OFF, GLB, PNG или JPEG; можно несколько файлов.',
    filingWord: 'Словесный элемент',
    filingImage: 'Изображение знака (необязательно)',
    filingImageHelp: 'PNG или JPEG.',
    filingNice: 'Классы МКТУ',
    filingNiceHelp: 'Номера 1–45 через запятую, например 9, 42.',
    filingVienna: 'Коды Венской классификации (необязательно)',
    filingGoods: 'Перечень товаров и услуг (необязательно)',
    filingFees: 'Предварительный расчёт пошлин',
    filingFeesNone: 'Выберите вид заявки и категорию заявителя, чтобы увидеть пошлины.',
    filingFeeTotalLabel: 'Итого',
    filingFeeItem: 'Статья',
    filingFeeAmount: 'Сумма',
    filingSubmit: 'Подать заявку',
    filingSending: 'Заявка отправляется…',
    filingUploading: 'Загружается {name}…',
    filingFiled: 'Заявка подана',
    filingReplayed: 'Эта форма уже была подана: показана та же заявка.',
    filingId: 'Номер заявки',
    filingStatus: 'Статус',
    filingOpen: 'Открыть заявку',
    filingTrack: 'Отследить заявку',
    filingTrackId: 'Номер заявки',
    filingTrackGo: 'Показать',
    filingMine: 'Мои заявки',
    filingMineEmpty: 'Заявок пока нет.',
    filingColId: 'Номер',
    filingColTitle: 'Название',
    filingColKind: 'Вид',
    filingColStatus: 'Статус',
    filingColUpdated: 'Изменена',
    filingBack: 'Все заявки',
    filingRefresh: 'Обновить',
    filingHistory: 'История статусов',
    filingNext: 'Возможные следующие статусы: {statuses}',
    filingFinal: 'Окончательный статус.',
    filingFeesIncurred: 'Пошлины',
    filingDeadlines: 'Сроки',
    filingDue: '{subject}: срок до {due}',
    filingOverdue: 'срок истёк',
    filingMessages: 'Переписка',
    filingNoMessages: 'Сообщений пока нет.',
    filingAssessment: 'Предварительная оценка новизны',
    filingAssessHelp: 'Поиск по коллекциям по содержанию заявки и ближайшие аналоги.',
    filingAssess: 'Оценить новизну',
    filingAssessing: 'Идёт оценка…',
    filingAssessFailed: 'Оценка не удалась: {error}',
    filingVerdict: 'Вывод: {verdict}',
    filingMaxScore: 'наибольшее сходство {score}',
    filingElement: '{element}: {excerpt}',
    filingNoPriorArt: 'Аналоги для этого элемента не найдены.',
    filingPart_abstract: 'реферат',
    filingPart_claim: 'пункт формулы {n}',
    filingPart_view: 'изображение {n}',
    filingPart_word: 'словесный элемент',
    filingPart_image: 'изображение',
    filingReport: 'Отчёт для печати',
    filingWithdraw: 'Отозвать заявку',
    filingWithdrawn: 'Заявка отозвана.',
    filingEvent_filed: 'Заявка подана',
    filingEvent_transition: 'Смена статуса',
    filingEvent_message: 'Сообщение',
    filingEvent_assessment: 'Оценка новизны',
    filingEvent_fees: 'Начислена пошлина',
    filingEventFee: '{event}: {total} {currency}',
    filingFeeEvent_filing: 'пошлина за подачу',
    filingFeeEvent_search: 'пошлина за информационный поиск',
    filingFeeEvent_examination: 'пошлина за экспертизу по существу',
    filingFeeEvent_grant: 'пошлина за выдачу или регистрацию',
    verdict_likely_novel: 'вероятно, новое',
    verdict_needs_review: 'требуется проверка экспертом',
    verdict_likely_anticipated: 'вероятно, известно из уровня техники',
    status_received: 'поступила',
    status_formal_examination: 'формальная экспертиза',
    status_search: 'информационный поиск',
    status_substantive_examination: 'экспертиза по существу',
    status_decision_to_grant: 'решение о выдаче патента',
    status_granted: 'патент выдан',
    status_refusal: 'решение об отказе',
    status_refused: 'отказано',
    status_appeal: 'возражение',
    status_refused_on_appeal: 'отказано по возражению',
    status_publication: 'публикация',
    status_opposition_period: 'срок подачи возражений',
    status_registered: 'зарегистрирован',
    status_withdrawn: 'отозвана',
  },
});

const KINDS = ['invention', 'utility_model', 'industrial_design', 'trademark'];
const TYPES = ['legal_entity', 'sme', 'individual'];
const ATTACHMENT_MAX = 20 * 1024 * 1024; // POST /v1/attachments refuses more
const IMAGE_TYPES = ['image/png', 'image/jpeg'];
const MESH_EXTENSIONS = ['stl', 'obj', 'ply', 'off', 'glb'];
const PAGE = 10;

const statusText = (name) => t(`status_${name}`) === `status_${name}` ? name : t(`status_${name}`);
const badge = (name) => el('span', { class: `badge ${name}`, 'data-status': name, text: statusText(name) });
const when = (iso) => (iso ? new Date(iso).toLocaleString(lang()) : '—');
const list = (text) => text.split(',').map((s) => s.trim()).filter(Boolean);

/** Upload one file as an attachment (raw body; the JSON helper of core.js cannot send bytes)
 * → its sha256. Uses the API key of this tab, as core.js does. */
async function upload(file) {
  return (await api('/v1/attachments', { method: 'POST', raw: file })).sha256;
}

/** Why a file cannot be attached (null when it can): images up to the image limit, meshes up
 * to the mesh limit, neither above what the attachment store takes. */
function attachmentProblem(file, known, { images = true, meshes = true } = {}) {
  const name = file.name.toLowerCase();
  const isMesh = MESH_EXTENSIONS.some((ext) => name.endsWith(`.${ext}`));
  if (meshes && isMesh) {
    return fileProblem(file, { maxBytes: Math.min(known.mesh_bytes || ATTACHMENT_MAX, ATTACHMENT_MAX), extensions: MESH_EXTENSIONS });
  }
  return fileProblem(file, {
    maxBytes: Math.min(known.image_bytes || ATTACHMENT_MAX, ATTACHMENT_MAX),
    types: images ? IMAGE_TYPES : [],
    extensions: [...(images ? ['png', 'jpg', 'jpeg'] : []), ...(meshes ? MESH_EXTENSIONS : [])],
  });
}

/* ---------- the form ---------- */

function input(id, props = {}) {
  return el(props.multiline ? 'textarea' : 'input', { id, name: id, ...props, multiline: null });
}

function buildForm() {
  const kind = el('select', { id: 'filing-kind', name: 'kind', 'data-field': 'kind' },
    KINDS.map((k) => el('option', { value: k, text: t(`filingKind_${k}`) })));
  const type = el('select', { id: 'filing-type', name: 'type', 'data-field': 'applicant.type' },
    TYPES.map((k) => el('option', { value: k, text: t(`filingType_${k}`) })));
  const patentPart = el('div', { class: 'filing-part', 'data-kinds': 'invention utility_model' },
    field(t('filingAbstract'), input('filing-abstract', { multiline: true, rows: 4, 'data-field': 'content.abstract' })),
    field(t('filingClaims'), input('filing-claims', { multiline: true, rows: 5, 'data-field': 'content.claims' }),
      t('filingClaimsHelp')),
    field(t('filingDescription'), input('filing-description', { multiline: true, rows: 3, 'data-field': 'content.description' })),
    field(t('filingIpc'), input('filing-ipc', { 'data-field': 'content.ipc', autocomplete: 'off' }), t('filingIpcHelp')));
  const designPart = el('div', { class: 'filing-part', 'data-kinds': 'industrial_design' },
    field(t('filingLocarno'), input('filing-locarno', { 'data-field': 'content.locarno' }), t('filingLocarnoHelp')),
    field(t('filingViews'), input('filing-views', {
      type: 'file', multiple: true, 'data-field': 'content.views',
      accept: '.stl,.obj,.ply,.off,.glb,image/png,image/jpeg',
    }), t('filingViewsHelp')));
  const markPart = el('div', { class: 'filing-part', 'data-kinds': 'trademark' },
    field(t('filingWord'), input('filing-word', { 'data-field': 'content.word' })),
    field(t('filingImage'), input('filing-image', { type: 'file', accept: 'image/png,image/jpeg', 'data-field': 'content.image' }),
      t('filingImageHelp')),
    field(t('filingNice'), input('filing-nice', { 'data-field': 'content.nice_classes', inputmode: 'numeric' }), t('filingNiceHelp')),
    field(t('filingVienna'), input('filing-vienna', { 'data-field': 'content.vienna' })),
    field(t('filingGoods'), input('filing-goods', { multiline: true, rows: 2, 'data-field': 'content.goods_services' })));
  const form = el('form', { id: 'filing-form', class: 'search filing-form', novalidate: true, 'aria-labelledby': 'filing-new' },
    el('h2', { id: 'filing-new', text: t('filingNew') }),
    field(t('filingKind'), kind),
    field(t('filingTitleField'), input('filing-title', { 'data-field': 'title', maxlength: 500 })),
    el('fieldset', { id: 'filing-applicant', 'data-field': 'applicant' },
      el('legend', { text: t('filingApplicant') }),
      field(t('filingName'), input('filing-name', { 'data-field': 'applicant.name', autocomplete: 'name' })),
      el('div', { class: 'row' },
        field(t('filingCountry'), input('filing-country', {
          'data-field': 'applicant.country', value: 'RU', maxlength: 2, size: 3, autocomplete: 'country',
        }), t('filingCountryHelp')),
        field(t('filingType'), type)),
      field(t('filingEmail'), input('filing-email', { type: 'email', 'data-field': 'applicant.email', autocomplete: 'email' }))),
    el('fieldset', { id: 'filing-content', 'data-field': 'content' },
      el('legend', { text: t('filingContent') }), patentPart, designPart, markPart),
    el('p', { class: 'form-error', role: 'alert' }),
    el('button', { type: 'submit', id: 'filing-submit', text: t('filingSubmit') }));
  return form;
}

/** The filing request the form describes, with attachments uploaded (their sha256). */
async function filingOf(form) {
  const v = (id) => form.querySelector(`#${id}`).value;
  const kind = v('filing-kind');
  const body = {
    kind,
    title: v('filing-title'),
    applicant: { name: v('filing-name'), country: v('filing-country').trim(), type: v('filing-type') },
    content: {},
  };
  if (v('filing-email').trim()) body.applicant.email = v('filing-email').trim();
  const content = body.content;
  if (kind === 'invention' || kind === 'utility_model') {
    content.abstract = v('filing-abstract');
    content.claims = v('filing-claims').split(/\n\s*\n/).map((s) => s.trim()).filter(Boolean);
    if (v('filing-description').trim()) content.description = v('filing-description');
    if (list(v('filing-ipc')).length) content.ipc = list(v('filing-ipc'));
  } else if (kind === 'industrial_design') {
    content.locarno = v('filing-locarno').trim();
    const files = [...form.querySelector('#filing-views').files];
    content.views = [];
    for (const file of files) {
      status(t('filingUploading', { name: file.name }));
      content.views.push(await upload(file));
    }
  } else {
    if (v('filing-word').trim()) content.word = v('filing-word').trim();
    const [image] = form.querySelector('#filing-image').files;
    if (image) {
      status(t('filingUploading', { name: image.name }));
      content.image = await upload(image);
    }
    content.nice_classes = list(v('filing-nice')).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
    if (list(v('filing-vienna')).length) content.vienna = list(v('filing-vienna'));
    if (v('filing-goods').trim()) content.goods_services = v('filing-goods');
  }
  return body;
}

/** The files chosen in the form that cannot be sent: shown at their input; true if any. */
function checkFiles(form, known) {
  let bad = false;
  const kind = form.querySelector('#filing-kind').value;
  const views = form.querySelector('#filing-views');
  const image = form.querySelector('#filing-image');
  const checks = kind === 'industrial_design' ? [[views, {}]] : kind === 'trademark' ? [[image, { meshes: false }]] : [];
  for (const [control, options] of checks) {
    for (const file of control.files) {
      const problem = attachmentProblem(file, known, options);
      if (problem) {
        fieldError(control, problem);
        bad = true;
        break;
      }
    }
  }
  return bad;
}

function feesTable(quote) {
  return el('div', { class: 'table-wrap' }, el('table', { class: 'filing-fees' },
    el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: t('filingFeeItem') }),
      el('th', { scope: 'col', text: t('filingFeeAmount') }))),
    el('tbody', {}, quote.lines.map((line) => el('tr', { 'data-code': line.code },
      el('td', { text: line.quantity > 1 ? `${line.description} × ${line.quantity}` : line.description }),
      el('td', { class: 'num', text: `${number(line.amount, 2)} ${quote.currency}` })))),
    el('tfoot', {}, el('tr', {}, el('th', { scope: 'row', text: t('filingFeeTotalLabel') }),
      el('td', { class: 'num fee-total', 'data-total': quote.total, text: `${number(quote.total, 2)} ${quote.currency}` })))));
}

/* ---------- #/filing ---------- */

async function renderHome(view) {
  const form = buildForm();
  const fees = el('div', { id: 'filing-fees', 'aria-live': 'polite' }, el('p', { text: t('filingFeesNone') }));
  const result = el('div', { id: 'filing-result', 'aria-live': 'polite' });
  const trackInput = el('input', { id: 'filing-track-id', name: 'id', required: true, autocomplete: 'off' });
  const track = el('form', { id: 'filing-track', class: 'box', role: 'search' },
    el('h2', { text: t('filingTrack') }),
    el('div', { class: 'row' }, field(t('filingTrackId'), trackInput),
      el('button', { type: 'submit', text: t('filingTrackGo') })));
  const mine = el('div', { id: 'filing-mine', 'aria-live': 'polite' });
  view.replaceChildren(section('filingTitle',
    el('p', { class: 'lead', text: t('filingLead') }),
    el('div', { class: 'layout filing-layout' },
      form,
      el('div', { class: 'results' },
        result,
        el('div', { class: 'box' }, el('h2', { text: t('filingFees') }), fees),
        track,
        el('div', { class: 'box' }, el('h2', { text: t('filingMine') }), mine)))));

  track.addEventListener('submit', (event) => {
    event.preventDefault();
    const id = trackInput.value.trim();
    if (id) location.hash = `#/filing/${encodeURIComponent(id)}`;
  });

  // one key per form fill: a double click or a retry of the same fill files once
  let idempotencyKey = crypto.randomUUID();
  let filed = false;
  const showKind = () => {
    const kind = form.querySelector('#filing-kind').value;
    for (const part of form.querySelectorAll('.filing-part')) {
      part.hidden = !part.dataset.kinds.split(' ').includes(kind);
    }
  };
  let feeTimer = null;
  let feeSeq = 0;
  const quote = () => {
    clearTimeout(feeTimer);
    feeTimer = setTimeout(async () => {
      const kind = form.querySelector('#filing-kind').value;
      const claims = form.querySelector('#filing-claims').value.split(/\n\s*\n/).filter((s) => s.trim()).length;
      const classes = list(form.querySelector('#filing-nice').value).length;
      const patent = kind === 'invention' || kind === 'utility_model';
      const seq = ++feeSeq;
      try {
        const answer = await api('/v1/fees', {
          params: {
            kind,
            claims: patent ? Math.max(1, claims) : null,
            classes: kind === 'trademark' ? Math.max(1, classes) : null,
            designs: kind === 'industrial_design' ? 1 : null,
            applicant_type: form.querySelector('#filing-type').value,
          },
        });
        if (seq !== feeSeq) return;
        fees.replaceChildren(feesTable(answer), el('p', { class: 'help', text: answer.notice }));
      } catch (err) {
        if (seq === feeSeq) fees.replaceChildren(el('p', { class: 'form-error', text: err.message }));
      }
    }, 250);
  };
  form.addEventListener('change', (event) => {
    if (event.target.id === 'filing-kind') showKind();
    quote();
  });
  form.addEventListener('input', (event) => {
    if (filed) {
      idempotencyKey = crypto.randomUUID();
      filed = false;
    }
    if (['filing-claims', 'filing-nice'].includes(event.target.id)) quote();
  });
  showKind();
  quote();

  let sending = false;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (sending) return; // a second click while the first is on its way
    sending = true;
    clearErrors(form);
    const submit = form.querySelector('#filing-submit');
    let known = {};
    try {
      known = await limits();
    } catch (_) { /* the server checks anyway */ }
    if (checkFiles(form, known)) {
      sending = false;
      return;
    }
    submit.disabled = true;
    status(t('filingSending'));
    try {
      const body = await filingOf(form);
      const response = await api('/v1/applications', {
        method: 'POST', body, headers: { 'Idempotency-Key': idempotencyKey }, as: 'response',
      });
      const application = await response.json();
      filed = true;
      status('');
      showFiled(result, application, response.headers.get('Idempotent-Replayed') === 'true');
      listMine(mine, 0);
    } catch (err) {
      status('');
      showError(form, err);
    } finally {
      sending = false;
      submit.disabled = false;
    }
  });
  listMine(mine, 0);
}

function showFiled(box, application, replayed) {
  const fee = application.fees[0];
  box.replaceChildren(el('div', { class: 'box filing-filed', 'data-id': application.id, role: 'status' },
    el('h2', { text: t('filingFiled') }),
    replayed ? el('p', { class: 'banner filing-replayed', text: t('filingReplayed') }) : null,
    el('dl', { class: 'fields' },
      el('dt', { text: t('filingId') }), el('dd', { id: 'filing-filed-id', text: application.id }),
      el('dt', { text: t('filingStatus') }), el('dd', {}, badge(application.status)),
      fee ? el('dt', { text: t('filingFeesIncurred') }) : null,
      fee ? el('dd', { class: 'fee-total', 'data-total': fee.total, text: `${number(fee.total, 2)} ${fee.currency}` }) : null),
    el('p', {}, el('a', { id: 'filing-filed-link', href: `#/filing/${encodeURIComponent(application.id)}`, text: t('filingOpen') }))));
  box.querySelector('a').focus();
}

async function listMine(box, offset) {
  try {
    const answer = await api('/v1/applications', { params: { offset, limit: PAGE } });
    if (!answer.applications.length) {
      box.replaceChildren(el('p', { text: t('filingMineEmpty') }));
      return;
    }
    box.replaceChildren(
      el('div', { class: 'table-wrap' }, el('table', { class: 'filing-mine' },
        el('thead', {}, el('tr', {}, ['filingColId', 'filingColTitle', 'filingColKind', 'filingColStatus', 'filingColUpdated']
          .map((key) => el('th', { scope: 'col', text: t(key) })))),
        el('tbody', {}, answer.applications.map((a) => el('tr', { 'data-id': a.id },
          el('td', {}, el('a', { href: `#/filing/${encodeURIComponent(a.id)}`, text: a.id })),
          el('td', { text: a.title }),
          el('td', { text: t(`filingKind_${a.kind}`) }),
          el('td', {}, badge(a.status)),
          el('td', { text: when(a.updated) })))))),
      pager({ total: answer.total, k: PAGE, offset, onPage: (next) => listMine(box, next) }));
  } catch (err) {
    showError(null, err);
  }
}

/* ---------- #/filing/<id> ---------- */

function eventText(event) {
  if (event.kind === 'transition') {
    return `${statusText(event.from_status)} → ${statusText(event.to_status)}`;
  }
  if (event.kind === 'fees' && event.data) {
    const key = `filingFeeEvent_${event.data.event}`;
    return t('filingEventFee', { event: t(key) === key ? event.data.event : t(key), total: number(event.data.total, 2), currency: event.data.currency });
  }
  if (event.kind === 'filed') return statusText(event.to_status || 'received');
  return '';
}

function timeline(history) {
  return el('ol', { class: 'filing-timeline', id: 'filing-history' }, history.map((event) => el('li', {
    'data-kind': event.kind, 'data-to': event.to_status || null,
  },
  el('time', { datetime: event.at, text: when(event.at) }),
  el('strong', { text: t(`filingEvent_${event.kind}`) }),
  el('span', { text: eventText(event) }),
  event.reason ? el('q', { text: event.reason }) : null)));
}

/** An assessed element's name (`abstract`, `claim 2`, `view 1`, `word`, `image`) in the UI's
 * language; another name as the server sent it. */
function partName(name) {
  const [, base, n] = /^([a-z_]+)(?: (\d+))?$/.exec(name) || [];
  const key = `filingPart_${base}`;
  return base && t(key, { n }) !== key ? t(key, { n }) : name;
}

function assessmentView(job) {
  if (job.status === 'failed') return el('p', { class: 'form-error', text: t('filingAssessFailed', { error: job.error || '' }) });
  if (job.status !== 'done' || !job.report) return el('p', { role: 'status', text: t('filingAssessing') });
  const report = job.report;
  return el('div', { class: 'filing-report', 'data-verdict': report.verdict },
    el('p', { class: 'filing-verdict' },
      el('span', { class: `badge verdict-${report.verdict}`, text: t('filingVerdict', { verdict: t(`verdict_${report.verdict}`) }) }),
      ' ', report.max_score === null ? '' : t('filingMaxScore', { score: score(report.max_score) })),
    report.elements.map((element) => el('div', { class: 'filing-element', 'data-element': element.element },
      el('h3', { text: t('filingElement', { element: partName(element.element), excerpt: (element.excerpt || '').slice(0, 120) }) }),
      element.hits.length ? el('ol', { class: 'hits' }, element.hits.map((hit) => el('li', {
        class: 'hit', 'data-collection': hit.collection, 'data-id': hit.id, 'data-score': String(hit.score),
      }, el('div', { class: 'hit-body' },
        el('div', { class: 'hit-head' },
          el('span', { class: 'hit-id', text: `${hit.collection} · ${hit.id}` }),
          el('span', { class: 'hit-score', text: `${t('score')} ${score(hit.score)}` })),
        hit.title ? el('p', { text: hit.title }) : null))))
        : el('p', { text: t('filingNoPriorArt') }))),
    el('p', {}, el('a', { href: `/v1/applications/${encodeURIComponent(job.application_id)}/assessment?format=html`, target: '_blank', rel: 'noopener', text: t('filingReport') })));
}

let polling = null;

async function pollAssessment(id, box) {
  clearTimeout(polling);
  const job = await api(`/v1/applications/${encodeURIComponent(id)}/assessment`);
  box.replaceChildren(assessmentView(job));
  if (job.status === 'queued' || job.status === 'running') {
    polling = setTimeout(() => pollAssessment(id, box).catch((err) => showError(null, err)), 700);
  }
}

async function renderApplication(view, id) {
  const back = el('p', {}, el('a', { href: '#/filing', text: `← ${t('filingBack')}` }));
  view.replaceChildren(section('filingTitle', back, el('p', { role: 'status', text: t('loading') })));
  let application;
  try {
    application = await api(`/v1/applications/${encodeURIComponent(id)}`);
  } catch (err) {
    view.replaceChildren(section('filingTitle', back, el('p', { class: 'form-error', role: 'alert', id: 'filing-not-found', text: err.message })));
    return;
  }
  const assessBox = el('div', { id: 'filing-assessment', 'aria-live': 'polite' });
  const assessForm = el('form', { class: 'filing-assess' },
    el('p', { class: 'help', text: t('filingAssessHelp') }),
    el('button', { type: 'submit', id: 'filing-assess', text: t('filingAssess') }),
    el('p', { class: 'form-error', role: 'alert' }));
  const messages = el('div', { id: 'filing-messages' });
  const actions = el('form', { class: 'filing-actions' },
    el('button', { type: 'button', id: 'filing-refresh', text: t('filingRefresh'), onclick: () => renderApplication(view, id) }),
    application.allowed_transitions.includes('withdrawn')
      ? el('button', { type: 'button', id: 'filing-withdraw', class: 'secondary', text: t('filingWithdraw'), onclick: withdraw }) : null,
    el('p', { class: 'form-error', role: 'alert' }));
  async function withdraw() {
    clearErrors(actions);
    try {
      await api(`/v1/applications/${encodeURIComponent(id)}/transitions`, { method: 'POST', body: { to: 'withdrawn' } });
      await renderApplication(view, id);
      status(t('filingWithdrawn'));
    } catch (err) {
      showError(actions, err);
    }
  }
  const openDeadlines = application.deadlines || [];
  const content = el('article', { class: 'filing-application', 'data-id': application.id, 'data-status': application.status },
    el('h2', { id: 'filing-app-title', text: application.title }),
    el('dl', { class: 'fields' },
      el('dt', { text: t('filingId') }), el('dd', { id: 'filing-app-id', text: application.id }),
      el('dt', { text: t('filingKind') }), el('dd', { text: t(`filingKind_${application.kind}`) }),
      el('dt', { text: t('filingApplicant') }), el('dd', { text: `${application.applicant.name} (${application.applicant.country})` }),
      el('dt', { text: t('filingStatus') }), el('dd', { id: 'filing-app-status' }, badge(application.status)),
      el('dt', { text: t('filingColUpdated') }), el('dd', { text: when(application.updated) })),
    el('p', { class: 'help', text: application.allowed_transitions.length
      ? t('filingNext', { statuses: application.allowed_transitions.map(statusText).join(', ') }) : t('filingFinal') }),
    actions,
    el('h3', { text: t('filingHistory') }),
    timeline(application.history),
    el('h3', { text: t('filingFeesIncurred') }),
    el('div', { id: 'filing-app-fees' }, application.fees.map((quote) => feesTable(quote))),
    openDeadlines.length ? el('h3', { text: t('filingDeadlines') }) : null,
    openDeadlines.length ? el('ul', { class: 'filing-deadlines' }, openDeadlines.map((d) => el('li', {},
      t('filingDue', { subject: d.subject, due: d.due }), d.overdue ? el('span', { class: 'badge refused', text: t('filingOverdue') }) : null))) : null,
    el('h3', { text: t('filingMessages') }),
    messages,
    el('h3', { text: t('filingAssessment') }),
    assessForm,
    assessBox);
  view.replaceChildren(section('filingTitle', back, content));
  assessForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(assessForm);
    const button = assessForm.querySelector('button');
    button.disabled = true;
    try {
      await api(`/v1/applications/${encodeURIComponent(id)}/assessment`, { method: 'POST' });
      await pollAssessment(id, assessBox);
    } catch (err) {
      showError(assessForm, err);
    } finally {
      button.disabled = false;
    }
  });
  try {
    const thread = await api(`/v1/applications/${encodeURIComponent(id)}/messages`);
    messages.replaceChildren(thread.messages.length
      ? el('ol', { class: 'filing-thread' }, thread.messages.map((m) => el('li', { 'data-kind': m.kind },
        el('strong', { text: m.subject }), ` · ${when(m.created)}`, el('p', { text: m.body }))))
      : el('p', { text: t('filingNoMessages') }));
    // an earlier assessment (its event is in the history): show its report
    if (application.history.some((event) => event.kind === 'assessment')) await pollAssessment(id, assessBox);
  } catch (err) {
    showError(null, err);
  }
}

async function render(view, route) {
  clearTimeout(polling);
  if (route.args[0]) await renderApplication(view, route.args[0]);
  else await renderHome(view);
}

export default {
  id: 'filing', title: 'filingTitle', render, leave() { clearTimeout(polling); },
};

