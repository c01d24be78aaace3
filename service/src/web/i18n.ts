// UI text in English and Japanese. The locale comes from the `lang` cookie
// (set by the switch in the header), else from Accept-Language.
import { filler, type Params, PROBLEMS, type ProblemCode } from '../problems.ts';

export const LOCALES = ['en', 'ja'] as const;
export type Locale = (typeof LOCALES)[number];

const en = {
  title: 'Mail Worker',
  tagline: 'Bulk test mails through BullMQ queues',
  servedBy: 'Served by pod {pod}, version {version}',
  language: 'Language',
  recipients: 'Recipients',
  recipientsCount: '{count} stored',
  name: 'Name',
  email: 'Email',
  add: 'Add recipient',
  importCsv: 'Import CSV',
  csvFile: 'CSV file (header row with name and email)',
  upload: 'Import',
  uploading: 'Uploading… {percent}%',
  processing: 'Storing rows…',
  search: 'Search',
  searchPlaceholder: 'name or email',
  created: 'Added',
  actions: 'Actions',
  delete: 'Delete',
  deleteLabel: 'Delete {email}',
  noRecipients: 'No recipients yet. Add one, or import a CSV file.',
  previous: 'Previous',
  next: 'Next',
  pageOf: 'Page {page} of {pages}',
  bulkSend: 'Bulk send',
  bulkSendHelp: 'Sends test mails to randomly chosen recipients through the queue.',
  customCount: 'Custom count',
  failureRate: 'Simulated failure rate (0 to 1)',
  relayLatency: 'Simulated relay latency per mail (ms)',
  send: 'Send {count}',
  sendCustom: 'Send',
  bulkSendOff: 'Bulk sending is switched off by the feature flag bulk_send_feature.',
  runs: 'Send runs',
  noRuns: 'No send runs yet.',
  run: 'Run #{id}',
  status: 'Status',
  progress: 'Progress',
  sent: 'Sent',
  failed: 'Failed',
  retried: 'Retried',
  retriedHint: 'attempts that failed and were tried again',
  total: 'Total',
  enqueued: 'Enqueued',
  queue: 'Queue',
  createdAt: 'Started',
  finishedAt: 'Finished',
  resume: 'Resume enqueue',
  details: 'Details',
  failures: 'Failures',
  noFailures: 'No failed deliveries.',
  attempts: 'Attempts',
  reason: 'Reason',
  workerPods: 'Worker pods',
  workerPodsHint: 'which pod sent, failed and retried how many of this run',
  noWorkerPods: 'No worker has taken a mail of this run yet.',
  pod: 'Pod',
  'status.queued': 'queued',
  'status.sending': 'sending',
  'status.completed': 'completed',
  'status.completed_with_failures': 'completed with failures',
  noWorkers: 'No worker is running: the mails wait in the queue until one starts (from zero, KEDA starts one within its polling interval).',
  links: 'Tools',
  queuesLink: 'Queues (bull-board)',
  apiLink: 'API',
  mailLink: 'Mail catcher',
  unleashLink: 'Unleash',
  flags: 'Feature flags',
  flagBulkSend: 'bulk_send_feature',
  flagStrategy: 'send_strategy',
  on: 'on',
  off: 'off',
  source: 'source: {source}',
  flagsWarning: 'Flags: {warning}',
  notice: 'Notice',
  'notice.added': 'Recipient added.',
  'notice.deleted': 'Recipient deleted.',
  'notice.started': 'Send run #{id} started.',
  'notice.resumed': 'Send run #{id} resumed.',
  'notice.cleared': 'Mail catcher cleared.',
  imported: 'Imported {imported}, skipped {duplicates} duplicates, {invalid} invalid rows.',
  invalidRows: 'Invalid rows',
  line: 'Line',
  error: 'Something went wrong',
  back: 'Back to the dashboard',
  caughtMail: 'Caught mail',
  received: '{count} received (the newest {kept} kept)',
  clear: 'Clear all',
  noMail: 'No mail caught yet.',
  subject: 'Subject',
  to: 'To',
  from: 'From',
  receivedAt: 'Received',
  notFound: 'Not found',
  versions: 'Versions',
  versionsHelp:
    'Which version of the web answers: the last 100 answers, polled five times a second. During a canary the share follows the weights.',
  versionsNoScript: 'This page needs JavaScript; /api/version answers one poll.',
  versionsShare: 'Share of the last 100 answers',
  version: 'Version',
  share: 'Share',
  pods: 'Pods',
};

