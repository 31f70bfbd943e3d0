/* The /bi dashboards: every number comes from the /v1/bi API; charts are Apache ECharts.
 *
 * Plain script, no build step. Panels: the field x country heat map, trends with their
 * anomalies marked, the live indicators, and a free report (table + CSV). The filters at the
 * top (countries, years, kind) feed every panel.
 *
 * Live indicators: EventSource cannot send an Authorization header, so the page reads the
 * server-sent-event stream with fetch() and a small parser instead: one code path, with or
 * without an API key, and no key in a URL (where it would land in logs). If the stream breaks,
 * the page fetches the counters once and reconnects 5 s later.
 *
 * Exports: each chart panel renders its current option once more in an off-screen ECharts
 * instance (canvas for PNG, the SVG renderer for SVG), with a title and the filters, so the
 * file stands on its own.
 *
 * Every user-visible string is in STRINGS (one object per language) for translation.
 */
'use strict';

(() => {
  const STRINGS = {
    en: {
      skip: 'Skip to the dashboards',
      title: 'Patent analytics',
      apiKey: 'API key',
      useKey: 'Use key',
      forgetKey: 'Forget key',
      keyHelp: 'Needed only when the server has API keys (read scope). Kept in this tab only.',
      synthetic: 'Demo data: these records are synthetic, generated for demonstration; '
        + 'they are not real patent statistics.',
      filters: 'Filters',
      countries: 'Countries',
      countriesHelp: 'ISO codes, comma-separated',
      from: 'From year',
      to: 'To year',
      kind: 'Kind',
      kindAll: 'All kinds',
      kindInvention: 'Inventions',
      kindUtility: 'Utility models',
      kindDesign: 'Industrial designs',
      kindTrademark: 'Trademarks',
      apply: 'Apply',
      show: 'Show',
      shares: 'Shares',
      counts: 'Counts',
      exportPng: 'PNG',
      exportSvg: 'SVG',
      exportLabel: 'Download {panel} as {format}',
      heatmapTitle: 'Technology fields by country',
      trendsTitle: 'Trends and anomalies',
      by: 'By',
      byCountry: 'Country',
      byField: 'Technology field',
      period: 'Period',
      year: 'Year',
      quarter: 'Quarter',
      field: 'Field',
      allFields: 'All fields',
      anomalyList: 'Anomalies found',
      anomalyItem: '{label}, {period}: {count} (expected {expected}, score {score})',
      anomalyNone: 'No anomalies in this selection.',
      anomalyMethod: 'Method: {method}; flagged when |score| > {threshold}.',
      heatmapDescription: 'Heat map of {measure} per technology field (rows) and country '
        + '(columns: {countries}). Largest: {top}.',
      trendsDescription: 'Line chart of application counts per {period} by {by}: {series}. '
        + '{anomalies} anomalies marked; the list follows the chart.',
      indicatorsDescription: 'Office activity since this page opened. Latest: {values}.',
      anomaly: 'Anomaly',
      trend: 'trend',
      growth: 'growth',
      indicatorsTitle: 'Office activity, live',
      reportTitle: 'Build a report',
      dimensions: 'Group by',
      measures: 'Measures',
      limit: 'Rows at most',
      run: 'Run report',
      csv: 'Download CSV',
      footer: 'Charts drawn with Apache ECharts (vendored, Apache-2.0). '
        + 'Fields: WIPO IPC–technology concordance.',
      loading: 'Loading…',
      noData: 'No data for these filters.',
      rows: '{n} rows',
      updatedAt: 'Updated {at}',
      live: 'live',
      reconnecting: 'stream interrupted; reconnecting in 5 s',
      needKey: 'This server needs an API key with the read scope: enter it above.',
      badKey: 'The server refused the API key: {message}',
      keySaved: 'API key in use for this tab.',
      keyForgotten: 'API key forgotten.',
      error: 'Error: {message}',
      pickOne: 'Pick at least one dimension and one measure.',
      filterSummary: '{countries}, {from}–{to}',
      country: 'Country',
      count: 'Count',
      share: 'Share',
      language: 'Language',
      portal: '← Search portal',
      minutes: '{n} min',
      seconds: '{n} s',
      indicatorNames: {
        applications_today: 'Applications today',
        in_examination: 'In examination',
        granted_this_month: 'Granted this month',
        searches_served: 'Searches served',
        mean_assessment_seconds: 'Mean assessment time',
      },
      dimensionNames: {
        country: 'Country', field: 'Field', field_name: 'Field name', sector: 'Sector',
        kind: 'Kind', status: 'Status',
        year: 'Year', quarter: 'Quarter', source: 'Source',
      },
      measureNames: {
        count: 'Count (fractional)', applications: 'Applications', share: 'Share',
      },
    },
    ru: {
      skip: 'Перейти к панелям',
      title: 'Патентная аналитика',
      apiKey: 'API-ключ',
      useKey: 'Применить',
      forgetKey: 'Забыть ключ',
      keyHelp: 'Нужен, только если сервер требует API-ключи (право чтения). Хранится только в этой вкладке.',
      synthetic: 'Демонстрационные данные: эти записи синтетические, созданы для демонстрации; '
        + 'это не настоящая патентная статистика.',
      filters: 'Фильтры',
      countries: 'Страны',
      countriesHelp: 'Коды ISO через запятую',
      from: 'Год с',
      to: 'Год по',
      kind: 'Вид',
      kindAll: 'Все виды',
      kindInvention: 'Изобретения',
      kindUtility: 'Полезные модели',
      kindDesign: 'Промышленные образцы',
      kindTrademark: 'Товарные знаки',
      apply: 'Применить',
      show: 'Показать',
      shares: 'Доли',
      counts: 'Количество',
      exportPng: 'PNG',
      exportSvg: 'SVG',
      exportLabel: 'Скачать «{panel}» в формате {format}',
      heatmapTitle: 'Области техники по странам',
      trendsTitle: 'Динамика и аномалии',
      by: 'Разрез',
      byCountry: 'Страна',
      byField: 'Область техники',
      period: 'Период',
      year: 'Год',
      quarter: 'Квартал',
      field: 'Область',
      allFields: 'Все области',
      anomalyList: 'Найденные аномалии',
      anomalyItem: '{label}, {period}: {count} (ожидалось {expected}, оценка {score})',
      anomalyNone: 'В этой выборке аномалий нет.',
      anomalyMethod: 'Метод: {method}; аномалия, если |оценка| > {threshold}.',
      heatmapDescription: 'Тепловая карта: {measure} по областям техники (строки) и странам '
        + '(столбцы: {countries}). Наибольшее значение: {top}.',
      trendsDescription: 'Линейный график числа заявок по периодам ({period}) в разрезе «{by}»: '
        + '{series}. Отмечено аномалий: {anomalies}; их список следует за графиком.',
      indicatorsDescription: 'Активность ведомства с момента открытия страницы. Последние значения: {values}.',
      anomaly: 'Аномалия',
      trend: 'тренд',
      growth: 'прирост',
      indicatorsTitle: 'Активность ведомства в реальном времени',
      reportTitle: 'Построить отчёт',
      dimensions: 'Группировать по',
      measures: 'Показатели',
      limit: 'Не более строк',
      run: 'Построить отчёт',
      csv: 'Скачать CSV',
      footer: 'Графики построены с помощью Apache ECharts (включена в поставку, Apache-2.0). '
        + 'Области техники: соответствие МПК и областей техники ВОИС.',
      loading: 'Загрузка…',
      noData: 'Нет данных для этих фильтров.',
      rows: 'строк: {n}',
      updatedAt: 'Обновлено {at}',
      live: 'в реальном времени',
      reconnecting: 'поток прерван; повторное подключение через 5 с',
      needKey: 'Сервер требует API-ключ с правом чтения: введите его выше.',
      badKey: 'Сервер отклонил API-ключ: {message}',
      keySaved: 'API-ключ используется в этой вкладке.',
      keyForgotten: 'API-ключ забыт.',
      error: 'Ошибка: {message}',
      pickOne: 'Выберите хотя бы одно измерение и один показатель.',
      filterSummary: '{countries}, {from}–{to}',
      country: 'Страна',
      count: 'Количество',
      share: 'Доля',
      language: 'Язык',
      portal: '← Портал поиска',
      minutes: '{n} мин',
      seconds: '{n} с',
      indicatorNames: {
        applications_today: 'Заявок сегодня',
        in_examination: 'На экспертизе',
        granted_this_month: 'Выдано в этом месяце',
        searches_served: 'Выполнено поисков',
        mean_assessment_seconds: 'Среднее время оценки',
      },
      dimensionNames: {
        country: 'Страна', field: 'Область', field_name: 'Название области', sector: 'Сектор',
        kind: 'Вид', status: 'Статус',
        year: 'Год', quarter: 'Квартал', source: 'Источник',
      },
      measureNames: {
        count: 'Количество (дробное)', applications: 'Заявки', share: 'Доля',
      },
    },
  };
  const LANG_STORAGE = 'ipsim.lang'; // the portal's choice, shared with it
  const LANGS = Object.keys(STRINGS);

  /** The saved choice (the portal's), else the browser's language. */
  function initialLang() {
    let saved = null;
    try {
      saved = localStorage.getItem(LANG_STORAGE);
    } catch (_) { /* storage blocked: fall back to the browser's language */ }
    if (LANGS.includes(saved)) return saved;
    return (navigator.language || '').toLowerCase().startsWith('ru') ? 'ru' : 'en';
  }

  const LANG = initialLang();
  document.documentElement.lang = LANG;
  const S = STRINGS[LANG];

  /** The string for `key` with {name} placeholders filled from `vars`. */
  function t(key, vars = {}) {
    const text = S[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ''));
  }

  const KEY_STORAGE = 'ipsim.bi.apiKey';
  const DIMENSIONS = ['country', 'field', 'sector', 'kind', 'status', 'year', 'quarter', 'source'];
  const MEASURES = ['count', 'applications', 'share'];
  const HISTORY_POINTS = 120;
  // colour-blind-safe (Okabe-Ito and Tol), no red: red marks the anomalies
  const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#8C564B', '#999933',
    '#332288', '#44AA99', '#882255'];
  const RETRY_MS = 5000;

  const $ = (selector, root = document) => root.querySelector(selector);
  const state = {
    key: sessionStorage.getItem(KEY_STORAGE) || '',
    charts: {},       // panel name -> on-screen ECharts instance
    options: {},      // panel name -> the option it shows (re-rendered for exports)
    fieldsLoaded: false,
    history: [],      // [{at: Date, values: {name: number}}] for the live chart
    stream: null,     // AbortController of the indicators stream
    retry: null,      // timer of the next stream attempt
  };

  /* ---------- API ---------- */

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function call(path, { method = 'GET', body, accept = 'application/json', signal } = {}) {
    const headers = { Accept: accept };
    if (state.key) headers.Authorization = `Bearer ${state.key}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(path, {
      method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) {
      let code = `http_${response.status}`;
      let message = response.statusText;
      try {
        const answer = await response.json();
        ({ code, message } = answer.error);
      } catch (_) { /* not the CONTRACT error shape: keep the status line */ }
      throw new ApiError(response.status, code, message);
    }
    return response;
  }

  function query(params) {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) {
      if (value !== '' && value !== null && value !== undefined) search.set(name, value);
    }
    const text = search.toString();
    return text ? `?${text}` : '';
  }

  const getJson = async (path, params = {}) => (await call(path + query(params))).json();

  /* ---------- page state ---------- */

  function filters() {
    const countries = $('#f-countries').value.split(',')
      .map((c) => c.trim().toUpperCase()).filter(Boolean);
    return {
      countries,
      from: $('#f-from').value,
      to: $('#f-to').value,
      kind: $('#f-kind').value,
    };
  }

  function commonParams(f = filters()) {
    return { country: f.countries.join(','), from: f.from, to: f.to, kind: f.kind };
  }

  function setStatus(element, text, isError = false) {
    element.textContent = text;
    element.classList.toggle('error', isError);
  }

  const panelStatus = (panel) => $(`#panel-${panel} .panel-status`);

  /** Show an API failure where it happened; a missing/refused key also on the page top. */
  function showError(panel, err) {
    const auth = err instanceof ApiError && (err.status === 401 || err.status === 403);
    const text = auth && !state.key ? t('needKey')
      : auth ? t('badKey', { message: err.message }) : t('error', { message: err.message });
    if (panel) setStatus(panelStatus(panel), text, true);
    if (auth) {
      setStatus($('#global-status'), text, true);
      $('#api-key').focus();
    }
  }

  function noteSynthetic(answer) {
    if (answer && answer.synthetic === true) $('#synthetic-banner').hidden = false;
  }

  /* ---------- charts ---------- */

  function chart(panel) {
    if (!state.charts[panel]) {
      const element = $(`#chart-${panel}`);
      const instance = echarts.init(element, null, { renderer: 'canvas' });
      new ResizeObserver(() => instance.resize()).observe(element);
      state.charts[panel] = instance;
    }
    return state.charts[panel];
  }

  /** Show `option` in the panel's chart; `description` is what a screen reader hears. */
  function draw(panel, option, description) {
    const full = {
      aria: { enabled: true, label: { description } },
      color: PALETTE,
      animationDuration: 300,
      ...option,
    };
    state.options[panel] = full;
    chart(panel).setOption(full, { notMerge: true });
    for (const button of document.querySelectorAll(`[data-export="${panel}"]`)) button.disabled = false;
  }

  const narrow = () => window.matchMedia('(max-width: 40rem)').matches;
  const number = (value, digits = 1) => (value === null || value === undefined ? '—'
    : Number(value).toLocaleString(LANG, { maximumFractionDigits: digits }));
  const percent = (value) => `${(100 * value).toFixed(1)}%`;

  /* ---------- heat map: technology fields x countries ---------- */

  async function loadHeatmap() {
    const status = panelStatus('heatmap');
    setStatus(status, t('loading'));
    try {
      const answer = await getJson('/v1/bi/technology-fields', commonParams());
      noteSynthetic(answer);
      state.heatmap = answer;
      fillFieldPicker(answer.rows);
      renderHeatmap();
      setStatus(status, answer.rows.length ? '' : t('noData'));
    } catch (err) {
      showError('heatmap', err);
    }
  }

  function renderHeatmap() {
    const answer = state.heatmap;
    if (!answer) return;
    const measure = $('input[name="heat-measure"]:checked').value;
    const countries = answer.countries;
    const fields = [...new Map(answer.rows.map((r) => [r.field, r])).values()]
      .sort((a, b) => b.field - a.field);  // field 1 at the top of the y axis
    const fieldIndex = new Map(fields.map((f, i) => [f.field, i]));
    const byCell = new Map(answer.rows.map((r) => [`${r.field}|${r.country}`, r]));
    const data = answer.rows.map((r) => [
      countries.indexOf(r.country), fieldIndex.get(r.field), r[measure],
    ]);
    const max = Math.max(0, ...data.map((d) => d[2]));
    const format = measure === 'share' ? percent : (v) => number(v, 1);
    const top = [...answer.rows].sort((a, b) => b[measure] - a[measure]).slice(0, 3)
      .map((r) => `${r.country} ${r.field_name} ${format(r[measure])}`).join('; ');
    const description = t('heatmapDescription', {
      measure: t(measure === 'share' ? 'shares' : 'counts').toLowerCase(),
      countries: countries.join(', '), top,
    });
    draw('heatmap', {
      tooltip: {
        formatter: (p) => {
          const row = byCell.get(`${fields[p.data[1]].field}|${countries[p.data[0]]}`);
          return `${row.field}. ${row.field_name} (${row.sector})<br>${row.country}: `
            + `${number(row.count, 1)} · ${percent(row.share)}`;
        },
      },
      grid: { left: narrow() ? 110 : 250, right: 20, top: 30, bottom: 70 },
      xAxis: { type: 'category', data: countries, position: 'top', splitArea: { show: true } },
      yAxis: {
        type: 'category',
        data: fields.map((f) => `${f.field}. ${f.field_name}`),
        axisLabel: { width: narrow() ? 100 : 240, overflow: 'truncate', fontSize: 11 },
        splitArea: { show: true },
      },
      visualMap: {
        min: 0, max: max || 1, calculable: true, orient: 'horizontal', left: 'center', bottom: 5,
        formatter: (v) => format(v), inRange: { color: ['#f7fbff', '#6baed6', '#08306b'] },
      },
      series: [{
        name: t(measure), type: 'heatmap', data,
        label: { show: !narrow() && countries.length <= 8, fontSize: 9, formatter: (p) => format(p.data[2]) },
        emphasis: { itemStyle: { borderColor: '#333', borderWidth: 1 } },
      }],
    }, description);
  }

  function fillFieldPicker(rows) {
    if (state.fieldsLoaded || !rows.length) return;
    const picker = $('#t-field');
    const seen = new Map(rows.map((r) => [r.field, r.field_name]));
    for (const [field, name] of [...seen.entries()].sort((a, b) => a[0] - b[0])) {
      picker.add(new Option(`${field}. ${name}`, String(field)));
    }
    state.fieldsLoaded = true;
  }

  /* ---------- trends with anomalies ---------- */

  async function loadTrends() {
    const status = panelStatus('trends');
    setStatus(status, t('loading'));
    const params = {
      ...commonParams(), by: $('#t-by').value, period: $('#t-period').value,
      field: $('#t-field').value,
    };
    try {
      const [trends, anomalies] = await Promise.all([
        getJson('/v1/bi/trends', params), getJson('/v1/bi/anomalies', params),
      ]);
      noteSynthetic(trends);
      renderTrends(trends, anomalies);
      setStatus(status, trends.series.length ? '' : t('noData'));
    } catch (err) {
      showError('trends', err);
    }
  }

  function renderTrends(trends, anomalies) {
    const periods = [...new Set(trends.series.flatMap((s) => s.points.map((p) => p.period)))].sort();
    const totals = trends.series.map((s) => s.points.reduce((sum, p) => sum + p.count, 0));
    const shown = new Set([...totals.keys()].sort((a, b) => totals[b] - totals[a]).slice(0, 6));
    const series = [];
    const selected = {};
    trends.series.forEach((s, i) => {
      selected[s.label] = shown.has(i);
      const color = PALETTE[i % PALETTE.length];
      const marks = anomalies.anomalies.filter((a) => a.key === s.key).map((a) => ({
        name: t('anomaly'), coord: [a.period, a.count], value: a.score.toFixed(1),
      }));
      series.push({
        id: `data:${s.key}`, name: s.label, type: 'line', symbolSize: 5, color,
        data: s.points.map((p) => [p.period, p.count, p.growth]),
        markPoint: {
          symbol: 'circle', symbolSize: 16, data: marks,
          itemStyle: { color: 'rgba(0,0,0,0)', borderColor: '#c1121f', borderWidth: 3 },
          label: { show: false },
        },
      });
      if (s.trend && Array.isArray(s.trend.fitted)) {
        // same name: the legend toggles a series and its fitted trend together
        series.push({
          id: `trend:${s.key}`, name: s.label, type: 'line', symbol: 'none', silent: true, color,
          data: s.points.map((p, j) => [p.period, s.trend.fitted[j]]),
          lineStyle: { type: 'dashed', width: 1, opacity: 0.7 },
        });
      }
    });
    draw('trends', {
      tooltip: { trigger: 'axis', formatter: trendTooltip },
      legend: { type: 'scroll', top: 0, selected },
      grid: { left: 50, right: 20, top: narrow() ? 70 : 50, bottom: 60 },
      xAxis: { type: 'category', data: periods },
      yAxis: { type: 'value', name: t('count') },
      dataZoom: [{ type: 'inside' }, { type: 'slider', height: 18, bottom: 8 }],
      series,
    }, t('trendsDescription', {
      period: t(trends.period).toLowerCase(), by: t(trends.by === 'field' ? 'byField' : 'byCountry').toLowerCase(),
      series: trends.series.map((s) => s.label).join(', '), anomalies: anomalies.anomalies.length,
    }));
    renderAnomalyList(anomalies);
  }

  function trendTooltip(params) {
    const lines = params.filter((p) => p.seriesId.startsWith('data:')).map((p) => {
      const growth = p.data[2] === null || p.data[2] === undefined ? ''
        : ` (${t('growth')} ${percent(p.data[2])})`;
      return `${p.marker}${p.seriesName}: ${number(p.data[1], 1)}${growth}`;
    });
    return [params[0] ? params[0].axisValueLabel : '', ...lines].join('<br>');
  }

  function renderAnomalyList(answer) {
    $('#panel-trends .method').textContent = t('anomalyMethod', answer);
    const list = $('#anomaly-items');
    list.replaceChildren(...(answer.anomalies.length ? answer.anomalies.map((a) => {
      const item = document.createElement('li');
      item.textContent = t('anomalyItem', {
        label: a.label, period: a.period, count: number(a.count), expected: number(a.expected),
        score: number(a.score, 2),
      });
      return item;
    }) : [Object.assign(document.createElement('li'), { textContent: t('anomalyNone') })]));
  }

  /* ---------- live indicators ---------- */

  const indicatorName = (name) => S.indicatorNames[name]
    ?? name.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());

  function indicatorValue(name, value) {
    if (value === null || value === undefined) return '—';
    if (name.endsWith('_seconds')) {
      return value >= 120 ? t('minutes', { n: number(value / 60, 1) }) : t('seconds', { n: number(value, 1) });
    }
    return number(value, 2);
  }

  function renderIndicators(answer) {
    const scalars = Object.entries(answer.indicators)
      .filter(([, v]) => v === null || typeof v === 'number');
    $('#indicator-cards').replaceChildren(...scalars.map(([name, value]) => {
      const card = document.createElement('div');
      const term = document.createElement('dt');
      const detail = document.createElement('dd');
      card.dataset.indicator = name;
      term.textContent = indicatorName(name);
      detail.textContent = indicatorValue(name, value);
      card.append(term, detail);
      return card;
    }));
    const at = answer.at ? new Date(answer.at) : new Date();
    $('#panel-indicators .updated').textContent = t('updatedAt', { at: at.toLocaleString(LANG) });
    state.history.push({ at, values: Object.fromEntries(scalars) });
    state.history.splice(0, Math.max(0, state.history.length - HISTORY_POINTS));
    renderIndicatorChart(scalars.map(([name]) => name));
  }

  function renderIndicatorChart(names) {
    const latest = state.history[state.history.length - 1].values;
    const values = names.map((n) => `${indicatorName(n)} ${indicatorValue(n, latest[n])}`);
    // at least a minute wide: one sample would otherwise stretch the time axis over days
    const first = state.history[0].at.getTime();
    const last = state.history[state.history.length - 1].at.getTime();
    draw('indicators', {
      tooltip: { trigger: 'axis' },
      legend: {
        type: 'scroll', top: 0,
        formatter: (label) => {
          const name = names.find((n) => indicatorName(n) === label);
          return `${label}: ${indicatorValue(name, latest[name])}`;
        },
      },
      grid: { left: 50, right: 20, top: 40, bottom: 30 },
      xAxis: { type: 'time', min: first - 30000, max: Math.max(last, first + 60000) },
      yAxis: { type: 'value', scale: true, minInterval: 1 },
      series: names.map((name) => ({
        name: indicatorName(name), type: 'line', step: 'end', symbolSize: 4,
        data: state.history.map((h) => [h.at, h.values[name] ?? null]),
      })),
    }, t('indicatorsDescription', { values: values.join(', ') }));
  }

  async function loadIndicatorsOnce() {
    try {
      const answer = await getJson('/v1/bi/indicators');
      renderIndicators(answer);
      setStatus(panelStatus('indicators'), '');
      return true;
    } catch (err) {
      showError('indicators', err);
      return false;
    }
  }

  /** One server-sent event block ("event: x\ndata: ...") -> {event, data}. */
  function parseEvent(block) {
    let event = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (!line || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const name = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (name === 'event') event = value;
      else if (name === 'data') data.push(value);
    }
    return { event, data: data.join('\n') };
  }

  function stopStream() {
    clearTimeout(state.retry);
    if (state.stream) state.stream.abort();
    state.stream = null;
  }

  async function streamIndicators() {
    stopStream();
    const control = new AbortController();
    state.stream = control;
    try {
      const response = await call('/v1/bi/indicators/stream', {
        accept: 'text/event-stream', signal: control.signal,
      });
      setStatus(panelStatus('indicators'), t('live'));
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, '\n');
        for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
          const { event, data } = parseEvent(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
          if (event === 'indicators' && data) renderIndicators(JSON.parse(data));
        }
      }
    } catch (err) {
      if (control.signal.aborted) return;
      if (err instanceof ApiError) {
        showError('indicators', err);
        if (err.status === 401 || err.status === 403) return;  // wait for a key
      }
    }
    if (state.stream !== control) return;
    setStatus(panelStatus('indicators'), t('reconnecting'));
    state.retry = setTimeout(async () => {
      if (state.stream !== control) return;
      await loadIndicatorsOnce();
      streamIndicators();  // it gives up only on a refused key
    }, RETRY_MS);
  }

  /* ---------- flexible report ---------- */

  function fillChoices(container, names, labels, checked) {
    container.replaceChildren(...names.map((name) => {
      const label = document.createElement('label');
      const box = Object.assign(document.createElement('input'), {
        type: 'checkbox', value: name, checked: checked.includes(name),
      });
      label.append(box, ` ${labels[name] ?? name}`);
      return label;
    }));
  }

  const picked = (container) => [...container.querySelectorAll('input:checked')].map((b) => b.value);

  function reportRequest(format) {
    const f = filters();
    const where = {};
    if (f.countries.length) where.country = f.countries;
    if (f.from || f.to) {
      where.year = {};
      if (f.from) where.year.from = Number(f.from);
      if (f.to) where.year.to = Number(f.to);
    }
    if (f.kind) where.kind = [f.kind];
    const dimensions = picked($('#report-dimensions'));
    const measures = picked($('#report-measures'));
    return {
      dimensions, measures, filters: where, limit: Number($('#report-limit').value) || 100,
      order_by: dimensions, format,
    };
  }

  async function runReport(event) {
    if (event) event.preventDefault();
    const status = panelStatus('report');
    const body = reportRequest('json');
    if (!body.dimensions.length || !body.measures.length) {
      setStatus(status, t('pickOne'), true);
      return;
    }
    setStatus(status, t('loading'));
    try {
      const answer = await (await call('/v1/bi/query', { method: 'POST', body })).json();
      renderTable(answer);
      setStatus(status, t('rows', { n: answer.rows.length }));
    } catch (err) {
      showError('report', err);
    }
  }

  function renderTable(answer) {
    const head = document.createElement('tr');
    for (const column of answer.columns) {
      const cell = document.createElement('th');
      cell.scope = 'col';
      cell.textContent = S.dimensionNames[column] ?? S.measureNames[column] ?? column;
      head.append(cell);
    }
    const rows = answer.rows.map((row) => {
      const line = document.createElement('tr');
      row.forEach((value, i) => {
        const cell = document.createElement('td');
        const numeric = typeof value === 'number';
        // a dimension (year 2015, field 6) is a label; only measures get number formatting
        const measure = MEASURES.includes(answer.columns[i]);
        cell.textContent = numeric && measure ? number(value, 4) : String(value ?? '');
        cell.classList.toggle('num', numeric && measure);
        line.append(cell);
      });
      return line;
    });
    const thead = document.createElement('thead');
    const tbody = document.createElement('tbody');
    thead.append(head);
    tbody.append(...rows);
    $('#report-table').replaceChildren(thead, tbody);
  }

  async function downloadCsv() {
    const body = reportRequest('csv');
    try {
      const response = await call('/v1/bi/query', { method: 'POST', body, accept: 'text/csv' });
      saveBlob(await response.blob(), 'ipsim-report.csv');
    } catch (err) {
      showError('report', err);
    }
  }

  /* ---------- exports ---------- */

  function saveUrl(url, filename) {
    const link = Object.assign(document.createElement('a'), { href: url, download: filename });
    document.body.append(link);
    link.click();
    link.remove();
  }

  function saveBlob(blob, filename) {
    const url = URL.createObjectURL(blob);
    saveUrl(url, filename);
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  function exportPanel(panel, format) {
    const shown = state.charts[panel];
    if (!shown || !state.options[panel]) return;
    const f = filters();
    const width = shown.getWidth();
    const height = shown.getHeight() + 50;
    const option = {
      ...state.options[panel],
      animation: false,
      backgroundColor: '#ffffff',
      title: {
        text: $(`#${panel}-title`).textContent,
        subtext: t('filterSummary', { countries: f.countries.join(', '), from: f.from, to: f.to }),
        left: 'center', top: 0, textStyle: { fontSize: 14 },
      },
    };
    delete option.dataZoom;  // the slider is for the screen; the file shows the whole range
    // drawn once and disposed at once: an animation frame left pending would paint a disposed
    // instance (an uncaught error inside ECharts)
    option.animation = false;
    option.grid = { ...option.grid, top: (option.grid.top || 0) + 50 };
    if (option.legend) option.legend = { ...option.legend, top: 40 };
    if (option.xAxis && option.xAxis.position === 'top') option.grid.top += 10;
    const stem = `ipsim-${panel}`;
    if (format === 'svg') {
      const svg = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
      svg.setOption(option);
      const text = svg.renderToSVGString();
      svg.dispose();
      saveBlob(new Blob([text], { type: 'image/svg+xml' }), `${stem}.svg`);
    } else {
      const holder = document.createElement('div');
      const canvas = echarts.init(holder, null, { renderer: 'canvas', width, height });
      canvas.setOption(option);
      const url = canvas.getDataURL({ type: 'png', pixelRatio: 2, backgroundColor: '#ffffff' });
      canvas.dispose();
      saveUrl(url, `${stem}.png`);
    }
  }

  /* ---------- wiring ---------- */

  function translate() {
    for (const element of document.querySelectorAll('[data-i18n]')) {
      element.textContent = t(element.dataset.i18n);
    }
    document.title = `ipsim — ${t('title')}`;
    for (const element of document.querySelectorAll('[data-i18n-label]')) {
      element.setAttribute('aria-label', t(element.dataset.i18nLabel));
    }
    for (const button of document.querySelectorAll('[data-lang]')) {
      button.setAttribute('aria-pressed', String(button.dataset.lang === LANG));
    }
    for (const button of document.querySelectorAll('[data-export]')) {
      const panel = $(`#${button.dataset.export}-title`).textContent;
      button.setAttribute('aria-label', t('exportLabel', {
        panel, format: button.dataset.format.toUpperCase(),
      }));
    }
  }

  function loadAll() {
    loadHeatmap();
    loadTrends();
    runReport();
  }

  function startIndicators() {
    loadIndicatorsOnce().then((ok) => { if (ok) streamIndicators(); });
  }

  function wire() {
    $('#api-key').value = state.key;
    // the language is the portal's choice too; every panel is drawn in it, so switch by reloading
    for (const button of document.querySelectorAll('[data-lang]')) {
      button.addEventListener('click', () => {
        if (button.dataset.lang === LANG) return;
        try {
          localStorage.setItem(LANG_STORAGE, button.dataset.lang);
        } catch (_) { /* not remembered: this load only */ }
        location.reload();
      });
    }
    $('#key-form').addEventListener('submit', (event) => {
      event.preventDefault();
      state.key = $('#api-key').value.trim();
      sessionStorage.setItem(KEY_STORAGE, state.key);
      setStatus($('#global-status'), t('keySaved'));
      stopStream();
      loadAll();
      startIndicators();
    });
    $('#key-clear').addEventListener('click', () => {
      state.key = '';
      $('#api-key').value = '';
      sessionStorage.removeItem(KEY_STORAGE);
      setStatus($('#global-status'), t('keyForgotten'));
    });
    $('#filters').addEventListener('submit', (event) => {
      event.preventDefault();
      loadHeatmap();
      loadTrends();
      runReport();
    });
    for (const radio of document.querySelectorAll('input[name="heat-measure"]')) {
      radio.addEventListener('change', renderHeatmap);
    }
    for (const id of ['#t-by', '#t-period', '#t-field']) $(id).addEventListener('change', loadTrends);
    fillChoices($('#report-dimensions'), DIMENSIONS, S.dimensionNames, ['country', 'year']);
    fillChoices($('#report-measures'), MEASURES, S.measureNames, ['count']);
    $('#report-form').addEventListener('submit', runReport);
    $('#report-csv').addEventListener('click', downloadCsv);
    for (const button of document.querySelectorAll('[data-export]')) {
      button.addEventListener('click', () => exportPanel(button.dataset.export, button.dataset.format));
    }
  }

  translate();
  wire();
  loadAll();
  startIndicators();
})();