type Key = keyof typeof en;

const ja: Record<Key, string> = {
  title: 'メールワーカー',
  tagline: 'BullMQ キュー経由でテストメールを一斉送信',
  servedBy: 'ポッド {pod}・バージョン {version} が応答',
  language: '言語',
  recipients: '宛先',
  recipientsCount: '{count} 件',
  name: '名前',
  email: 'メールアドレス',
  add: '宛先を追加',
  importCsv: 'CSV インポート',
  csvFile: 'CSV ファイル（name と email のヘッダー行）',
  upload: 'インポート',
  uploading: 'アップロード中… {percent}%',
  processing: '保存中…',
  search: '検索',
  searchPlaceholder: '名前またはメールアドレス',
  created: '追加日時',
  actions: '操作',
  delete: '削除',
  deleteLabel: '{email} を削除',
  noRecipients: '宛先はまだありません。追加するか CSV をインポートしてください。',
  previous: '前へ',
  next: '次へ',
  pageOf: '{page} / {pages} ページ',
  bulkSend: '一斉送信',
  bulkSendHelp: 'ランダムに選んだ宛先へキュー経由でテストメールを送ります。',
  customCount: '件数を指定',
  failureRate: '疑似失敗率（0〜1）',
  relayLatency: '1 通あたりの疑似リレー遅延（ミリ秒）',
  send: '{count} 件送信',
  sendCustom: '送信',
  bulkSendOff: 'フィーチャーフラグ bulk_send_feature により一斉送信は停止中です。',
  runs: '送信ラン',
  noRuns: '送信ランはまだありません。',
  run: 'ラン #{id}',
  status: '状態',
  progress: '進捗',
  sent: '送信済み',
  failed: '失敗',
  retried: '再試行',
  retriedHint: '失敗して再び試された試行の数',
  total: '合計',
  enqueued: 'キュー投入済み',
  queue: 'キュー',
  createdAt: '開始',
  finishedAt: '完了',
  resume: 'キュー投入を再開',
  details: '詳細',
  failures: '失敗一覧',
  noFailures: '失敗した配信はありません。',
  attempts: '試行回数',
  reason: '理由',
  workerPods: 'ワーカーポッド',
  workerPodsHint: 'この送信でどのポッドが何通送信・失敗・再試行したか',
  noWorkerPods: 'まだどのワーカーもこの送信のメールを処理していません。',
  pod: 'ポッド',
  'status.queued': '待機中',
  'status.sending': '送信中',
  'status.completed': '完了',
  'status.completed_with_failures': '完了（失敗あり）',
  noWorkers:
    'ワーカーが動いていません。ワーカーが起動するまでメールはキューで待ちます（ゼロからは KEDA がポーリング間隔のうちに起動します）。',
  links: 'ツール',
  queuesLink: 'キュー（bull-board）',
  apiLink: 'API',
  mailLink: 'メールキャッチャー',
  unleashLink: 'Unleash',
  flags: 'フィーチャーフラグ',
  flagBulkSend: 'bulk_send_feature',
  flagStrategy: 'send_strategy',
  on: 'オン',
  off: 'オフ',
  source: '取得元: {source}',
  flagsWarning: 'フラグ: {warning}',
  notice: 'お知らせ',
  'notice.added': '宛先を追加しました。',
  'notice.deleted': '宛先を削除しました。',
  'notice.started': '送信ラン #{id} を開始しました。',
  'notice.resumed': '送信ラン #{id} を再開しました。',
  'notice.cleared': 'メールキャッチャーを空にしました。',
  imported: '{imported} 件を取り込み、重複 {duplicates} 件と不正な行 {invalid} 件をスキップしました。',
  invalidRows: '不正な行',
  line: '行',
  error: 'エラーが発生しました',
  back: 'ダッシュボードへ戻る',
  caughtMail: '受信メール',
  received: '{count} 件受信（新しい {kept} 件を保持）',
  clear: 'すべて削除',
  noMail: 'まだメールはありません。',
  subject: '件名',
  to: '宛先',
  from: '差出人',
  receivedAt: '受信日時',
  notFound: '見つかりません',
  versions: 'バージョン',
  versionsHelp: 'どのバージョンの web が応答しているか（直近 100 件、毎秒 5 回取得）。カナリア中はウェイトに従って割合が変わります。',
  versionsNoScript: 'このページには JavaScript が必要です。/api/version は 1 回分の応答を返します。',
  versionsShare: '直近 100 件の応答の割合',
  version: 'バージョン',
  share: '割合',
  pods: 'ポッド',
};

// The problems of a user's input (service/src/problems.ts has their codes
// and English): every code needs its Japanese, or this does not compile.
const jaProblems: Record<ProblemCode, string> = {
  'recipient.name.required': '名前は必須です',
  'recipient.name.not_text': '名前は文字列で指定してください',
  'recipient.name.empty': '名前が空です',
  'recipient.name.too_long': '名前が {max} 文字を超えています',
  'recipient.name.control': '名前に改行などの制御文字が含まれています',
  'recipient.email.required': 'メールアドレスは必須です',
  'recipient.email.not_text': 'メールアドレスは文字列で指定してください',
  'recipient.email.empty': 'メールアドレスが空です',
  'recipient.email.too_long': 'メールアドレスが {max} 文字を超えています',
  'recipient.email.invalid': '{email} は有効なメールアドレスではありません',
  'recipient.email.duplicate': 'メールアドレス {email} の宛先は既に登録されています',
  'run.count.invalid': '件数は 1 から {max} までの整数で指定してください',
  'run.failure_rate.invalid': '失敗率は 0 から 1 までの数で指定してください（0.3 は試行の 30% が失敗）',
  'run.relay_latency.invalid': 'リレー遅延は 0 から {max} までの整数（ミリ秒）で指定してください',
  'run.count.too_large': '件数 {count} に対して登録済みの宛先は {stored} 件です。先に宛先を追加またはインポートしてください',
  'run.bulk_send.off': '一斉送信はオフになっています（機能フラグ bulk_send_feature）',
  'run.queue_full':
    'Redis が満杯です（maxmemory）。実行 #{id} は {total} 通のうち {enqueued} 通をキューに入れたところで止まりました。キューが空いてから実行のページで再開してください',
  'import.no_file': 'ファイルがありません。CSV をマルチパートのフィールド "file" で送ってください',
  'import.media_type': 'CSV は text/csv の本文か、マルチパートのフィールド "file" で送ってください',
  'import.too_large': 'ファイルがインポートの上限 {maxBytes} バイトを超えています',
  'import.too_many_rows': 'ファイルがインポートの上限 {maxRows} 行を超えています',
  'import.binary': 'ファイルに NUL バイトが含まれています。バイナリではなく CSV テキストを指定してください',
  'import.not_utf8': 'ファイルが正しい UTF-8 テキストではありません。CSV を UTF-8 で保存してください',
  'import.header': 'ヘッダー行に列 "name" と "email" が必要です。{missing} がありません（見つかった列: {found}）',
  'import.not_csv': 'ファイルが正しい CSV ではありません: {detail}',
  'import.empty': 'ファイルが空です。"name" と "email" のヘッダー行が必要です',
  'service.unavailable': 'データベースか Redis が今は応答しません（再起動中？）。数秒後にもう一度お試しください',
};

/** Every text a page can ask for: the UI's and the problems'. */
export type MessageKey = Key | ProblemCode;

const dictionaries: Record<Locale, Record<MessageKey, string>> = { en: { ...en, ...PROBLEMS }, ja: { ...ja, ...jaProblems } };

/**
 * Typed for the service's code, where a missing or mistyped key fails the
 * type check; templates pass keys they build (status.queued), and a key with
 * no text shows as itself.
 */
export type Translate = (key: MessageKey, values?: Params) => string;

// One translator per language, made once.
const translators = Object.fromEntries(
  LOCALES.map((locale) => {
    const fills = new Map(Object.entries(dictionaries[locale]).map(([key, text]) => [key, filler(text)]));
    return [locale, (key: string, values?: Params) => (fills.get(key) ?? filler(key))(values)];
  }),
) as Record<Locale, Translate>;

export function translator(locale: Locale): Translate {
  return translators[locale];
}

/** The problems' texts in a language, unfilled: the dashboard's script fills them for rows it shows itself. */
export function problemTexts(locale: Locale): Record<ProblemCode, string> {
  return locale === 'ja' ? jaProblems : PROBLEMS;
}

export function isLocale(value: unknown): value is Locale {
  return (LOCALES as readonly unknown[]).includes(value);
}

/** The language the `lang` cookie chose, else the one negotiated from Accept-Language, else English. */
export function pickLocale(cookie: string | undefined, negotiated: string | false | undefined): Locale {
  if (isLocale(cookie)) return cookie;
  return isLocale(negotiated) ? negotiated : 'en';
}
